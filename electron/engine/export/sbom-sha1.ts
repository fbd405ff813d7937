// SPDX 2.3 wants the sha1 of every file; the store names contents by sha256.
// They are found in one pass before any file is described: each content read
// once through one scratch buffer, in pack order (for a Debian-sized image's
// 7,000 files, a buffer a file cost ~0.1 s of GC and reading them one by one
// ~0.06 s more). A layer's digest fixes the contents of its files, so
// their sha1s are kept per layer (CACHE/sbom-sha1/<layer digest>.json): an
// SBOM made again after one file changed reads and hashes only the files of
// the layers that changed (an unchanged Debian-sized base was ~0.4 s of store
// reads, their sha256 checks and the sha1s).
//
// The record is cache data, so untrusted: it is used only when it is a
// regular file under a size cap, JSON of exactly this shape, naming the layer
// its file name names, with every key a sha256 and every value a sha1 by
// their grammar; anything else is ignored, recomputed and rewritten. Writing
// is best-effort (a read-only cache costs only speed).
import { createHash, hash as hashOnce, type Hash } from 'node:crypto';
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
/** One-shot sha1 (crypto.hash, Node 20.12 on: no Hash object a small file), or through a Hash before it. */
const sha1Of: (b: Uint8Array | string) => string = typeof hashOnce === 'function' ? (b) => hashOnce('sha1', b) : (b) => createHash('sha1').update(b).digest('hex');

interface LayerSums {
  file: string;
  sums: Map<string, string>;
  changed: boolean;
}

/** A content whose sha1 the SBOM needs: its size and the layer it is found in (undefined: not kept). */
export interface Sha1Want {
  digest: Sha256;
  size: number;
  layer: number | undefined;
}

export class Sha1Cache {
  private readonly byLayer = new Map<number, Promise<LayerSums | undefined>>();
  private readonly sums = new Map<string, string>();

  constructor(
    private readonly store: BlobStore,
    private readonly layers: SbomLayer[],
  ) {}

  /**
   * Find the sha1 of every content wanted: from its layer's record, else read
   * (each once) through one scratch buffer, grouped by pack in the order given
   * (tree order: the order an import wrote the pack in), so the store's
   * read-ahead window serves them with no buffer per file. Every read is
   * checked against its sha256 by the store, as any read is.
   */
  async fill(wanted: Sha1Want[]): Promise<void> {
    const records = new Map<number, LayerSums | undefined>();
    for (const w of wanted) if (w.layer !== undefined && !records.has(w.layer)) records.set(w.layer, await this.layerSums(w.layer));
    const toRead: Sha1Want[] = [];
    /** Records that lack a sum, filled once it is known (a content in two layers is kept in both records). */
    const lacking: [LayerSums, Sha256][] = [];
    for (const w of wanted) {
      const record = w.layer === undefined ? undefined : records.get(w.layer);
      const known = record?.sums.get(w.digest);
      if (known !== undefined) {
        if (!this.sums.has(w.digest)) this.sums.set(w.digest, known);
        continue;
      }
      if (record) lacking.push([record, w.digest]);
      if (this.sums.has(w.digest)) continue;
      // Marked as found, so a content held by several files is read once.
      this.sums.set(w.digest, '');
      toRead.push(w);
    }
    // Stable: the order given within each pack.
    const packOf = new Map(toRead.map((w) => [w, this.store.packOf(w.digest) ?? '']));
    toRead.sort((a, b) => (packOf.get(a)! < packOf.get(b)! ? -1 : packOf.get(a)! > packOf.get(b)! ? 1 : 0));
    const scratch = this.store.scratch();
    for (const w of toRead) {
      let hash: Hash | undefined;
      let sum: string | undefined;
      await this.store.readInto(
        w.digest,
        scratch,
        (piece) => {
          // A piece lives in the scratch only during this call: hashed now (at once when it is the whole content).
          if (piece.length === w.size && !hash) sum = sha1Of(piece);
          else (hash ??= createHash('sha1')).update(piece);
        },
        w.size,
      );
      // An empty blob file is emitted as nothing.
      sum = hash ? hash.digest('hex') : (sum ?? sha1Of(''));
      this.sums.set(w.digest, sum);
    }
    for (const [record, digest] of lacking) {
      if (record.sums.size * 110 >= CAP) continue;
      record.sums.set(digest, this.sums.get(digest)!);
      record.changed = true;
    }
  }

  /** The sha1 of a content passed to `fill`. */
  sha1(digest: Sha256): string {
    const sum = this.sums.get(digest);
    if (!sum) throw new Error(`sbom: no sha1 for sha256:${digest}`);
    return sum;
  }

  /** Write the records that gained entries. */
  async save(): Promise<void> {
    for (const p of this.byLayer.values()) {
      const l = await p;
      if (!l?.changed) continue;
      try {
        await fs.mkdir(path.dirname(l.file), { recursive: true });
        await writeFileAtomic(l.file, recordText(path.basename(l.file, '.json'), l.sums));
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

/** The record as JSON.stringify writes {v, layer, sha1} with the sums sorted by key (every key and value hex: nothing to escape). */
function recordText(layer: string, sums: Map<string, string>): string {
  const keys = [...sums.keys()].sort();
  const rows = keys.map((k) => `"${k}":"${sums.get(k)!}"`);
  return `{"v":1,"layer":${JSON.stringify(layer)},"sha1":{${rows.join(',')}}}`;
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
