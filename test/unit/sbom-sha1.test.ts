// The SBOM's sha1 pass (export/sbom-sha1.ts): every content read once
// through one scratch buffer, packed or a blob file of its own, small, empty
// or larger than the store's read window, each checked against its sha256 as
// it is read; the per-layer record written as before and used instead of the
// store when it is there.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sha256 } from '../../shared/brand';
import { Sha1Cache, type Sha1Want } from '../../electron/engine/export/sbom-sha1';
import { sha256 } from '../../electron/engine/model/digest';
import type { SbomLayer } from '../../electron/engine/model/sbom';
import { BlobStore } from '../../electron/engine/store/blobs';
import { CorruptBlobError } from '../../electron/engine/store/integrity';
import { tempDir } from '../helpers/env';

const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex');

async function* once(b: Buffer) {
  yield b;
}

/** A store with packed contents (one past the 4 MiB read window) and blob files (one empty). */
async function storeWith(dir: string): Promise<{ store: BlobStore; packed: Buffer[]; loose: Buffer[] }> {
  const store = new BlobStore(dir);
  await store.open();
  const packed = [Buffer.from('first'), Buffer.alloc(5 << 20, 0x61), Buffer.from('after the large one'), Buffer.alloc(70_000, 0x62)];
  const pack = await store.beginPack('sha1-pack');
  for (const b of packed) await pack.add(once(b));
  await pack.finish();
  const loose = [Buffer.alloc(0), Buffer.from('a blob file'), Buffer.alloc((4 << 20) + 3, 0x63)];
  for (const b of loose) await store.putBytes(b);
  return { store, packed, loose };
}

const LAYER: SbomLayer = { index: 0, name: 'base', digest: sha256('layer 0') };

function wants(bufs: Buffer[], layer: number | undefined): Sha1Want[] {
  return bufs.map((b) => ({ digest: sha256(b), size: b.length, layer }));
}

describe('the SBOM sha1 pass', () => {
  it('gives every content its sha1, packed or not, in any order, and keeps a layer record as JSON.stringify wrote it', async () => {
    const dir = tempDir();
    const { store, packed, loose } = await storeWith(dir);
    const all = [...loose, ...packed].reverse();
    const sums = new Sha1Cache(store, [LAYER]);
    // Each twice: a content held by two files is read once and named for both.
    await sums.fill([...wants(all, 0), ...wants(all, undefined)]);
    for (const b of all) expect(sums.sha1(sha256(b))).toBe(sha1(b));
    await sums.save();
    const record = readFileSync(path.join(dir, 'sbom-sha1', `${LAYER.digest}.json`), 'utf8');
    const expected = Object.fromEntries(all.map((b) => [sha256(b), sha1(b)] as [string, string]).sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(record).toBe(JSON.stringify({ v: 1, layer: LAYER.digest, sha1: expected }));
    await store.close();
  });

  it('takes the sums from the layer record without reading, and refuses a content whose bytes are not its digest', async () => {
    const dir = tempDir();
    const { store, packed } = await storeWith(dir);
    const first = new Sha1Cache(store, [LAYER]);
    await first.fill(wants(packed, 0));
    await first.save();
    await store.close();
    // The pack's bytes changed behind the store's back: each content is as long as before, one byte differs.
    const file = path.join(dir, 'packs', 'sha1-pack');
    const bytes = readFileSync(file);
    bytes[2] ^= 1;
    bytes[bytes.length - 2] ^= 1;
    writeFileSync(file, bytes);

    const again = new BlobStore(dir);
    await again.open();
    expect(await again.loadPack('sha1-pack')).toBe(true);
    const kept = new Sha1Cache(again, [LAYER]);
    await kept.fill(wants(packed, 0));
    for (const b of packed) expect(kept.sha1(sha256(b))).toBe(sha1(b));

    // Not in a record (no layer): read, and found bad.
    const small = packed[0];
    const err = await new Sha1Cache(again, [LAYER]).fill([{ digest: sha256(small), size: small.length, layer: undefined }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptBlobError);
    expect((err as CorruptBlobError).digest).toBe(sha256(small) as Sha256);
    await again.close();
  });
});
