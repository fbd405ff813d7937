// Reading an existing image — an OCI layout (folder or tar), a docker-archive
// (ours, `docker save`'s, `podman save`'s) — into its layers' own trees and the
// states they make. Archives are never copied: their members are found by
// reading tar headers at their offsets (seeking past contents, as `tar -t`
// does) and each layer is read in place. Without contents (`contents: false`)
// an uncompressed layer is listed the same way, headers only (sizes and modes,
// no per-file digests), in a pass that still hashes the whole layer and checks
// it against its digests.
//
// Everything here is untrusted. Digests pass parseDigest before they name a
// member, a blob or a pack; JSON documents are capped before they are read and
// checked against their descriptor's digest; layer bytes are hashed as they
// stream and checked against the blob digest and the config's diff_id; in an
// OCI folder, members that are symlinks or special files are refused.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DigestError, asSha256, parseDigest, type Sha256 } from '../../../shared/brand';
import { applyLayer } from '../model/apply';
import { ROOT } from '../model/path';
import { emptyTree, type Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import { TarError, cleanName, readTar, scanTar } from './tar';
import { scanHeaders, type HeaderRecord } from './tar-headers';
import { headerTree, importTar } from './tar-import';

export interface ReadLayer {
  /** docker-archive: the layer's diff_id; OCI: the digest of its blob (compressed or not). Verified when contents are read. */
  digest: Sha256;
  /** The layer's own entries, whiteouts included as files named .wh.*. */
  tree: Tree;
  /** The layer as the image stores it, when its bytes were read (and so verified). */
  blob?: StoredLayer;
}

/** A layer blob as an image stores it: what a manifest's descriptor and the config's diff_ids say of it. */
export interface StoredLayer {
  /** sha256 of the bytes as stored (compressed or not). */
  digest: Sha256;
  size: number;
  /** The descriptor's media type (OCI); for a docker-archive, the OCI type of its compression. */
  mediaType: string;
  /** sha256 of the uncompressed tar. */
  diffId: Sha256;
}

/** What names an image without reading its layers: its manifest (OCI) and its config. */
export interface ImageIdentity {
  /** The OCI manifest's digest; a docker-archive has none. */
  manifestDigest?: Sha256;
  /** The config's digest: docker's image id. */
  configDigest: Sha256;
  config: unknown;
}

export interface ReadImage extends ImageIdentity {
  layers: ReadLayer[];
  /** State after each layer, bottom first. */
  states: Tree[];
}

export interface ReadImageOptions {
  /**
   * true (default): every file's content goes into the store (one pack per
   * layer) and entries carry digests. false: headers only, no per-file
   * digests — what sizes and waste need — the layer still verified.
   */
  contents?: boolean;
  /** An OCI layout's manifest by its ref.name annotation (`oci:PATH:TAG`); default: the first. */
  tag?: string;
  /** Also put each layer's blob, byte for byte as stored, into the store (a base image's layers are reused as they are). */
  keepBlobs?: boolean;
}

/** What is wrong with an image file or folder, naming it; never tar internals alone. */
export class ImageOpenError extends Error {}

/** manifest.json, index.json, manifests and configs above this are refused unread. */
export const MAX_JSON = 4 << 20;

/** Is `target` an image (rather than a project folder): a file, an OCI layout, or an unpacked `docker save`? */
export async function isImagePath(target: string): Promise<boolean> {
  const st = await fs.stat(target).catch(() => undefined);
  if (!st) return false;
  if (st.isFile()) return !target.endsWith('.yaml') && !target.endsWith('.yml');
  const has = (name: string) => fs.lstat(path.join(target, name)).then(() => true, () => false);
  if (await has('oci-layout')) return true;
  return (await has('manifest.json')) && !(await has('scratchyard.yaml'));
}

/** One layer to read: where its bytes are and what they must hash to. */
interface LayerPlan {
  digest: Sha256;
  member: Member;
  /** sha256 of the stored bytes, when the image states it (OCI descriptors, blobs/sha256/<hex> names). */
  blob?: Sha256;
  /** sha256 of the uncompressed tar: the config's diff_id. */
  diffId?: Sha256;
  /** The field that gave the diff_id, for the message. */
  diffIdField?: string;
  /** The descriptor's media type (OCI layouts). */
  mediaType?: string;
}

interface ImagePlan extends ImageIdentity {
  plans: LayerPlan[];
}

export async function readImage(store: BlobStore, target: string, opts: ReadImageOptions = {}): Promise<ReadImage> {
  const { plans, ...identity } = await planImage(target, opts.tag, true);
  const layers: ReadLayer[] = [];
  const states: Tree[] = [];
  let state = emptyTree();
  for (const [i, plan] of plans.entries()) {
    const layer = await layerError(target, i, plan, () => readLayer(store, plan, opts.contents !== false, !!opts.keepBlobs));
    layers.push(layer);
    state = applyLayer(state, layer.tree);
    states.push(state);
  }
  return { ...identity, layers, states };
}

/** A layer's fault, whatever it is, as an ImageOpenError naming the image, the layer and its member. */
async function layerError<T>(target: string, i: number, plan: LayerPlan, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    const why = e instanceof TarError || e instanceof ImageOpenError ? e.message : `not a readable tar (${(e as Error).message})`;
    throw new ImageOpenError(`${target}: layer ${i} (sha256:${plan.digest.slice(0, 12)}, ${plan.member.name}): ${why}`);
  }
}

