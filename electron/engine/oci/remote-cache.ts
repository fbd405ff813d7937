// The registry as a cache shared by many machines (build --cache-to /
// --cache-from): each build node's result is an OCI artifact in one
// repository, tagged by a digest of the node key. The artifact's config is the
// node's JSON as the local cache holds it; its layers are every blob and pack
// that JSON names, so a machine that fetches a node can use it at once. A
// registry dedups blobs by digest, so a Debian pack named by ten nodes is
// uploaded once.
//
// What comes back from a registry is untrusted like anything else: manifests
// and configs are capped and checked against their digests, blob names must be
// sha256 hex and their bytes hash to them, a pack index is checked like one of
// ours and its contents are verified when read, and the node JSON goes through
// the local cache's own validation (a bad one is a miss and is removed).
// oci/transport (the one skopeo adapter) does the talking, with the same
// registry options and error sentences as push and inspect; a registry that
// cannot be reached makes --cache-from a miss with a warning, not a failed build.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { asSha256 } from '../../../shared/brand';
import { formatImageRef, type ImageRef } from '../../../shared/imageref';
import { sweepStaleTemps, tempPathFor } from '../store/atomic';
import type { BlobStore } from '../store/blobs';
import { NODE_CAP, type BuildCache, type RemoteTier } from '../store/cache';
import { HEX64, readJsonCapped } from '../store/integrity';
import { copyToLayout, pushImage, registryUnusable, TransportError, type RegistryOptions } from './transport';

const ARTIFACT_TYPE = 'application/vnd.scratchyard.node.v1';
const NODE_MEDIA = 'application/vnd.scratchyard.node.v1+json';
const BLOB_MEDIA = 'application/vnd.scratchyard.blob.v1';
const PACK_MEDIA = 'application/vnd.scratchyard.pack.v1';
const PACK_INDEX_MEDIA = 'application/vnd.scratchyard.pack-index.v1+json';
const PACK_ANNOTATION = 'dev.scratchyard.pack';
const KEY_ANNOTATION = 'dev.scratchyard.key';
/** A manifest of a node naming thousands of blobs is still far below this. */
const MANIFEST_CAP = 4 << 20;
const PACK_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export interface RegistryCacheOptions extends Omit<RegistryOptions, 'onProgress'> {
  /** docker:// repository the nodes are tagged in. */
  ref: Extract<ImageRef, { transport: 'docker' }>;
  log?: (line: string) => void;
}

