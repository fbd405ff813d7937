// The hashing thread gives createHash's digest for any split of the bytes,
// through a ring smaller than the data (the reader waits for it), and serves
// hash after hash.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { HashWorker } from '../../electron/engine/store/hash-worker';

const worker = new HashWorker(64 << 10);
afterAll(() => worker.close());

describe('HashWorker', () => {
  it("equals createHash's sha256 for odd splits through a ring 40 times smaller than the data", () => {
    const data = randomBytes(2_600_000 + 17);
    let off = 0;
    for (let i = 1; off < data.length; i = (i * 7919) % 200_003) {
      const n = Math.min(data.length - off, i);
      worker.update(data.subarray(off, off + n));
      off += n;
    }
    expect(worker.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('serves one hash after another, the empty one too', () => {
    for (const size of [0, 1, 65_536, 65_537, 300_000]) {
      const data = randomBytes(size);
      worker.update(data);
      expect(worker.digest('hex'), `${size} bytes`).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});
