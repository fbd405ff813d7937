// The flattened rootfs tar, written without re-reading every file when it can
// be: the bottom layer's tar already holds, byte for byte, the entries of
// every path the layers above left alone (the tar writer is deterministic and
// the rootfs is the same writer over the final tree). So the output splices
// byte ranges of that tar with freshly written entries for what changed. The
// result is identical to writing the whole tree (tested); when hard links are
// among the changes, where an entry's bytes depend on its neighbours, the
// whole tree is written instead.
import { constants, createWriteStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { ROOT } from '../model/path';
import { sameEntry, sortedPaths, type Entry, type Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import type { BuildCache } from '../store/cache';
import { tarStream, treeItems, type TarItem } from '../oci/tarwriter';
import { z } from 'zod';

/** Cached entry offsets: ascending byte positions. */
const offsetsSchema = z
  .array(z.number().int().nonnegative())
  .refine((xs) => xs.every((x, i) => i === 0 || x > xs[i - 1]), 'offsets must ascend');

const BLOCK = 512;
const END_OF_ARCHIVE = 2 * BLOCK;
const CHUNK = 1 << 20;

export interface SpliceBase {
  /** The uncompressed tar of the bottom layer (diffId) and the tree it holds. */
  diffId: Sha256;
  tree: Tree;
}

/** Write the tar of `tree` to `file` (a fresh path); splice from `base` when it is safe. */
export async function writeRootfsTar(file: string, store: BlobStore, cache: BuildCache, tree: Tree, epoch: number, base?: SpliceBase): Promise<void> {
  const plan = base && (await store.has(base.diffId)) && (await splicePlan(store, cache, tree, base));
  if (!plan) {
    await pipeline(tarStream(store, treeItems(tree), epoch), createWriteStream(file, { mode: 0o644, highWaterMark: CHUNK }));
    return;
  }
  const out = await fs.open(file, 'w', 0o644);
  // The base tar is read from start to end, skipped ranges included, and hashed on
  // the way: a cached tar that is not its digest's fails here, not in the image.
  const src = store.readStream(base!.diffId);
  const reader = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let held: Buffer = Buffer.alloc(0);
  let at = 0;
  /** Pass bytes [at, to) of the base to `sink` (or drop them). */
  const advance = async (to: number, sink?: (b: Buffer) => Promise<unknown>) => {
    while (at < to) {
      if (!held.length) {
        const next = await reader.next();
        if (next.done) throw new Error(`layer tar ${base!.diffId} is shorter than its index`);
        held = next.value;
      }
      const n = Math.min(held.length, to - at);
      if (sink) await sink(held.subarray(0, n));
      held = held.subarray(n);
      at += n;
    }
  };
  try {
    for (const seg of plan) {
      if ('from' in seg) {
        if (seg.from < at) throw new Error(`layer tar ${base!.diffId}: its cached entry offsets are out of order`);
        await advance(seg.from);
        await advance(seg.to, (b) => out.write(b));
      } else {
        await writeEntries(out, store, seg.items, epoch);
      }
    }
    await out.write(Buffer.alloc(END_OF_ARCHIVE));
    // The rest of the base, for its hash; the verifier throws at its end when it is bad.
    while (!(await reader.next()).done);
  } finally {
    src.destroy();
    await out.close();
  }
}

type Segment = { from: number; to: number } | { items: TarItem[] };

/** Byte ranges of the base tar and runs of new entries, in the rootfs's path order; undefined when splicing is unsafe. */
async function splicePlan(store: BlobStore, cache: BuildCache, tree: Tree, base: SpliceBase): Promise<Segment[] | undefined> {
  const basePaths = sortedPaths(base.tree).filter((p) => p !== ROOT);
  const kept = (p: ImagePath, e: Entry) => {
    const b = base.tree.get(p);
    return !!b && sameEntry(b, e) && (b.link ?? '') === (e.link ?? '');
  };
  // A changed hard-linked entry can turn a neighbour's "link" into a "file": write everything then.
  for (const p of basePaths) if (base.tree.get(p)!.link && !(tree.has(p) && kept(p, tree.get(p)!))) return undefined;
  for (const [p, e] of tree) if (e.link && !kept(p, e)) return undefined;
  const offsets = await entryOffsets(store, cache, base.diffId, basePaths.length);
  if (!offsets) return undefined;
  const index = new Map<ImagePath, number>(basePaths.map((p, i) => [p, i]));
  const segments: Segment[] = [];
  for (const p of sortedPaths(tree)) {
    if (p === ROOT) continue;
    const e = tree.get(p)!;
    const last = segments[segments.length - 1];
    if (kept(p, e)) {
      const i = index.get(p)!;
      if (last && 'from' in last && last.to === offsets[i]) last.to = offsets[i + 1];
      else segments.push({ from: offsets[i], to: offsets[i + 1] });
    } else {
      if (last && 'items' in last) last.items.push({ path: p, entry: e });
      else segments.push({ items: [{ path: p, entry: e }] });
    }
  }
  return segments;
}

/**
 * Where each entry of a tar we wrote starts (a PAX header and the entry it
 * describes count as one), plus where the end-of-archive blocks start: read
 * from its headers once and cached by the tar's digest. Undefined when the
 * count does not match the tree (not a tar of ours).
 */
async function entryOffsets(store: BlobStore, cache: BuildCache, digest: Sha256, expected: number): Promise<number[] | undefined> {
  const key = `tar-offsets-${digest}`;
  const hit = await cache.get(key, offsetsSchema);
  if (hit) return hit.length === expected + 1 ? hit : undefined;
  // Read in place (headers only): the splice that uses these offsets hashes the whole tar.
  const fh = await fs.open(store.pathOf(digest), constants.O_RDONLY | constants.O_NOFOLLOW);
  const offsets: number[] = [];
  try {
    const window = Buffer.allocUnsafe(64 << 10);
    let wStart = 0;
    let wLen = 0;
    const header = async (pos: number): Promise<Buffer | undefined> => {
      if (pos < wStart || pos + BLOCK > wStart + wLen) {
        wStart = pos;
        wLen = (await fh.read(window, 0, window.length, pos)).bytesRead;
        if (wLen < BLOCK) return undefined;
      }
      return window.subarray(pos - wStart, pos - wStart + BLOCK);
    };
    let pos = 0;
    let groupStart = -1;
    for (;;) {
      const h = await header(pos);
      if (!h) return undefined;
      if (h.every((b) => b === 0)) break;
      if (groupStart < 0) groupStart = pos;
      const type = String.fromCharCode(h[156]);
      pos += BLOCK + Math.ceil(tarSize(h) / BLOCK) * BLOCK;
      if (type === 'x') continue; // a PAX header belongs to the entry after it
      offsets.push(groupStart);
      groupStart = -1;
    }
    offsets.push(pos);
  } finally {
    await fh.close();
  }
  if (offsets.length !== expected + 1) return undefined;
  await cache.put(key, offsets);
  return offsets;
}

/** The size field: octal text, or base-256 when its first byte has the high bit set. */
function tarSize(h: Buffer): number {
  const field = h.subarray(124, 136);
  if (field[0] & 0x80) {
    let n = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return n;
  }
  const text = field.toString('ascii').replace(/\0.*$/, '').trim();
  return text ? parseInt(text, 8) : 0;
}

/** Entries written by the same tar writer, without its end-of-archive blocks. */
async function writeEntries(out: FileHandle, store: BlobStore, items: TarItem[], epoch: number): Promise<void> {
  let held = Buffer.alloc(0);
  for await (const chunk of tarStream(store, items, epoch) as AsyncIterable<Buffer>) {
    const all = held.length ? Buffer.concat([held, chunk]) : chunk;
    const keep = Math.min(END_OF_ARCHIVE, all.length);
    if (all.length > keep) await out.write(all, 0, all.length - keep);
    held = Buffer.from(all.subarray(all.length - keep));
  }
  if (held.length !== END_OF_ARCHIVE || held.some((b) => b !== 0)) throw new Error('the tar writer did not end with two zero blocks');
}