/** The tag a node key is stored under: registry tags are at most 128 characters, keys up to 200. */
export function nodeTag(key: string): string {
  return `node-${createHash('sha256').update(key).digest('hex')}`;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** Every 64-hex string anywhere in a node's value: the blobs it may name (tree entries, layer and .deb digests). */
export function namedDigests(v: unknown, into = new Set<string>(), depth = 0): Set<string> {
  if (depth > 64) return into;
  if (typeof v === 'string') {
    if (HEX64.test(v)) into.add(v);
  } else if (Array.isArray(v)) {
    for (const x of v) namedDigests(x, into, depth + 1);
  } else if (v && typeof v === 'object') {
    for (const x of Object.values(v)) namedDigests(x, into, depth + 1);
  }
  return into;
}

export class RegistryCache implements RemoteTier {
  private readonly repo: string;
  private readonly work: string;
  /** Set when the registry could not be reached: later misses do not ask again. */
  private down?: string;
  readonly stats = { fetched: 0, missed: 0, refused: 0, pushed: 0, blobsSkipped: 0, blobsUploaded: 0 };

  constructor(
    private readonly store: BlobStore,
    private readonly cache: BuildCache,
    private readonly opts: RegistryCacheOptions,
  ) {
    this.repo = formatImageRef(this.tagged(undefined));
    this.work = path.join(store.cacheDir, 'remote');
  }

  /** The repository, with `tag` (a node's). */
  private tagged(tag: string | undefined): Extract<ImageRef, { transport: 'docker' }> {
    return { transport: 'docker', ref: { ...this.opts.ref.ref, tag, digest: undefined } };
  }

  /** The registry options for transport: the caller's, without our own fields. */
  private registry(): RegistryOptions {
    const { ref: _ref, log: _log, ...rest } = this.opts;
    return rest;
  }

  private async tempDir(): Promise<string> {
    await fs.mkdir(this.work, { recursive: true });
    await sweepStaleTemps(this.work);
    const dir = tempPathFor(path.join(this.work, 'layout'));
    await fs.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    return dir;
  }

  /** BuildCache's second tier: copy the node's artifact here, check it, adopt its blobs and packs, write the node. */
  async fetch(key: string): Promise<boolean> {
    if (this.down) return false;
    const tag = nodeTag(key);
    const dir = await this.tempDir();
    try {
      try {
        await copyToLayout(this.tagged(tag), dir, tag, this.registry());
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        if (registryUnusable(e.fault)) {
          this.down = e.message;
          this.opts.log?.(`cache-from: ${this.repo} cannot be read (${e.message}); building without it`);
        } else if (e.fault !== 'missing') {
          // The registry answered with something that is not this node (bad bytes, a broken manifest): computed here instead.
          this.opts.log?.(`cache-from: node ${tag.slice(5, 17)} refused: ${e.message}`);
          this.stats.refused++;
          return false;
        }
        this.stats.missed++;
        return false;
      }
      const why = await this.adopt(dir, key);
      if (why) {
        this.opts.log?.(`cache-from: node ${tag.slice(5, 17)} refused: ${why}`);
        this.stats.refused++;
        return false;
      }
      this.stats.fetched++;
      return true;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** Check a fetched layout and take what it holds; a sentence saying what is wrong, or undefined. */
  private async adopt(dir: string, key: string): Promise<string | undefined> {
    const index = await readJsonCapped(path.join(dir, 'index.json'), MANIFEST_CAP);
    if (!index || !('value' in index)) return 'no readable index.json';
    const manifests = (index.value as { manifests?: unknown }).manifests;
    if (!Array.isArray(manifests) || manifests.length !== 1) return 'the layout does not hold exactly one manifest';
    const manifest = await verifiedJson(dir, manifests[0] as Descriptor, MANIFEST_CAP);
    if (typeof manifest === 'string') return `manifest: ${manifest}`;
    const m = manifest as { artifactType?: unknown; config?: Descriptor; layers?: Descriptor[]; annotations?: Record<string, string> };
    if (m.artifactType !== ARTIFACT_TYPE || m.config?.mediaType !== NODE_MEDIA || !Array.isArray(m.layers)) return 'not a scratchyard cache node';
    if (m.annotations?.[KEY_ANNOTATION] !== key) return 'it is tagged for another node';
    const value = await verifiedJson(dir, m.config, NODE_CAP);
    if (typeof value === 'string') return `node: ${value}`;
    const packs = new Map<string, { pack?: string; index?: unknown }>();
    for (const layer of m.layers) {
      const file = blobFile(dir, layer);
      if (typeof file !== 'string' || !file) return `layer ${JSON.stringify(layer?.digest)}: not a sha256 blob of this layout`;
      if (layer.mediaType === BLOB_MEDIA) {
        const put = await this.store.putStream(createReadStream(file));
        if (put.digest !== layer.digest.slice(7)) return `blob ${layer.digest} holds sha256:${put.digest}`;
        continue;
      }
      const id = layer.annotations?.[PACK_ANNOTATION];
      if (typeof id !== 'string' || !PACK_ID.test(id)) return `layer ${layer.digest}: no valid pack name`;
      if (await hashFile(file) !== layer.digest.slice(7)) return `pack ${id}: bytes do not match ${layer.digest}`;
      const entry = packs.get(id) ?? {};
      if (layer.mediaType === PACK_MEDIA) entry.pack = file;
      else if (layer.mediaType === PACK_INDEX_MEDIA) {
        const idx = await readJsonCapped(file, 256 << 20);
        if (!idx || !('value' in idx)) return `pack ${id}: its index is not JSON`;
        entry.index = idx.value;
      } else return `layer ${layer.digest}: unknown media type ${JSON.stringify(layer.mediaType).slice(0, 80)}`;
      packs.set(id, entry);
    }
    for (const [id, p] of packs) {
      if (this.store.packFiles(id)) continue;
      if (!p.pack || p.index === undefined || !(await this.store.adoptPack(id, p.pack, p.index))) return `pack ${id}: missing its file or index, or the index does not fit the pack`;
    }
    await this.cache.put(key, value);
    return undefined;
  }

  /** Push every node of `keys` the local cache holds, with what it names; one artifact per node. */
  async push(keys: Iterable<string>): Promise<void> {
    for (const key of keys) {
      this.opts.signal?.throwIfAborted();
      const text = await this.cache.text(key);
      if (text === undefined) continue;
      const dir = await this.tempDir();
      try {
        const tag = nodeTag(key);
        await this.layout(dir, key, text, tag);
        const pushed = await pushImage(dir, tag, this.tagged(tag), this.registry()).catch((e: unknown) => {
          throw e instanceof TransportError ? new RegistryCacheError(`cache-to ${e.message}`) : e;
        });
        this.stats.pushed++;
        for (const b of pushed.blobs) {
          if (b.status === 'skipped' || b.status === 'mounted') this.stats.blobsSkipped++;
          else this.stats.blobsUploaded++;
        }
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
  }

  /** An OCI layout in `dir` holding node `key` as an artifact: blobs hard-linked from the store (copied across file systems). */
  private async layout(dir: string, key: string, text: string, tag: string): Promise<void> {
    const layers: Descriptor[] = [];
    const packs = new Set<string>();
    if (this.store.packFiles(key)) packs.add(key);
    for (const d of [...namedDigests(JSON.parse(text) as unknown)].sort()) {
      const pack = this.store.packOf(d);
      if (pack) packs.add(pack);
      else if (await this.store.has(asSha256(d))) layers.push({ mediaType: BLOB_MEDIA, digest: `sha256:${d}`, size: await linkBlob(dir, this.store.pathOf(asSha256(d)), d) });
    }
    for (const id of [...packs].sort()) {
      const files = this.store.packFiles(id);
      if (!files) continue;
      for (const [file, mediaType] of [[files.pack, PACK_MEDIA], [files.index, PACK_INDEX_MEDIA]] as const) {
        const hex = await hashFile(file);
        layers.push({ mediaType, digest: `sha256:${hex}`, size: await linkBlob(dir, file, hex), annotations: { [PACK_ANNOTATION]: id } });
      }
    }
    const config = await writeBlob(dir, text);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: ARTIFACT_TYPE,
      config: { mediaType: NODE_MEDIA, ...config },
      layers,
      annotations: { [KEY_ANNOTATION]: key },
    });
    const m = await writeBlob(dir, manifest);
    await fs.writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await fs.writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }] }));
  }
}