/** What scanImageHeaders asks of its caller for each layer: take its entries, then the layer once verified. */
export interface LayerHeaderVisitor {
  /** One entry, in a record reused for the next: a thrown TarError is the layer's fault, named as readImage names it. */
  entry(h: HeaderRecord): void;
  /** Every entry given and the layer's digests checked (a throw here is not wrapped: readImage's applyLayer's isn't). */
  end(): void;
}

/**
 * Read-only inspection's read (issue 17): each layer's entries from its tar
 * headers (oci/tar-headers.ts), no tree, nothing stored; every layer's bytes
 * still hashed in the one pass that reads them (an uncompressed layer is read
 * whole for its digest, the listing seeks nothing) and checked against the
 * digests the image states. Errors are readImage's, word for word.
 */
export async function scanImageHeaders(target: string, opts: Pick<ReadImageOptions, 'tag'>, layer: (i: number, digest: Sha256) => LayerHeaderVisitor): Promise<ImageIdentity & { digests: Sha256[] }> {
  const { plans, ...identity } = await planImage(target, opts.tag, true);
  for (const [i, plan] of plans.entries()) {
    const visit = layer(i, plan.digest);
    await layerError(target, i, plan, () => scanLayer(plan, visit));
    visit.end();
  }
  return { ...identity, digests: plans.map((p) => p.digest) };
}

