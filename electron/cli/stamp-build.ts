// A build run under recording (fs-record.ts), which leaves a no-op stamp
// (stamp.ts) when it turns out to have changed nothing: exit 0, no program
// run, no socket, and no write but the cache's bookkeeping of a build (the
// roots record and the building mark).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cacheOption } from './args';
import { defaultCacheDir } from '../engine/store/cache';
import { startRecording } from './fs-record';
import { type Look, writeStamp } from './stamp';

const ROOTS_FILE = /^[0-9a-f]{64}\.json$/;

export async function stampedBuild(key: string, run: () => Promise<number>): Promise<number> {
  const printed = { stdout: [] as string[], stderr: [] as string[] };
  const untee = [tee(process.stdout, printed.stdout), tee(process.stderr, printed.stderr)];
  // The cache as the command parsed it, so asked for only once a write comes (parsing comes first).
  const bookkeeping = () => {
    const cacheDir = path.resolve(cacheOption() ?? defaultCacheDir());
    return { cacheDir, dirs: [path.join(cacheDir, 'building'), path.join(cacheDir, 'roots')] };
  };
  const recording = startRecording((p) => bookkeeping().dirs.some((b) => p.startsWith(b + path.sep)));
  let code: number | undefined;
  try {
    code = await run();
    return code;
  } finally {
    const recorded = recording?.stop();
    for (const u of untee) u();
    if (recorded && !recorded.tainted && code === 0) {
      const { cacheDir, dirs } = bookkeeping();
      const inside = (p: string) => dirs.some((b) => p === b || p.startsWith(b + path.sep));
      // Every build records its roots; the stamp refreshes them as the engine would.
      const rootsFile = [...recorded.written].find((p) => path.dirname(p) === dirs[1] && ROOTS_FILE.test(path.basename(p)));
      const text = rootsFile === undefined ? undefined : readText(rootsFile);
      if (rootsFile !== undefined && text !== undefined) {
        const looked = [...recorded.looked].filter(([p]) => !inside(p)).flatMap(([p, hows]) => [...hows].map((h): [Look, string] => [h, p]));
        writeStamp(cacheDir, key, looked, { roots: { name: path.basename(rootsFile), text }, stdout: printed.stdout.join(''), stderr: printed.stderr.join('') });
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