export class RegistryCacheError extends Error {}

/** The file of a layout's blob named by a descriptor, or undefined when the descriptor is not one. */
function blobFile(dir: string, d: Descriptor | undefined): string | undefined {
  const digest = d?.digest;
  if (typeof digest !== 'string' || !digest.startsWith('sha256:') || !HEX64.test(digest.slice(7))) return undefined;
  return path.join(dir, 'blobs', 'sha256', digest.slice(7));
}

/** A JSON blob of the layout, capped and checked against its descriptor's digest; or why not. */
async function verifiedJson(dir: string, d: Descriptor | undefined, cap: number): Promise<unknown> {
  const file = blobFile(dir, d);
  if (!file) return 'its descriptor names no sha256 blob';
  const st = await fs.lstat(file).catch(() => undefined);
  if (!st?.isFile()) return 'its blob is missing';
  if (st.size > cap) return `its blob is ${st.size} bytes (at most ${cap})`;
  const bytes = await fs.readFile(file);
  if (createHash('sha256').update(bytes).digest('hex') !== d!.digest.slice(7)) return `its bytes do not match ${d!.digest}`;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return 'not JSON';
  }
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

async function linkBlob(dir: string, src: string, hex: string): Promise<number> {
  const dest = path.join(dir, 'blobs', 'sha256', hex);
  await fs.link(src, dest).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST') return;
    await fs.copyFile(src, dest);
  });
  return (await fs.stat(dest)).size;
}

async function writeBlob(dir: string, text: string): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(text);
  const hex = createHash('sha256').update(bytes).digest('hex');
  await fs.writeFile(path.join(dir, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.byteLength };
}