async function scanLayer(plan: LayerPlan, visit: LayerHeaderVisitor): Promise<void> {
  const { member } = plan;
  const fd = member.open();
  try {
    const head = Buffer.alloc(2);
    readSync(fd, head, 0, Math.min(2, member.size), member.start);
    if (!(member.size >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
      const hash = createHash('sha256');
      scanHeaders(fd, member.start, member.start + member.size, hash, (h) => visit.entry(h));
      checkLayer(plan, hash, hash, { raw: member.size }, false);
      return;
    }
  } finally {
    closeSync(fd);
  }
  // gzip: decompressed as it streams, both digests taken on the way (readLayer's stream path).
  const blobHash = createHash('sha256');
  const diffHash = createHash('sha256');
  const count = { raw: 0 };
  const raw: Readable = createReadStream('', { fd: member.open(), start: member.start, end: member.start + member.size - 1 });
  try {
    raw.on('data', (c: Buffer) => {
      blobHash.update(c);
      count.raw += c.length;
    });
    const gunzip = raw.pipe(createGunzip());
    raw.on('error', (e) => gunzip.destroy(e));
    for await (const { header } of readTar(hashing(gunzip, diffHash))) visit.entry(header);
  } finally {
    raw.destroy();
  }
  checkLayer(plan, blobHash, diffHash, count, true);
}

/** The image's manifest and config digests and its config, reading its JSON documents only (no layer bytes). */
export async function readImageIdentity(target: string, opts: Pick<ReadImageOptions, 'tag'> = {}): Promise<ImageIdentity> {
  const { manifestDigest, configDigest, config } = await planImage(target, opts.tag, false);
  return { ...(manifestDigest ? { manifestDigest } : {}), configDigest, config };
}

/** `layers`: find each layer's member too (false: the JSON documents only, the layers may be absent). */
async function planImage(target: string, tag: string | undefined, layers: boolean): Promise<ImagePlan> {
  const st = await fs.stat(target).catch(() => undefined);
  if (!st) throw new ImageOpenError(`${target}: no such file or folder`);
  try {
    const members = st.isDirectory() ? await ociFolder(target) : archiveMembers(target, st.size);
    if (await members.has('manifest.json')) {
      if (tag !== undefined) throw new ImageOpenError(`a docker-archive has no OCI ref.name "${tag}" to pick (that is oci:PATH:TAG)`);
      return await dockerArchive(members, layers);
    }
    if (await members.has('index.json')) return await ociLayout(members, tag, layers);
    throw new ImageOpenError(
      st.isDirectory()
        ? 'a folder but not an OCI image layout (no index.json)'
        : 'a tar archive but not an image (neither manifest.json of a docker-archive nor index.json of an OCI layout)',
    );
  } catch (e) {
    if (e instanceof ImageOpenError || e instanceof DigestError || e instanceof TarError) throw new ImageOpenError(`${target}: ${e.message}`);
    throw e;
  }
}

// ---- the two formats ------------------------------------------------------------

const BLOB_NAME = /^blobs\/sha256\/([0-9a-f]{64})$/;

async function dockerArchive(members: Members, layers: boolean): Promise<ImagePlan> {
  const manifest = parseJson('manifest.json', await members.bytes('manifest.json'));
  if (!Array.isArray(manifest) || !manifest[0] || typeof manifest[0].Config !== 'string' || !Array.isArray(manifest[0].Layers)) {
    throw new ImageOpenError('manifest.json is not a docker-archive manifest (expected [{Config, Layers}])');
  }
  const m = manifest[0] as { Config: string; Layers: unknown[] };
  const configName = memberName(m.Config, 'manifest.json [0].Config');
  const configBytes = await members.bytes(configName);
  // docker save names the config by its digest (<hex>.json, or blobs/sha256/<hex>): hold it to that.
  const named = /^(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(configName)?.[1];
  if (named) checkDigest(configBytes, asSha256(named), `config ${configName}`, 'its name says');
  const config = parseJson(configName, configBytes);
  const diffIds = diffIdsOf(config, configName, m.Layers.length, 'manifest.json [0].Layers');
  const plans: LayerPlan[] = [];
  for (const [i, raw] of (layers ? m.Layers : []).entries()) {
    const name = memberName(raw, `manifest.json [0].Layers[${i}]`);
    const blob = BLOB_NAME.exec(name)?.[1];
    plans.push({
      digest: diffIds[i],
      member: await members.member(name),
      ...(blob ? { blob: asSha256(blob) } : {}),
      diffId: diffIds[i],
      diffIdField: `${configName} rootfs.diff_ids[${i}]`,
    });
  }
  return { plans, config, configDigest: asSha256(createHash('sha256').update(configBytes).digest('hex')) };
}

interface Descriptor {
  digest: Sha256;
  size?: number;
}

async function ociLayout(members: Members, tag: string | undefined, layers: boolean): Promise<ImagePlan> {
  const index = parseJson('index.json', await members.bytes('index.json')) as { manifests?: unknown };
  if (!Array.isArray(index?.manifests) || !index.manifests.length) throw new ImageOpenError('index.json lists no manifest');
  const at = tag === undefined ? 0 : index.manifests.findIndex((m) => refName(m) === tag);
  if (at < 0) {
    const names = index.manifests.map(refName).filter((n) => n !== undefined);
    throw new ImageOpenError(`index.json has no manifest named "${tag}" (${names.length ? `names: ${names.slice(0, 10).join(', ')}` : 'none is named'})`);
  }
  let where = `index.json manifests[${at}]`;
  let desc = descriptor(index.manifests[at], where);
  let manifest = (await blobJson(members, desc, where)) as { config?: unknown; layers?: unknown; manifests?: unknown };
  // An index of indexes (multi-platform): take the first image manifest.
  for (let hops = 0; manifest?.config === undefined && Array.isArray(manifest?.manifests) && manifest.manifests.length && hops < 4; hops++) {
    where = `index sha256:${desc.digest.slice(0, 12)} manifests[0]`;
    desc = descriptor(manifest.manifests[0], where);
    manifest = (await blobJson(members, desc, where)) as typeof manifest;
  }
  if (manifest?.config === undefined || !Array.isArray(manifest.layers)) throw new ImageOpenError('the first manifest of index.json is not an image manifest');
  const doc = `manifest sha256:${desc.digest.slice(0, 12)}`;
  const configDesc = descriptor(manifest.config, `${doc} config`);
  const config = await blobJson(members, configDesc, `${doc} config`);
  const configName = `config sha256:${configDesc.digest.slice(0, 12)}`;
  const diffIds = diffIdsOf(config, configName, manifest.layers.length, `${doc} layers`);
  const plans: LayerPlan[] = [];
  for (const [i, raw] of (layers ? (manifest.layers as unknown[]) : []).entries()) {
    const d = descriptor(raw, `${doc} layers[${i}]`);
    const member = await members.member(`blobs/sha256/${d.digest}`);
    if (d.size !== undefined && d.size !== member.size) throw new ImageOpenError(`${doc} layers[${i}] says ${d.size} bytes, blob sha256:${d.digest.slice(0, 12)} has ${member.size}`);
    const mediaType = (raw as { mediaType?: unknown }).mediaType;
    if (mediaType !== undefined && (typeof mediaType !== 'string' || !MEDIA_TYPE.test(mediaType))) throw new ImageOpenError(`${doc} layers[${i}].mediaType: ${JSON.stringify(mediaType).slice(0, 80)} is not a media type`);
    plans.push({ digest: d.digest, member, blob: d.digest, diffId: diffIds[i], diffIdField: `${configName} rootfs.diff_ids[${i}]`, ...(mediaType ? { mediaType } : {}) });
  }
  return { plans, config, manifestDigest: desc.digest, configDigest: configDesc.digest };
}

/** RFC 6838's type/subtype (with a +suffix), as descriptors carry it. */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function refName(m: unknown): string | undefined {
  const n = (m as { annotations?: Record<string, unknown> } | null)?.annotations?.['org.opencontainers.image.ref.name'];
  return typeof n === 'string' ? n : undefined;
}

function descriptor(raw: unknown, where: string): Descriptor {
  const d = raw as { digest?: unknown; size?: unknown } | null;
  if (typeof d !== 'object' || d === null) throw new ImageOpenError(`${where}: not a descriptor (expected {digest, size})`);
  const digest = parseDigest(d.digest, `${where}.digest`);
  if (d.size !== undefined && !(typeof d.size === 'number' && Number.isSafeInteger(d.size) && d.size >= 0)) throw new ImageOpenError(`${where}.size: ${JSON.stringify(d.size)} is not a byte count`);
  return { digest, ...(typeof d.size === 'number' ? { size: d.size } : {}) };
}

/** A JSON blob named by a descriptor: capped, its size and digest checked, then parsed. */
async function blobJson(members: Members, d: Descriptor, where: string): Promise<unknown> {
  const name = `blobs/sha256/${d.digest}`;
  if (d.size !== undefined && d.size > MAX_JSON) throw new ImageOpenError(`${where}: ${d.size} bytes, more than the ${MAX_JSON} a JSON document may have`);
  const bytes = await members.bytes(name);
  if (d.size !== undefined && d.size !== bytes.length) throw new ImageOpenError(`${where} says ${d.size} bytes, ${name} has ${bytes.length}`);
  checkDigest(bytes, d.digest, `${where} (${name})`, 'its descriptor says');
  return parseJson(name, bytes);
}

function diffIdsOf(config: unknown, configName: string, layers: number, layersField: string): Sha256[] {
  const ids = (config as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs?.diff_ids;
  if (!Array.isArray(ids)) throw new ImageOpenError(`${configName}: no rootfs.diff_ids`);
  if (ids.length !== layers) throw new ImageOpenError(`${configName}: rootfs.diff_ids lists ${ids.length} layers, ${layersField} lists ${layers}`);
  return ids.map((d, i) => parseDigest(d, `${configName} rootfs.diff_ids[${i}]`));
}

function memberName(raw: unknown, where: string): string {
  if (typeof raw !== 'string' || raw === '') throw new ImageOpenError(`${where}: expected a member name, got ${JSON.stringify(raw)}`);
  try {
    return cleanName(raw);
  } catch (e) {
    if (e instanceof TarError) throw new ImageOpenError(`${where}: ${e.message}`);
    throw e;
  }
}

function checkDigest(bytes: Buffer, want: Sha256, what: string, claim: string): void {
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== want) throw new ImageOpenError(`${what}: the bytes hash to sha256:${got.slice(0, 12)}…, ${claim} sha256:${want.slice(0, 12)}…`);
}

function parseJson(name: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ImageOpenError(`${name} is not valid JSON (${(e as Error).message})`);
  }
}

// ---- one layer, verified as it streams --------------------------------------------

async function readLayer(store: BlobStore, plan: LayerPlan, contents: boolean, keepBlob: boolean): Promise<ReadLayer> {
  const { member } = plan;
  const fd = member.open();
  let gzip: boolean;
  try {
    const head = Buffer.alloc(2);
    readSync(fd, head, 0, Math.min(2, member.size), member.start);
    gzip = member.size >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    // Headers only, in one pass that also hashes every byte (the listing skips contents, the digest does not).
    if (!contents && !gzip && !keepBlob) {
      const hash = createHash('sha256');
      const tree = headerTree(scanTar(fd, member.start, member.start + member.size, hash), ROOT);
      const { blob } = await verified(plan, Promise.resolve(tree), hash, hash, { raw: member.size }, false);
      return { digest: plan.digest, tree, blob };
    }
  } finally {
    closeSync(fd);
  }
  const blobHash = createHash('sha256');
  const diffHash = gzip ? createHash('sha256') : blobHash;
  const count = { raw: 0 };
  let raw: Readable | undefined;
  let tarBytes: AsyncIterable<Buffer>;
  if (member.size === 0) tarBytes = emptyStream();
  else {
    // Its own descriptor (closed by the stream), so no read in flight can outlive it.
    raw = createReadStream('', { fd: member.open(), start: member.start, end: member.start + member.size - 1 });
    if (gzip) {
      raw.on('data', (c: Buffer) => {
        blobHash.update(c);
        count.raw += c.length;
      });
      const gunzip = raw.pipe(createGunzip());
      raw.on('error', (e) => gunzip.destroy(e));
      tarBytes = hashing(gunzip, diffHash);
    } else tarBytes = hashing(raw, blobHash, count);
  }
  let tree: Tree;
  let blob: StoredLayer;
  try {
    if (!contents) ({ tree, blob } = await verified(plan, importTar(undefined, tarBytes, ROOT), blobHash, diffHash, count, gzip));
    else {
      const pack = await store.beginPack(`image-layer-${plan.digest}`);
      try {
        ({ tree, blob } = await verified(plan, importTar(pack, tarBytes, ROOT), blobHash, diffHash, count, gzip));
        await pack.finish();
      } catch (e) {
        await pack.abort();
        throw e;
      }
    }
  } finally {
    raw?.destroy();
  }
  if (keepBlob) await keep(store, member, blob.digest);
  return { digest: plan.digest, tree, blob };
}

/** The member's bytes into the store as they are; read again, so held to the digest just verified. */
async function keep(store: BlobStore, member: Member, digest: Sha256): Promise<void> {
  if (await store.has(digest)) return;
  const put = member.size === 0 ? await store.putBytes('') : await store.putStream(createReadStream('', { fd: member.open(), start: member.start, end: member.start + member.size - 1 }));
  if (put.digest !== digest) throw new ImageOpenError(`changed while read: the blob now hashes to sha256:${put.digest.slice(0, 12)}…, not sha256:${digest.slice(0, 12)}…`);
}

/** The tree, once the bytes it came from are checked against the digests the image states. */
async function verified(plan: LayerPlan, reading: Promise<Tree>, blobHash: Hash, diffHash: Hash, count: { raw: number }, gzip: boolean): Promise<{ tree: Tree; blob: StoredLayer }> {
  const tree = await reading;
  return { tree, blob: checkLayer(plan, blobHash, diffHash, count, gzip) };
}

/** The layer as stored, once its bytes (all read) hash to the digests the image states. */
function checkLayer(plan: LayerPlan, blobHash: Hash, diffHash: Hash, count: { raw: number }, gzip: boolean): StoredLayer {
  if (count.raw !== plan.member.size) throw new ImageOpenError(`read ${count.raw} of the blob's ${plan.member.size} bytes`);
  const blob = blobHash.digest('hex');
  const diff = diffHash === blobHash ? blob : diffHash.digest('hex');
  if (plan.blob && blob !== plan.blob) throw new ImageOpenError(`the blob's bytes hash to sha256:${blob.slice(0, 12)}…, not sha256:${plan.blob.slice(0, 12)}… as its name and descriptor say`);
  if (plan.diffId && diff !== plan.diffId) throw new ImageOpenError(`the uncompressed tar hashes to sha256:${diff.slice(0, 12)}…, not sha256:${plan.diffId.slice(0, 12)}… as ${plan.diffIdField} says`);
  return { digest: asSha256(blob), size: plan.member.size, mediaType: layerMediaType(plan.mediaType, gzip), diffId: asSha256(diff) };
}

/** Plain and gzip layers, as docker and OCI name them: their type is read from the bytes, whatever the descriptor said. */
const TAR_LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);

