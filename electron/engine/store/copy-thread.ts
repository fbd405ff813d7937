// A copy between two open files on a thread of its own: a large layer copied
// into the docker archive goes on while the main thread makes the SBOM. The
// main thread's event loop turns too rarely during that work (long
// synchronous steps) for copies driven from it, even on libuv's threads, to
// keep moving. Plain JS run with { eval: true }: the bundle has no worker
// file to point at. File descriptors are the process's, so the thread uses the
// caller's; the caller opens, checks and closes them.
import { asSha256, type Sha256 } from '../../../shared/brand';

export interface CopyJob {
  from: number;
  to: number;
  /** Where in `to` the bytes go; `from` is read from its start. */
  at: number;
  size: number;
  /** Hash what is read (sha256), for a blob not yet found right. */
  hash: boolean;
}

export interface CopyResult {
  copied: number;
  digest?: Sha256;
}

const THREAD = `
const { parentPort, workerData: j } = require('node:worker_threads');
const { readSync, writeSync } = require('node:fs');
const h = j.hash ? require('node:crypto').createHash('sha256') : undefined;
const buf = Buffer.allocUnsafeSlow(1 << 20);
let done = 0;
while (done < j.size) {
  const n = readSync(j.from, buf, 0, Math.min(buf.length, j.size - done), done);
  if (n === 0) break;
  if (h) h.update(buf.subarray(0, n));
  for (let put = 0; put < n; ) put += writeSync(j.to, buf, put, n - put, j.at + done + put);
  done += n;
}
parentPort.postMessage({ copied: done, digest: h ? h.digest('hex') : undefined });
`;

export function copyOnThread(job: CopyJob): Promise<CopyResult> {
  // Loaded on first use: most commands never copy a large blob.
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  return new Promise((resolve, reject) => {
    let result: CopyResult | undefined;
    let failure: Error | undefined;
    const w = new Worker(THREAD, { eval: true, workerData: job });
    w.on('message', (m: { copied: number; digest?: string }) => {
      result = { copied: m.copied, ...(m.digest !== undefined ? { digest: asSha256(m.digest) } : {}) };
    });
    w.on('error', (e) => (failure = e));
    // Settled at exit, not at the message or the error: the thread no longer uses the descriptors when the caller closes them.
    w.on('exit', (code) => {
      if (result && !failure) resolve(result);
      else reject(failure ?? new Error(`the copy thread stopped (exit code ${code}) before it was done`));
    });
  });
}
