// The shared OCI layout fetched images go into (CACHE/images: oci/transport's
// fetchImage copies registry and engine images there with skopeo, each
// manifest named by its digest's hex), as `cache gc` reads and prunes it.
//
// Its files are untrusted like every cache file: index.json and manifests are
// capped and shape-checked before they are used, and a digest names a blob
// file only once parseDigest has held it to "sha256:" + 64 hex. A layout that
// breaks those rules is "damaged": gc reports it, naming the file, and removes
// nothing from it. Missing blobs are not damage (the OCI layout spec lets a
// layout lack blobs it references): they simply reach nothing.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DigestError, parseDigest, type Sha256 } from '../../../shared/brand';
import { writeFileAtomic } from './atomic';
import { HEX64, readJsonCapped } from './integrity';

/** The layout folder of a cache. */
export function imageLayoutDir(cacheDir: string): string {
  return path.join(path.resolve(cacheDir), 'images');
}

/** The lock file every writer of the layout holds (store/filelock.ts): fetches, and gc. */
export function imageLayoutLock(layout: string): string {
  return `${layout}.lock`;
}

/** index.json above this is refused unread (as fetchImage reads it). */
const INDEX_CAP = 16 << 20;
/** A manifest or index blob above this is refused unread (as oci/read.ts reads them). */
const MANIFEST_CAP = 4 << 20;
const MAX_ENTRIES = 100_000;
const MAX_DESCRIPTORS = 10_000;
/** Indexes of indexes deeper than this are refused (a loop would never end). */
const MAX_DEPTH = 4;
const REF_NAME = 'org.opencontainers.image.ref.name';

// Digests stay unknown here: parseDigest reads them, naming the field.
const descriptorSchema = z.looseObject({ digest: z.unknown() });
const indexSchema = z.looseObject({
  manifests: z.array(z.looseObject({ digest: z.unknown(), annotations: z.record(z.string(), z.unknown()).optional() })).max(MAX_ENTRIES),
});
const manifestSchema = z.looseObject({
  config: descriptorSchema.optional(),
  layers: z.array(descriptorSchema).max(MAX_DESCRIPTORS).optional(),
  manifests: z.array(descriptorSchema).max(MAX_DESCRIPTORS).optional(),
});

/** One index.json entry: the manifest it names and every blob that manifest reaches. */
export interface LayoutEntry {
  digest: Sha256;
  /** Its ref.name annotation (fetchImage writes the manifest digest's hex). */
  tag?: string;
  /** The manifest itself, its config and layers; for an index, its manifests' too. */
  reaches: Set<Sha256>;
}

export type ImageLayout =
  | { kind: 'absent' }
  | { kind: 'damaged'; file: string; why: string }
  | { kind: 'ok'; dir: string; index: z.infer<typeof indexSchema>; entries: LayoutEntry[] };

/** A fault of the layout's files: the file and what is wrong with it. */
class LayoutDamage extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super(`${file}: ${why}`);
  }
}

/** The layout's entries and what each reaches; `damaged` naming the file at fault. */
export async function readImageLayout(cacheDir: string): Promise<ImageLayout> {
  const dir = imageLayoutDir(cacheDir);
  try {
    for (const sub of ['', 'blobs', 'blobs/sha256']) {
      const st = await fs.lstat(path.join(dir, sub)).catch(() => undefined);
      if (!st) {
        if (sub === '') return { kind: 'absent' };
        continue;
      }
      if (!st.isDirectory()) throw new LayoutDamage(path.join(dir, sub), st.isSymbolicLink() ? 'is a symbolic link, not a folder' : 'is not a folder');
    }
    const indexFile = path.join(dir, 'index.json');
    const doc = await readJsonCapped(indexFile, INDEX_CAP);
    // No index.json (a copy killed before skopeo wrote it): no manifest is named, every blob is unreferenced.
    if (!doc) return { kind: 'ok', dir, index: { manifests: [] }, entries: [] };
    if ('bad' in doc) throw new LayoutDamage(indexFile, doc.bad);
    const index = parsed(indexSchema, doc.value, indexFile);
    const entries: LayoutEntry[] = [];
    for (const [i, m] of index.manifests.entries()) {
      const digest = digestAt(m.digest, indexFile, `manifests[${i}].digest`);
      const tag = m.annotations?.[REF_NAME];
      const reaches = new Set<Sha256>();
      await reach(dir, digest, reaches, 0);
      entries.push({ digest, ...(typeof tag === 'string' ? { tag } : {}), reaches });
    }
    return { kind: 'ok', dir, index, entries };
  } catch (e) {
    if (e instanceof LayoutDamage) return { kind: 'damaged', file: e.file, why: e.why };
    throw e;
  }
}

/** Add `digest` and what it reaches to `seen`: a manifest's config and layers, an index's manifests. */
async function reach(dir: string, digest: Sha256, seen: Set<Sha256>, depth: number): Promise<void> {
  if (seen.has(digest)) return;
  seen.add(digest);
  const file = path.join(dir, 'blobs', 'sha256', digest);
  const doc = await readJsonCapped(file, MANIFEST_CAP);
  if (!doc) return;
  if ('bad' in doc) throw new LayoutDamage(file, doc.bad);
  const m = parsed(manifestSchema, doc.value, file);
  if (m.config) seen.add(digestAt(m.config.digest, file, 'config.digest'));
  for (const [i, l] of (m.layers ?? []).entries()) seen.add(digestAt(l.digest, file, `layers[${i}].digest`));
  if (m.manifests?.length && depth >= MAX_DEPTH) throw new LayoutDamage(file, `indexes nest deeper than ${MAX_DEPTH}`);
  for (const [i, c] of (m.manifests ?? []).entries()) await reach(dir, digestAt(c.digest, file, `manifests[${i}].digest`), seen, depth + 1);
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new LayoutDamage(file, `${issue?.path.join('.') || 'top'}: ${issue?.message ?? 'not the expected shape'}`);
}

function digestAt(value: unknown, file: string, field: string): Sha256 {
  try {
    return parseDigest(value, field);
  } catch (e) {
    if (e instanceof DigestError) throw new LayoutDamage(file, e.message);
    throw e;
  }
}

/** Is the entry named by one of `names` (hex digests node results hold): by its ref.name, or its manifest digest? */
export function entryNamed(e: LayoutEntry, names: ReadonlySet<string>): boolean {
  return names.has(e.digest) || (e.tag !== undefined && HEX64.test(e.tag) && names.has(e.tag));
}

/** Rewrite index.json with only the entries `keep` holds (in their order, every other field as it was), atomically. */
export async function rewriteIndex(layout: Extract<ImageLayout, { kind: 'ok' }>, keep: ReadonlySet<LayoutEntry>): Promise<void> {
  const manifests = layout.index.manifests.filter((_, i) => keep.has(layout.entries[i]));
  await writeFileAtomic(path.join(layout.dir, 'index.json'), JSON.stringify({ ...layout.index, manifests }));
}

/** skopeo's temporary blob files in an OCI layout (oci-put-blob*), left by a copy that failed or was killed. Call with the layout's lock held. */
export async function sweepSkopeoTemps(layout: string): Promise<void> {
  const names = await fs.readdir(layout).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith('oci-put-blob')).map((n) => fs.rm(path.join(layout, n), { force: true })));
}