/**
 * The OCI media type of a layer whose bytes are a tar or a gzip of one (the layers this reads).
 * A descriptor's own type is kept only when it is none of those: skopeo's docker-daemon source
 * labels plain tars as gzip, and an OCI layout that repeats that is refused by umoci and skopeo.
 */
function layerMediaType(stated: string | undefined, gzip: boolean): string {
  if (stated !== undefined && !TAR_LAYER_TYPES.has(stated)) return stated;
  return gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar';
}

async function* hashing(src: AsyncIterable<Buffer>, hash: Hash, count?: { raw: number }): AsyncGenerator<Buffer> {
  for await (const c of src) {
    hash.update(c);
    if (count) count.raw += c.length;
    yield c;
  }
}

async function* emptyStream(): AsyncGenerator<Buffer> {}

// ---- members of a folder or an archive ---------------------------------------------

/** A member's bytes: a byte range of a file, opened without following a final symlink. */
interface Member {
  name: string;
  start: number;
  size: number;
  open(): number;
}

interface Members {
  has(name: string): Promise<boolean>;
  /** A JSON document's bytes, refused unread above MAX_JSON. */
  bytes(name: string): Promise<Buffer>;
  member(name: string): Promise<Member>;
}

function readExactly(fd: number, size: number, at: number, name: string): Buffer {
  const buf = Buffer.alloc(size);
  for (let done = 0; done < size; ) {
    const n = readSync(fd, buf, done, size - done, at + done);
    if (n === 0) throw new ImageOpenError(`${name}: truncated at byte ${done} of ${size}`);
    done += n;
  }
  return buf;
}

