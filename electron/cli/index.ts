// Entry point of the bundled CLI (dist/cli.mjs). Small on purpose: `--help`,
// and a build whose no-op stamp still holds (stamp.ts), are answered from here
// without the engine; anything else loads the engine bundle
// (dist/cli-engine.cjs) through its V8 code cache.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir } from '../engine/store/cache';
import { loadBundle } from './code-cache';
import { replayStamp, stampKey } from './stamp';
import { USAGE } from './usage';

const COMMANDS = new Set(['build', 'init', 'run', 'ls', 'inspect', 'diff', 'push', 'images', 'doctor', 'sbom', 'cache', 'gui', 'schema']);

interface Engine {
  main(argv: string[], stampKey?: string): Promise<number>;
  cacheOption(): string | undefined;
  heapSized(): boolean;
}

/** The last --cache given before any `--`, as the commands' parse takes it (a guess all the same: that parse decides where the cache is written). */
function cacheGuess(argv: string[]): string {
  let found: string | undefined;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    if (argv[i] === '--cache' && argv[i + 1] !== undefined) found = argv[++i];
    else if (argv[i].startsWith('--cache=')) found = argv[i].slice('--cache='.length);
  }
  return found ?? defaultCacheDir();
}

async function start(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE + '\n');
    return cmd === undefined ? 2 : 0;
  }
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli-engine.cjs');
  const stamp = cmd === 'build' ? stampKey(argv.slice(1), file) : undefined;
  if (stamp !== undefined) {
    const code = replayStamp(cacheGuess(argv), stamp);
    if (code !== undefined) return code;
  }
  const key = COMMANDS.has(cmd) ? cmd : 'other';
  const bundle = loadBundle(file, cacheGuess(argv), key);
  const engine = bundle.exports as Engine;
  // V8 refuses a code cache made under flags other than a fresh start's (engine/tools/heap.ts).
  process.once('exit', () => engine.heapSized() || bundle.save(engine.cacheOption() ?? defaultCacheDir()));
  return engine.main(argv, stamp);
}

// A reader that stops early (`| head`) closes the pipe: the rest of the output has nowhere to go, which is no failure.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

start(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`scratchyard: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
