// The image source: a base image by reference. Its layers are not re-made:
// their blobs go into the store byte for byte (a registry then mounts them
// instead of taking an upload), their trees are read (verified against the
// blob digests and diff_ids) so the explorer, diffs and runs see the files,
// and its config is the image's starting config.
//
// "Digest" names what the image is: for an OCI layout (and anything pulled,
// which arrives as one) the manifest digest, as a registry shows it; for a
// docker-archive, which has no manifest, the config digest (docker's image
// id, what `docker images` shows; skopeo would make up a manifest whose
// digest depends on its version). A base is cached by that digest: a rebuild
// reads the image's JSON documents only, never its layers again.
import path from 'node:path';
import { z } from 'zod';
import { asSha256, type Sha256 } from '../../../shared/brand';
import { formatImageRef, isRemote, parseImageRef, type ImageRef } from '../../../shared/imageref';
import { LockDriftError, imageDrift, type LockEntry } from '../../../shared/lock';
import type { SourceOf } from '../../../shared/recipe';
import { digestOf } from '../model/digest';
import { applyLayer } from '../model/apply';
import { emptyTree, treeFromJson, treeToJson, type Entry, type Tree } from '../model/tree';
import { ImageOpenError, readImage, readImageIdentity, scanImageHeaders, type StoredLayer } from '../oci/read';
import { TransportError, fetchImage, layoutTag, refuseFetched, type CopyProgress, type RegistryAccess } from '../oci/transport';
import { badDigests } from '../store/cache';
import { HEX64 } from '../store/integrity';
import { RecipeError, type SourceContext, type SourceResult } from './types';

export interface BaseLayer {
  blob: StoredLayer;
  /** The layer's own entries (whiteouts as .wh.* files). */
  tree: Tree;
}

export interface BaseImage {
  /** The reference as the recipe wrote it. */
  ref: string;
  /** ...as formatImageRef writes it: what scratchyard.lock records. */
  lockRef: string;
  /** Manifest digest (OCI layout, pulled images) or config digest (docker-archive). */
  digest: Sha256;
  layers: BaseLayer[];
  /** State after each of its layers. */
  states: Tree[];
  config: unknown;
}

/** Where a reference's image is on this machine, ready for readImage. */
export interface LocalImage {
  path: string;
  tag?: string;
}

/** What a reference is resolved against: relative paths from the project folder, pulls into the cache. */
export interface ResolveContext {
  projectDir: string;
  cacheDir: string;
  signal?: AbortSignal;
  registry?: RegistryAccess;
  /** Where a base fetched from the cache because its registry is down is told. */
  log?: (line: string) => void;
}

/**
 * The one place a reference becomes a local image. Files are read where
 * they are (a relative path from the project folder); registries and engines
 * are pulled into the cache by oci/transport's fetchImage, which hands back
 * an OCI layout path and the manifest digest.
 */
export async function localImage(ref: ImageRef, at: ResolveContext, field: string): Promise<LocalImage> {
  switch (ref.transport) {
    case 'oci':
      return { path: path.resolve(at.projectDir, ref.path), ...(ref.tag !== undefined ? { tag: ref.tag } : {}) };
    case 'docker-archive':
    case 'path':
      return { path: path.resolve(at.projectDir, ref.path) };
    case 'docker':
    case 'docker-daemon':
    case 'containers-storage': {
      const onProgress = (p: CopyProgress) => {
        if (p.kind === 'offline') at.log?.(`${field}: ${p.ref}: ${p.reason}: using sha256:${p.digest}, what it named when last fetched (in the cache)`);
      };
      const fetched = await fetchImage(ref, { ...at.registry, cacheDir: at.cacheDir, signal: at.signal, onProgress }).catch((e: unknown) => {
        if (e instanceof TransportError) throw new BaseImageError(`${field}: ${e.message}`);
        throw e;
      });
      const tag = layoutTag(fetched.ref);
      return { path: fetched.path, ...(tag !== undefined ? { tag } : {}) };
    }
  }
}

/** The digest a base is pinned by: its manifest's (OCI), or its config's (docker-archive). */
export async function baseIdentity(local: LocalImage, ref: string, field: string): Promise<{ digest: Sha256; config: unknown }> {
  try {
    const id = await readImageIdentity(local.path, { tag: local.tag });
    return { digest: id.manifestDigest ?? id.configDigest, config: id.config };
  } catch (e) {
    throw opened(e, field, ref);
  }
}

/** Every layer of the image read once, as inspect reads it: present, well-formed tars, hashing to the digests the image states. */
export async function checkBaseLayers(local: LocalImage, ref: string, field: string): Promise<void> {
  try {
    await scanImageHeaders(local.path, { tag: local.tag }, () => ({ entry() {}, end() {} }));
  } catch (e) {
    throw opened(e, field, ref);
  }
}

function opened(e: unknown, field: string, ref: string): unknown {
  return e instanceof ImageOpenError ? new BaseImageError(`${field}: base ${ref}: ${e.message}`) : e;
}

/** A base image that cannot be used (pin mismatch, unreadable, changed while read): exit 1, not a recipe mistake. */
export class BaseImageError extends Error {}

