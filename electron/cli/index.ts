// Entry point of the bundled CLI (dist/cli.mjs). Small on purpose: `--help`
// is answered from here without the engine; any other command loads the
// engine bundle (dist/cli-engine.cjs) through its V8 code cache.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir } from '../engine/store/cache';
import { loadBundle } from './code-cache';
import { USAGE } from './usage';

const COMMANDS = new Set(['build', 'init', 'run', 'ls', 'inspect', 'diff', 'push', 'images', 'doctor', 'sbom', 'cache', 'gui', 'schema']);

interface Engine {
  main(argv: string[]): Promise<number>;
  cacheOption(): string | undefined;
}

/** --cache as given before any `--` (a guess: the command's own parse decides where the cache is written). */
function cacheGuess(argv: string[]): string {
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    if (argv[i] === '--cache' && argv[i + 1] !== undefined) return argv[i + 1];
    if (argv[i].startsWith('--cache=')) return argv[i].slice('--cache='.length);
  }
  return defaultCacheDir();
}

async function start(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE + '\n');
    return cmd === undefined ? 2 : 0;
  }
  // Commands over large trees (a 2.8 GB tarball is 140k entries) let V8's default heap grow to
  // several times what is live, with a young generation of 32 MB: as much as the trees again.
  // For size, V8 keeps the heap near its live data: a 2.8 GB import peaks at ~150 MB of RSS instead of
  // ~300 MB, for some more GC (~8 % of a Debian-sized build's CPU with its SBOM; docs/benchmarks.md).
  // Set before the engine is compiled: the code cache is keyed by V8's flags.
  (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString('--optimize-for-size');
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli-engine.cjs');
  const key = COMMANDS.has(cmd) ? cmd : 'other';
  const bundle = loadBundle(file, cacheGuess(argv), key);
  const engine = bundle.exports as Engine;
  process.once('exit', () => bundle.save(engine.cacheOption() ?? defaultCacheDir()));
  return engine.main(argv);
}

start(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`scratchyard: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