async function memberBytes(m: Member): Promise<Buffer> {
  if (m.size > MAX_JSON) throw new ImageOpenError(`${m.name}: ${m.size} bytes, more than the ${MAX_JSON} a JSON document may have`);
  const fd = m.open();
  try {
    return readExactly(fd, m.size, m.start, m.name);
  } finally {
    closeSync(fd);
  }
}

/** An OCI layout folder: blobs/sha256 and every member must be real folders and files. */
async function ociFolder(dir: string): Promise<Members> {
  for (const sub of ['blobs', 'blobs/sha256']) {
    const st = await fs.lstat(path.join(dir, sub)).catch(() => undefined);
    if (st && !st.isDirectory()) throw new ImageOpenError(`${sub} is ${st.isSymbolicLink() ? 'a symlink' : 'not a folder'} (refused: an OCI layout's blobs are its own files)`);
  }
  const openMember = (name: string): { fd: number; size: number } => {
    let fd: number;
    try {
      fd = openSync(path.join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new ImageOpenError(`${name} is a symlink (refused: an OCI layout's members are its own files)`);
      if (code === 'ENOENT') throw new ImageOpenError(`${name} is missing`);
      throw new ImageOpenError(`${name}: ${(e as Error).message}`);
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw new ImageOpenError(`${name} is not a regular file (refused)`);
    }
    return { fd, size: st.size };
  };
  const member = (name: string): Member => {
    const { fd, size } = openMember(name);
    closeSync(fd);
    return {
      name,
      start: 0,
      size,
      open: () => {
        const o = openMember(name);
        if (o.size !== size) {
          closeSync(o.fd);
          throw new ImageOpenError(`${name} changed size while read`);
        }
        return o.fd;
      },
    };
  };
  return {
    has: async (name) => (await fs.lstat(path.join(dir, name)).catch(() => undefined)) !== undefined,
    bytes: async (name) => memberBytes(member(name)),
    member: async (name) => member(name),
  };
}

/** The archive file, opened without waiting on a FIFO put in its place, and only if it is a regular file. */
function openArchive(file: string): number {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new ImageOpenError('not a regular file');
  }
  return fd;
}

/** The members of an archive by name, with their byte ranges; only headers are read. */
function archiveMembers(file: string, fileSize: number): Members {
  const fd = openArchive(file);
  const ranges = new Map<string, { start: number; size: number }>();
  try {
    const magic = Buffer.alloc(2);
    readSync(fd, magic, 0, 2, 0);
    if (magic[0] === 0x1f && magic[1] === 0x8b) throw new ImageOpenError('a gzip-compressed file; gunzip it first (docker save and podman save write plain tars)');
    // Names come out of scanTar clean (relative, no ".."), so a climbing member is refused there, named.
    for (const h of scanTar(fd, 0, fileSize)) if (h.type === 'file') ranges.set(h.name, { start: h.dataOffset, size: h.size });
  } finally {
    closeSync(fd);
  }
  const find = (name: string) => {
    const r = ranges.get(name);
    if (!r) throw new ImageOpenError(`no ${name} in the archive`);
    return r;
  };
  const member = (name: string): Member => ({ name, ...find(name), open: () => openArchive(file) });
  return {
    has: async (name) => ranges.has(name),
    bytes: async (name) => memberBytes(member(name)),
    member: async (name) => member(name),
  };
}