const storedSchema = z.object({
  digest: z.string().regex(HEX64).transform(asSha256),
  size: z.number().int().nonnegative(),
  mediaType: z.string().max(255),
  diffId: z.string().regex(HEX64).transform(asSha256),
});
const cachedBaseSchema = z.object({
  layers: z.array(
    z.object({
      blob: storedSchema,
      pack: z.string().regex(/^image-layer-[0-9a-f]{64}$/),
      // Entries' digests name blobs: held to their grammar, as every cached node's are.
      tree: z.array(z.tuple([z.string(), z.custom<Entry>((v) => typeof v === 'object' && v !== null)])).refine((rows) => badDigests(rows) === undefined, 'an entry digest is not a sha256'),
    }),
  ),
  config: z.unknown(),
});

/** Read (or find cached) the base an image source names, held to its pin. */
export async function loadBase(s: SourceOf<'image'>, ctx: SourceContext): Promise<BaseImage> {
  const field = `${ctx.field}.ref`;
  const ref = parseImageRef(s.ref);
  if (typeof ref === 'string') throw new RecipeError(field, ref);
  const local = await localImage(ref, { projectDir: ctx.projectDir, cacheDir: ctx.store.cacheDir, signal: ctx.signal, registry: ctx.registry, log: ctx.log }, field);
  // A fetched image our reader refuses leaves the cache (skopeo checked only its digests): named by its reference, not the cache's path.
  const fetched = isRemote(ref) && local.tag !== undefined && HEX64.test(local.tag) ? asSha256(local.tag) : undefined;
  const refused = async (e: unknown): Promise<void> => {
    const why = await refuseFetched(e, ctx.store.cacheDir, fetched, local.path);
    if (why !== undefined) throw new BaseImageError(`${field}: base ${s.ref}: ${why} (refused and removed from the cache; the next build fetches it again)`);
  };
  const id = await readImageIdentity(local.path, { tag: local.tag }).catch(async (e: unknown) => {
    await refused(e);
    throw opened(e, field, s.ref);
  });
  const digest = id.manifestDigest ?? id.configDigest;
  if (s.digest !== undefined && s.digest !== `sha256:${digest}`) {
    throw new BaseImageError(`${ctx.field}.digest: base ${s.ref} is sha256:${digest}, the recipe pins ${s.digest}: refused (set digest: sha256:${digest} to take it)`);
  }
  // build --locked: a reference that names another image than the lock's (a moved tag) stops here, before its layers are read.
  const lockRef = formatImageRef(ref);
  if (ctx.locked?.kind === 'image' && ctx.locked.manifest !== digest) {
    throw new LockDriftError(ctx.field, [imageDrift(ctx.field, ctx.locked, { ref: lockRef, manifest: digest })]);
  }
  const key = digestOf({ kind: 'image-base', v: 2, digest, tag: local.tag ?? null });
  const hit = await ctx.cache.get(key, cachedBaseSchema);
  if (hit && (await allStored(hit.layers, ctx))) {
    const layers = hit.layers.map((l) => ({ blob: l.blob, tree: treeFromJson(l.tree as [string, Entry][]) }));
    return { ref: s.ref, lockRef, digest, layers, states: statesOf(layers), config: hit.config };
  }
  const img = await readImage(ctx.store, local.path, { tag: local.tag, keepBlobs: true }).catch(async (e: unknown) => {
    await refused(e);
    throw opened(e, field, s.ref);
  });
  // What was read is what was named: the file was not replaced since its identity was read.
  if ((img.manifestDigest ?? img.configDigest) !== digest) throw new BaseImageError(`${field}: base ${s.ref} changed while it was read (sha256:${digest} became sha256:${img.manifestDigest ?? img.configDigest})`);
  const layers = img.layers.map((l) => ({ blob: l.blob!, tree: l.tree, pack: `image-layer-${l.digest}` }));
  await ctx.cache.put(key, { layers: layers.map((l) => ({ blob: l.blob, pack: l.pack, tree: treeToJson(l.tree) })), config: img.config });
  return { ref: s.ref, lockRef, digest, layers, states: img.states, config: img.config };
}

async function allStored(layers: { blob: StoredLayer; pack: string }[], ctx: SourceContext): Promise<boolean> {
  for (const l of layers) if (!(await ctx.store.has(l.blob.digest)) || !(await ctx.store.loadPack(l.pack))) return false;
  return true;
}

function statesOf(layers: BaseLayer[]): Tree[] {
  let state = emptyTree();
  return layers.map((l) => (state = applyLayer(state, l.tree)));
}

/**
 * The digest this project's base had at its last build, replaced by this one:
 * a moved tag is reported, as a change, once.
 */
export async function noteBaseDigest(ctx: SourceContext, projectDir: string, base: BaseImage): Promise<string | undefined> {
  const key = `image-base-seen-${digestOf({ project: projectDir, field: ctx.field, ref: base.ref })}`;
  const last = await ctx.cache.get(key, z.object({ digest: z.string().regex(HEX64) }));
  if (last?.digest !== base.digest) await ctx.cache.put(key, { digest: base.digest });
  if (!last || last.digest === base.digest) return undefined;
  return `base: ${base.ref} moved sha256:${last.digest} → sha256:${base.digest}`;
}

/** The base's entry in scratchyard.lock: the reference as formatImageRef writes it, and the digest it resolved to. */
export function imageLock(field: string, base: BaseImage): LockEntry {
  return { field, kind: 'image', ref: base.lockRef, manifest: base.digest };
}

/** As an ordinary source (a stage's bottom): the base's final state. */
export async function imageSource(s: SourceOf<'image'>, ctx: SourceContext): Promise<SourceResult> {
  const base = await loadBase(s, ctx);
  return { put: base.states[base.states.length - 1] ?? emptyTree(), remove: [] };
}
