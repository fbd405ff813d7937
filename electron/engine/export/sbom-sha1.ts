// SPDX 2.3 wants the sha1 of every file; the store names contents by sha256.
// A layer's digest fixes the contents of its files, so their sha1s are kept
// per layer (CACHE/sbom-sha1/<layer digest>.json): an SBOM made again after
// one file changed reads and hashes only the files of the layers that changed
// (an unchanged Debian-sized base was ~0.4 s of store reads, their sha256
// checks and the sha1s).
//
// The record is cache data, so untrusted: it is used only when it is a
// regular file under a size cap, JSON of exactly this shape, naming the layer
// its file name names, with every key a sha256 and every value a sha1 by
// their grammar; anything else is ignored, recomputed and rewritten. Writing
// is best-effort (a read-only cache costs only speed).
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Sha256 } from '../../../shared/brand';
import type { SbomLayer } from '../model/sbom';
import { writeFileAtomic } from '../store/atomic';
import type { BlobStore } from '../store/blobs';
import { readJsonCapped } from '../store/integrity';

/** ~110 bytes an entry: a layer of half a million files. Larger layers are hashed every time. */
const CAP = 64 << 20;
const SHA256 = /^[0-9a-f]{64}$/;
const SHA1 = /^[0-9a-f]{40}$/;

interface LayerSums {
  file: string;
  sums: Map<string, string>;
  changed: boolean;
}

export class Sha1Cache {
  private readonly byLayer = new Map<number, Promise<LayerSums | undefined>>();

  constructor(
    private readonly store: BlobStore,
    private readonly layers: SbomLayer[],
  ) {}

  /** The sha1 of the content `digest`, found in layer `layer` (undefined: not kept). */
  async sha1(digest: Sha256, layer: number | undefined): Promise<string> {
    const kept = layer === undefined ? undefined : await this.layerSums(layer);
    const known = kept?.sums.get(digest);
    if (known !== undefined) return known;
    const sum = createHash('sha1')
      .update(await this.store.read(digest))
      .digest('hex');
    if (kept && kept.sums.size * 110 < CAP) {
      kept.sums.set(digest, sum);
      kept.changed = true;
    }
    return sum;
  }

  /** Write the records that gained entries. */
  async save(): Promise<void> {
    for (const p of this.byLayer.values()) {
      const l = await p;
      if (!l?.changed) continue;
      try {
        await fs.mkdir(path.dirname(l.file), { recursive: true });
        await writeFileAtomic(l.file, JSON.stringify({ v: 1, layer: path.basename(l.file, '.json'), sha1: Object.fromEntries([...l.sums].sort(([a], [b]) => (a < b ? -1 : 1))) }));
        l.changed = false;
      } catch {
        // not kept: the next SBOM hashes these files again
      }
    }
  }

  private layerSums(index: number): Promise<LayerSums | undefined> {
    let p = this.byLayer.get(index);
    if (!p) {
      p = this.load(index);
      this.byLayer.set(index, p);
    }
    return p;
  }

  private async load(index: number): Promise<LayerSums | undefined> {
    const digest = this.layers[index]?.digest;
    if (digest === undefined || !SHA256.test(digest)) return undefined;
    const file = path.join(this.store.cacheDir, 'sbom-sha1', `${digest}.json`);
    const doc = await readJsonCapped(file, CAP).catch(() => undefined);
    return { file, sums: (doc && 'value' in doc && validSums(doc.value, digest)) || new Map(), changed: false };
  }
}

/** The record's sums when it has exactly the expected shape, else undefined. */
export function validSums(doc: unknown, layer: string): Map<string, string> | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  if (Object.keys(d).length !== 3 || d.v !== 1 || d.layer !== layer) return undefined;
  const sha1 = d.sha1;
  if (typeof sha1 !== 'object' || sha1 === null || Array.isArray(sha1)) return undefined;
  const sums = new Map<string, string>();
  for (const [k, v] of Object.entries(sha1)) {
    if (!SHA256.test(k) || typeof v !== 'string' || !SHA1.test(v)) return undefined;
    sums.set(k, v);
  }
  return sums;
}
