// Big writes on the second core: the caller copies its bytes into a ring of
// shared 1 MiB slots and goes on, while a worker thread writes each slot to
// the file and hashes it. The caller's side stays synchronous (a producer may
// reuse its buffers as soon as `write` returns, as with writevAllSync), and it
// only waits when every slot is still being written. A layer tar, the docker
// archive and a tarball's pack are each worth one thread; small writes are not
// (a thread costs ~30 ms to start), so callers choose by size (BIG).
import { createHash } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { asSha256, type Sha256 } from '../../../shared/brand';
import { writevAllSync } from './writev';

/** Below this many bytes a stream is written on the calling thread. */
export const BIG = process.env.SY_NOTHREAD ? Infinity : 16 << 20;
const SLOT = 1 << 20;
const SLOTS = 8;
/** Control words: slots published, slots written, the length of a failure's JSON; then each slot's length. */
const HEAD = 0;
const TAIL = 1;
const FAILED = 2;
const LENS = 3;
/** A failure, as JSON ({ message, code }), after the control words. */
const ERR_AT = (LENS + SLOTS) * 4;
const ERR_BYTES = 1024;
const CTL_BYTES = ERR_AT + ERR_BYTES;
/** How long a full ring may see no progress before the writer is given up on. */
const STALL_MS = 60_000;

// Plain JS, run with { eval: true }: the bundle has no separate worker file to point at.
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { sab, fd, hash, SLOT, SLOTS, CTL_BYTES, HEAD, TAIL, FAILED, LENS, ERR_AT, ERR_BYTES } = workerData;
const ctl = new Int32Array(sab, 0, LENS + SLOTS);
const data = new Uint8Array(sab, CTL_BYTES);
const h = hash ? createHash('sha256') : undefined;
let pos = 0, tail = 0, error;
for (;;) {
  while (Atomics.load(ctl, HEAD) === tail) Atomics.wait(ctl, HEAD, tail);
  const slot = tail % SLOTS;
  const n = ctl[LENS + slot];
  if (n < 0) break;
  const piece = data.subarray(slot * SLOT, slot * SLOT + n);
  if (!error) {
    try {
      for (let off = 0; off < n; ) off += writeSync(fd, piece, off, n - off, pos + off);
      if (h) h.update(piece);
      pos += n;
    } catch (e) {
      error = { message: String(e.message).slice(0, 200), code: typeof e.code === 'string' ? e.code.slice(0, 40) : undefined };
      const json = Buffer.from(JSON.stringify(error));
      json.copy(new Uint8Array(sab, ERR_AT, ERR_BYTES));
      Atomics.store(ctl, FAILED, json.length);
    }
  }
  Atomics.store(ctl, TAIL, ++tail);
  Atomics.notify(ctl, TAIL);
}
parentPort.postMessage(error ? { error } : { size: pos, digest: h ? h.digest('hex') : undefined });
`;

/** Where a big stream's bytes go: `write` copies them (the caller may reuse its buffers), `end` says what was written. */
export interface ByteSink {
  write(bytes: Buffer | Buffer[]): void;
  /** All bytes written; the sha256 when the sink was asked to hash. */
  end(): Promise<{ size: number; digest?: Sha256 }>;
  /** Stop writing (the file descriptor may be closed once this resolves). */
  abort(): Promise<void>;
}

/** A sink on the calling thread: each write goes out before it returns. */
export function directSink(fd: number, hash: boolean): ByteSink {
  const h = hash ? createHash('sha256') : undefined;
  let size = 0;
  return {
    write(bytes) {
      const bufs = Array.isArray(bytes) ? bytes : [bytes];
      const at = size;
      for (const b of bufs) {
        h?.update(b);
        size += b.length;
      }
      writevAllSync(fd, bufs, at);
    },
    end: async () => ({ size, digest: h && asSha256(h.digest('hex')) }),
    abort: async () => undefined,
  };
}

/** A sink written by a worker thread from position 0 of `fd`; `expected` bytes or more make it worth the thread. */
export function sinkFor(fd: number, hash: boolean, expected: number): ByteSink {
  return expected >= BIG ? new ThreadSink(fd, hash) : directSink(fd, hash);
}

class ThreadSink implements ByteSink {
  private readonly ctl: Int32Array;
  private readonly data: Buffer;
  private readonly err: Buffer;
  private readonly worker: Worker;
  private readonly result: Promise<{ size?: number; digest?: string; error?: { message: string; code?: string } }>;
  private head = 0;
  /** Bytes in the slot being filled (slot head % SLOTS). */
  private fill = 0;

  constructor(fd: number, hash: boolean) {
    const sab = new SharedArrayBuffer(CTL_BYTES + SLOTS * SLOT);
    this.ctl = new Int32Array(sab, 0, LENS + SLOTS);
    this.err = Buffer.from(sab, ERR_AT, ERR_BYTES);
    this.data = Buffer.from(sab, CTL_BYTES);
    // Loaded on first use: most commands never start a writer thread, and worker_threads costs ~2 ms to load.
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    this.worker = new Worker(WORKER, { eval: true, workerData: { sab, fd, hash, SLOT, SLOTS, CTL_BYTES, HEAD, TAIL, FAILED, LENS, ERR_AT, ERR_BYTES } });
    this.result = new Promise((resolve) => {
      this.worker.once('message', resolve);
      this.worker.once('error', (e) => resolve({ error: { message: e.message } }));
      this.worker.once('exit', (code) => resolve({ error: { message: `the writer thread stopped (exit code ${code})` } }));
    });
  }

  write(bytes: Buffer | Buffer[]): void {
    for (const b of Array.isArray(bytes) ? bytes : [bytes]) {
      let off = 0;
      while (off < b.length) {
        if (this.fill === 0) this.waitForSlot();
        const n = Math.min(SLOT - this.fill, b.length - off);
        b.copy(this.data, (this.head % SLOTS) * SLOT + this.fill, off, off + n);
        this.fill += n;
        off += n;
        if (this.fill === SLOT) this.publish(SLOT);
      }
    }
  }

  async end(): Promise<{ size: number; digest?: Sha256 }> {
    if (this.fill) this.publish(this.fill);
    this.waitForSlot();
    this.publish(-1);
    const r = await this.result;
    await this.worker.terminate();
    if (r.error) throw Object.assign(new Error(r.error.message), r.error.code ? { code: r.error.code } : {});
    return { size: r.size!, digest: r.digest === undefined ? undefined : asSha256(r.digest) };
  }

  async abort(): Promise<void> {
    // Terminating waits for a write in progress to return: after this, nothing uses the descriptor.
    await this.worker.terminate();
  }

  private publish(len: number): void {
    Atomics.store(this.ctl, LENS + (this.head % SLOTS), len);
    Atomics.store(this.ctl, HEAD, ++this.head);
    Atomics.notify(this.ctl, HEAD);
    this.fill = 0;
  }

  /** Block until the slot at `head` is free; a failed write is thrown here, at the next write after it. */
  private waitForSlot(): void {
    let since = Date.now();
    for (;;) {
      const failed = Atomics.load(this.ctl, FAILED);
      if (failed) {
        const e = JSON.parse(this.err.toString('utf8', 0, failed)) as { message: string; code?: string };
        throw Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
      }
      const tail = Atomics.load(this.ctl, TAIL);
      if (this.head - tail < SLOTS) return;
      if (Atomics.wait(this.ctl, TAIL, tail, 1000) !== 'timed-out') since = Date.now();
      else if (Date.now() - since > STALL_MS) throw new Error(`the writer thread made no progress for ${STALL_MS / 1000} s`);
    }
  }
}
