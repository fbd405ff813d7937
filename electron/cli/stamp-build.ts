// A build run under recording (fs-record.ts), which leaves a no-op stamp
// (stamp.ts) when it turns out to have changed nothing: exit 0, no program
// run, no socket, and no write but the cache's bookkeeping of a build (its
// roots record and its building mark, by their exact names).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cacheOption } from './args';
import { defaultCacheDir } from '../engine/store/cache';
import { startRecording } from './fs-record';
import { type Dep, writeStamp } from './stamp';

// roots/<digest of the project path>.json, written through .<name>.scratchyard-PID-RAND.tmp (store/roots.ts, store/atomic.ts).
const ROOTS_FILE = /^[0-9a-f]{64}\.json$/;
const ROOTS_TEMP = /^\.[0-9a-f]{64}\.json\.scratchyard-\d+-[0-9a-f]{8}\.tmp$/;
// building/<pid>-<8 hex>, this process's mark while it builds.
const BUILDING_MARK = new RegExp(`^${process.pid}-[0-9a-f]{8}$`);

export async function stampedBuild(key: string, run: () => Promise<number>): Promise<number> {
  const printed = { stdout: [] as string[], stderr: [] as string[] };
  const untee = [tee(process.stdout, printed.stdout), tee(process.stderr, printed.stderr)];
  // The cache as the command parsed it, so asked for only once a path comes (parsing comes first).
  const bookkeeping = () => {
    const cacheDir = path.resolve(cacheOption() ?? defaultCacheDir());
    return { cacheDir, roots: path.join(cacheDir, 'roots'), building: path.join(cacheDir, 'building') };
  };
  const isBookkeeping = (p: string) => {
    const { roots, building } = bookkeeping();
    const dir = path.dirname(p);
    const name = path.basename(p);
    return (dir === roots && (ROOTS_FILE.test(name) || ROOTS_TEMP.test(name))) || (dir === building && BUILDING_MARK.test(name));
  };
  const startNs = BigInt(Date.now()) * 1_000_000n;
  const recording = startRecording({
    mayWrite: isBookkeeping,
    // The two folders themselves are made (mkdir -p) and listed by every build: their entries are other builds' business.
    ignore: (p) => isBookkeeping(p) || p === bookkeeping().roots || p === bookkeeping().building,
  });
  let code: number | undefined;
  try {
    code = await run();
    return code;
  } finally {
    const recorded = recording?.stop();
    for (const u of untee) u();
    if (recorded && !recorded.tainted && code === 0) {
      const { cacheDir, roots } = bookkeeping();
      // Every build records its roots; the stamp refreshes them as the engine would.
      const rootsFile = [...recorded.written].find((p) => path.dirname(p) === roots && ROOTS_FILE.test(path.basename(p)));
      const text = rootsFile === undefined ? undefined : readText(rootsFile);
      if (rootsFile !== undefined && text !== undefined) {
        const looked = [...recorded.looked].flatMap(([p, looks]) => [...looks].map(([how, first]): Dep => [how, p, first]));
        writeStamp(cacheDir, key, looked, startNs, { roots: { name: path.basename(rootsFile), text }, stdout: printed.stdout.join(''), stderr: printed.stderr.join('') });
      }
    }
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Copy what is written to `stream` into `into` as text; the returned function stops. */
function tee(stream: NodeJS.WriteStream, into: string[]): () => void {
  const write = stream.write;
  stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof stream.write;
  return () => {
    stream.write = write;
  };
}
