// BlobStore.copyInto, which the docker archive copies layers with: a large blob
// file on a thread of its own, anything smaller or packed through readInto. The
// bytes land at the offset asked, and a blob this process has not found right
// is hashed on the way: a damaged one is named, removed and never passed as good.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { asSha256 } from '../../shared/brand';
import { BlobStore } from '../../electron/engine/store/blobs';
import { CorruptBlobError } from '../../electron/engine/store/integrity';
import { tempDir } from '../helpers/env';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Past the size copied on a thread (32 MiB), and not a whole number of the thread's 1 MiB reads. */
const BIG = (33 << 20) + 4097;

async function copied(store: BlobStore, digest: string, size: number, at: number): Promise<Buffer> {
  const out = path.join(store.cacheDir, `out-${at}`);
  writeFileSync(out, Buffer.alloc(at, 0x7a));
  const fd = openSync(out, 'r+');
  try {
    await store.copyInto(asSha256(digest), fd, at, size);
  } finally {
    closeSync(fd);
  }
  return readFileSync(out);
}

describe('copyInto', () => {
  const big = randomBytes(BIG);
  const small = randomBytes(70_000);

  it('copies a large blob (on its thread) and a small one to the offset asked, the bytes before it kept', async () => {
    const dir = tempDir('sy-copy-');
    const store = new BlobStore(dir);
    await store.open();
    for (const b of [big, small]) {
      const { digest, size } = await store.putBytes(b);
      const out = await copied(store, digest, size, 512);
      expect(out.length).toBe(512 + b.length);
      expect(out.subarray(0, 512).every((x) => x === 0x7a)).toBe(true);
      expect(sha(out.subarray(512))).toBe(sha(b));
    }
  });

  it('a large blob file this process did not write is checked as it is copied: a flipped byte is named and the blob removed', async () => {
    const dir = tempDir('sy-copy-');
    const first = new BlobStore(dir);
    await first.open();
    const { digest, size } = await first.putBytes(big);
    // Another process (a fresh store) reads it: intact, it copies and is found right.
    const again = new BlobStore(dir);
    await again.open();
    expect(sha((await copied(again, digest, size, 1024)).subarray(1024))).toBe(digest);
    const file = path.join(dir, 'blobs', 'sha256', digest);
    chmodSync(file, 0o644);
    const damaged = readFileSync(file);
    damaged[BIG - 10] ^= 0xff;
    writeFileSync(file, damaged);
    const third = new BlobStore(dir);
    await third.open();
    const e = await copied(third, digest, size, 0).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CorruptBlobError);
    expect(String(e)).toContain(`sha256:${digest}`);
    expect(existsSync(file)).toBe(false);
  });

  it('a size other than the caller recorded is refused before anything is copied', async () => {
    const dir = tempDir('sy-copy-');
    const store = new BlobStore(dir);
    await store.open();
    const { digest } = await store.putBytes(big);
    const e = await copied(store, digest, BIG - 1, 0).catch((x: unknown) => x);
    expect(String(e)).toMatch(new RegExp(`sha256:${digest}`));
    expect(readFileSync(path.join(dir, 'out-0')).length).toBe(0);
  });
});
