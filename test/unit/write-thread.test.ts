// Big writes on a worker thread (store/write-thread.ts): the file and the hash
// must be exactly what the calling thread would have written, however the
// pieces fall across the ring's slots, even when the producer reuses its
// buffers at once; and a failed write must surface with its system error.
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIG, directSink, sinkFor } from '../../electron/engine/store/write-thread';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sy-write-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Pieces of awkward sizes (headers, odd files, more than a slot), from one reused buffer. */
function* pieces(total: number): Generator<Buffer[]> {
  const scratch = Buffer.alloc(3 << 20);
  let seed = 1;
  let made = 0;
  for (let i = 0; made < total; i++) {
    const n = Math.min([512, 1, 700_001, (1 << 20) + 3, 3 << 20, 4096][i % 6], total - made);
    for (let j = 0; j < n; j++) scratch[j] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16;
    made += n;
    yield i % 3 === 0 ? [scratch.subarray(0, n >> 1), scratch.subarray(n >> 1, n)] : [scratch.subarray(0, n)];
  }
}

async function writeWith(thread: boolean, total: number) {
  const file = path.join(dir, thread ? 'thread' : 'direct');
  const fd = openSync(file, 'w');
  const sink = thread ? sinkFor(fd, true, BIG) : directSink(fd, true);
  const hash = createHash('sha256');
  for (const p of pieces(total)) {
    for (const b of p) hash.update(b);
    sink.write(p.length === 1 ? p[0] : p);
  }
  const end = await sink.end();
  closeSync(fd);
  return { end, expected: hash.digest('hex'), bytes: readFileSync(file) };
}

describe('the writer thread', () => {
  it('writes and hashes exactly what the calling thread would, across slots, with reused buffers', async () => {
    const total = 37 * (1 << 20) + 12345;
    const direct = await writeWith(false, total);
    const thread = await writeWith(true, total);
    expect(thread.end.size).toBe(total);
    expect(thread.end.digest).toBe(direct.expected);
    expect(direct.end.digest).toBe(direct.expected);
    expect(createHash('sha256').update(thread.bytes).digest('hex')).toBe(direct.expected);
    expect(thread.bytes.equals(direct.bytes)).toBe(true);
  });

  it('chooses the thread only for big streams', () => {
    const fd = openSync(path.join(dir, 'small'), 'w');
    expect(sinkFor(fd, false, BIG - 1).constructor.name).not.toBe('ThreadSink');
    closeSync(fd);
  });

  it('fails with the system error of a write that could not be made (a full disk)', async () => {
    const fd = openSync('/dev/full', 'w');
    const sink = sinkFor(fd, true, BIG);
    let err: NodeJS.ErrnoException | undefined;
    try {
      for (const p of pieces(40 << 20)) sink.write(p);
      await sink.end();
    } catch (e) {
      err = e as NodeJS.ErrnoException;
      await sink.abort();
    }
    closeSync(fd);
    expect(err?.code).toBe('ENOSPC');
    expect(err?.message).toMatch(/ENOSPC|no space/i);
  });

  it('stops at once when aborted mid-stream, leaving the descriptor free to close', async () => {
    const file = path.join(dir, 'aborted');
    const fd = openSync(file, 'w');
    const sink = sinkFor(fd, true, BIG);
    for (const p of pieces(20 << 20)) sink.write(p);
    await sink.abort();
    closeSync(fd);
    expect(readFileSync(file).length).toBeLessThanOrEqual(20 << 20);
  });
});
