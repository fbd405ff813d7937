// Entry point of the bundled CLI (dist/cli.mjs). Small on purpose: `--help`
// is answered from here without the engine; any other command loads the
// engine bundle (dist/cli-engine.cjs) through its V8 code cache.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir } from '../engine/store/cache';
import { loadBundle } from './code-cache';
import { USAGE } from './usage';

const v8 = createRequire(import.meta.url)('node:v8') as typeof import('node:v8');

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

/** Past this RSS, V8 is told to favour size over speed (see below). */
const LARGE_RSS = 200 << 20;
/** Whether it was: V8 then refuses a code cache made in this process (its flags differ from a fresh start's). */
let sized = false;

/**
 * Commands over large trees (a 2.8 GB tarball is 140k entries) let V8's default heap grow to
 * several times what is live, with a young generation of 32 MB: as much as the trees again.
 * With --optimize-for-size V8 keeps the heap near its live data (a 2.8 GB import peaks at ~150 MB
 * of RSS instead of ~290 MB), but every build pays for it: more scavenges, smaller heaps, and an
 * SBOM step ~0.6 s slower on a Debian-sized image. So the flag is set only once the process is
 * large, which only large trees make it (docs/benchmarks.md). The timer runs between the reads
 * of an import; it never keeps the process alive.
 */
function sizeHeapWhenLarge(): void {
  const timer = setInterval(() => {
    if (process.memoryUsage.rss() < LARGE_RSS) return;
    v8.setFlagsFromString('--optimize-for-size');
    sized = true;
    clearInterval(timer);
  }, 25);
  timer.unref();
}

async function start(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE + '\n');
    return cmd === undefined ? 2 : 0;
  }
  sizeHeapWhenLarge();
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli-engine.cjs');
  const key = COMMANDS.has(cmd) ? cmd : 'other';
  const bundle = loadBundle(file, cacheGuess(argv), key);
  const engine = bundle.exports as Engine;
  process.once('exit', () => sized || bundle.save(engine.cacheOption() ?? defaultCacheDir()));
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
