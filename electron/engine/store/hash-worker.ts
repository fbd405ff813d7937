// SHA-256 on the second core, for a synchronous reader: `update` copies each
// slice into a ring of shared memory and a worker thread hashes it from there,
// so reading and parsing (this thread) overlap hashing (the worker). The two
// sides meet only through Atomics on shared counters: no messages to wait
// for, so a reader that never yields (oci/tar-headers.ts) can use it. A full
// ring makes `update` wait; `digest` waits for the worker's answer. One
// worker serves one hash at a time and is reused after `digest`.
import { Worker } from 'node:worker_threads';

/** Control words (BigInt64Array over shared memory). */
const WRITTEN = 0; // bytes put in the ring (by this thread)
const CONSUMED = 1; // bytes hashed (by the worker)
const STATE = 2;
const EVENTS = 3; // bumped by this thread on every write or end, what the worker waits on
const JOB = 4; // bumped by this thread when the next hash begins
const [RUNNING, ENDING, DONE, FAILED] = [0n, 1n, 2n, 3n];

/** A worker that made no progress for this long is taken for dead (it cannot otherwise tell a blocked thread). */
const STALL_MS = 60_000;

const WORKER = `
const { workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const ctl = new BigInt64Array(workerData.ctl);
const ring = Buffer.from(workerData.ring);
const out = Buffer.from(workerData.out);
const size = BigInt(ring.length);
let job = 0n;
for (;;) {
  try {
    const hash = createHash('sha256');
    let consumed = 0n;
    for (;;) {
      const seen = Atomics.load(ctl, ${EVENTS});
      const written = Atomics.load(ctl, ${WRITTEN});
      if (written === consumed) {
        if (Atomics.load(ctl, ${STATE}) === ${ENDING}n) break;
        Atomics.wait(ctl, ${EVENTS}, seen);
        continue;
      }
      const pos = Number(consumed % size);
      const n = Math.min(Number(written - consumed), ring.length - pos);
      hash.update(ring.subarray(pos, pos + n));
      consumed += BigInt(n);
      Atomics.store(ctl, ${CONSUMED}, consumed);
      Atomics.notify(ctl, ${CONSUMED});
    }
    hash.digest().copy(out);
    Atomics.store(ctl, ${STATE}, ${DONE}n);
  } catch (e) {
    Atomics.store(ctl, ${STATE}, ${FAILED}n);
  }
  Atomics.notify(ctl, ${STATE});
  // The next hash begins when the reader bumps the job (its state may already be past running by then).
  for (let j; (j = Atomics.load(ctl, ${JOB})) === job; ) Atomics.wait(ctl, ${JOB}, j);
  job = Atomics.load(ctl, ${JOB});
}
`;

export class HashWorker {
  private readonly ctl: BigInt64Array;
  private readonly ring: Buffer;
  private readonly out: Buffer;
  private readonly worker: Worker;
  private written = 0n;

  constructor(ringBytes = 16 << 20) {
    const ctl = new SharedArrayBuffer(5 * 8);
    const ring = new SharedArrayBuffer(ringBytes);
    const out = new SharedArrayBuffer(32);
    this.ctl = new BigInt64Array(ctl);
    this.ring = Buffer.from(ring);
    this.out = Buffer.from(out);
    this.worker = new Worker(WORKER, { eval: true, workerData: { ctl, ring, out } });
    this.worker.unref();
  }

  update(bytes: Buffer): this {
    const size = this.ring.length;
    let off = 0;
    while (off < bytes.length) {
      const free = size - Number(this.written - this.waitFor(CONSUMED, (consumed) => this.written - consumed < BigInt(size)));
      const pos = Number(this.written % BigInt(size));
      const n = Math.min(free, size - pos, bytes.length - off);
      this.ring.set(bytes.subarray(off, off + n), pos);
      off += n;
      this.written += BigInt(n);
      Atomics.store(this.ctl, WRITTEN, this.written);
      this.signal();
    }
    return this;
  }

  /** The digest of everything given since the last one; the worker is then ready for the next hash. */
  digest(encoding: 'hex'): string {
    Atomics.store(this.ctl, STATE, ENDING);
    this.signal();
    const state = this.waitFor(STATE, (s) => s === DONE || s === FAILED);
    if (state === FAILED) throw new Error('the hashing thread failed');
    const hex = this.out.toString(encoding);
    this.written = 0n;
    Atomics.store(this.ctl, WRITTEN, 0n);
    Atomics.store(this.ctl, CONSUMED, 0n);
    Atomics.store(this.ctl, STATE, RUNNING);
    Atomics.add(this.ctl, JOB, 1n);
    Atomics.notify(this.ctl, JOB);
    return hex;
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }

  private signal(): void {
    Atomics.add(this.ctl, EVENTS, 1n);
    Atomics.notify(this.ctl, EVENTS);
  }

  /** Block until word `at` satisfies `ok`; returns its value. */
  private waitFor(at: number, ok: (v: bigint) => boolean): bigint {
    let since = performance.now();
    for (;;) {
      const v = Atomics.load(this.ctl, at);
      if (ok(v)) return v;
      if (Atomics.load(this.ctl, STATE) === FAILED) throw new Error('the hashing thread failed');
      if (Atomics.wait(this.ctl, at, v, 1000) !== 'timed-out') since = performance.now();
      else if (performance.now() - since > STALL_MS) throw new Error(`the hashing thread made no progress in ${STALL_MS / 1000} s`);
    }
  }
}
