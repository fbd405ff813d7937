// Reading an existing image — an OCI layout (folder or tar), a docker-archive
// (ours, `docker save`'s, `podman save`'s) — into its layers' own trees and the
// states they make. Archives are never copied: their members are found by
// reading tar headers at their offsets (seeking past contents, as `tar -t`
// does) and each layer is read in place. Without contents (`contents: false`)
// an uncompressed layer is read the same way, headers only: sizes and modes,
// no digests.
import { closeSync, createReadStream, openSync, readSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { applyLayer } from '../model/apply';
import { ImagePathError, ROOT, strictImagePath } from '../model/path';
import { emptyTree, putEntry, TreeConflictError, type Entry, type Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import { TarImportError, importTar, type ContentSink } from './tar-import';

export interface ReadLayer {
  /** Digest of the blob as stored in the image (compressed or not). */
  digest: Sha256;
  /** The layer's own entries, whiteouts included as files named .wh.*. */
  tree: Tree;
}

export interface ReadImage {
  layers: ReadLayer[];
  /** State after each layer, bottom first. */
  states: Tree[];
  config: unknown;
}

export interface ReadImageOptions {
  /**
   * true (default): every file's content goes into the store (one pack per
   * layer) and entries carry digests. false: headers only, no digests — what
   * sizes and waste need, at the speed of listing.
   */
  contents?: boolean;
}

/** What is wrong with an image file or folder, naming it; never tar internals alone. */
export class ImageOpenError extends Error {}

/** Is `target` an image (rather than a project folder)? */
export async function isImagePath(target: string): Promise<boolean> {
  const st = await fs.stat(target).catch(() => undefined);
  if (!st) return false;
  if (st.isFile()) return !target.endsWith('.yaml') && !target.endsWith('.yml');
  return fs
    .access(path.join(target, 'oci-layout'))
    .then(() => true)
    .catch(() => false);
}

interface LayerFile {
  digest: Sha256;
  /** Where the layer's bytes are: a file and a byte range in it. */
  file: string;
  start: number;
  size: number;
}

export async function readImage(store: BlobStore, target: string, opts: ReadImageOptions = {}): Promise<ReadImage> {
  const st = await fs.stat(target).catch(() => undefined);
  if (!st) throw new ImageOpenError(`${target}: no such file or folder`);
  const members = st.isDirectory() ? await ociFolder(target) : await archiveMembers(target, st.size);
  let layerFiles: LayerFile[];
  let config: unknown;
  if (members.has('manifest.json')) {
    const manifest = await members.json('manifest.json');
    if (!Array.isArray(manifest) || !manifest[0] || typeof manifest[0].Config !== 'string' || !Array.isArray(manifest[0].Layers)) {
      throw new ImageOpenError(`${target}: manifest.json is not a docker-archive manifest (expected [{Config, Layers}])`);
    }
    const m = manifest[0] as { Config: string; Layers: string[] };
    config = await members.json(m.Config);
    const diffIds = ((config as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? []).map((d) => d.replace(/^sha256:/, ''));
    layerFiles = m.Layers.map((name, i) => ({ digest: (diffIds[i] ?? /([0-9a-f]{64})/.exec(name)?.[1] ?? '') as Sha256, ...members.range(name) }));
  } else if (members.has('index.json')) {
    const index = (await members.json('index.json')) as { manifests?: { digest: string; mediaType?: string }[] };
    if (!index.manifests?.length) throw new ImageOpenError(`${target}: index.json lists no manifest`);
    let manifest = (await members.json(blobName(index.manifests[0].digest))) as { config?: { digest: string }; layers?: { digest: string }[]; manifests?: { digest: string }[] };
    // An index of indexes (multi-platform): take the first image manifest.
    for (let hops = 0; !manifest.config && manifest.manifests?.length && hops < 4; hops++) manifest = (await members.json(blobName(manifest.manifests[0].digest))) as typeof manifest;
    if (!manifest.config || !manifest.layers) throw new ImageOpenError(`${target}: the first manifest of index.json is not an image manifest`);
    config = await members.json(blobName(manifest.config.digest));
    layerFiles = manifest.layers.map((l) => ({ digest: l.digest.replace(/^sha256:/, '') as Sha256, ...members.range(blobName(l.digest)) }));
  } else {
    throw new ImageOpenError(
      st.isDirectory()
        ? `${target}: a folder but not an OCI image layout (no index.json)`
        : `${target}: a tar archive but not an image (neither manifest.json of a docker-archive nor index.json of an OCI layout)`,
    );
  }
  const layers: ReadLayer[] = [];
  const states: Tree[] = [];
  let state = emptyTree();
  for (const [i, lf] of layerFiles.entries()) {
    let tree: Tree;
    try {
      tree = await readLayer(store, lf, opts.contents !== false);
    } catch (e) {
      const why = e instanceof TarImportError || e instanceof ImageOpenError ? e.message : `not a readable tar (${(e as Error).message})`;
      throw new ImageOpenError(`${target}: layer ${i} (sha256:${lf.digest.slice(0, 12)}): ${why}`);
    }
    layers.push({ digest: lf.digest, tree });
    state = applyLayer(state, tree);
    states.push(state);
  }
  return { layers, states, config };
}

async function readLayer(store: BlobStore, lf: LayerFile, contents: boolean): Promise<Tree> {
  const head = Buffer.alloc(2);
  const fd = openSync(lf.file, 'r');
  try {
    readSync(fd, head, 0, 2, lf.start);
    const gzip = lf.size >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    if (!contents && !gzip) return headerTree(scanTar(fd, lf.start, lf.start + lf.size, 'layer'));
  } finally {
    closeSync(fd);
  }
  const raw = lf.size === 0 ? Readable.from([]) : createReadStream(lf.file, { start: lf.start, end: lf.start + lf.size - 1 });
  const bytes = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  if (!contents) return importTar(DRAIN, bytes, ROOT);
  const pack = await store.beginPack(`image-layer-${lf.digest}`);
  try {
    const tree = await importTar(pack, bytes, ROOT);
    await pack.finish();
    return tree;
  } catch (e) {
    await pack.abort();
    throw e;
  }
}

/** Contents read and dropped (a compressed layer read without contents): no digests. */
const DRAIN: ContentSink = {
  async add(chunks) {
    let size = 0;
    for await (const c of chunks) size += c.length;
    return { digest: undefined as unknown as Sha256, size };
  },
};

function blobName(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

interface Members {
  has(name: string): boolean;
  json(name: string): Promise<unknown>;
  range(name: string): { file: string; start: number; size: number };
}

async function ociFolder(dir: string): Promise<Members> {
  const sizes = new Map<string, number>();
  const find = (name: string) => {
    const size = sizes.get(name);
    if (size === undefined) throw new ImageOpenError(`${dir}: ${name} is missing`);
    return size;
  };
  const look = async (name: string) => {
    const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
    if (st?.isFile()) sizes.set(name, st.size);
  };
  await Promise.all(['manifest.json', 'index.json'].map(look));
  const blobs = await fs.readdir(path.join(dir, 'blobs', 'sha256')).catch(() => [] as string[]);
  await Promise.all(blobs.map((b) => look(`blobs/sha256/${b}`)));
  return {
    has: (name) => sizes.has(name),
    json: async (name) => {
      find(name);
      return parseJson(dir, name, await fs.readFile(path.join(dir, name), 'utf8'));
    },
    range: (name) => ({ file: path.join(dir, name), start: 0, size: find(name) }),
  };
}

/** The members of an archive by name, with their byte ranges; only headers are read. */
async function archiveMembers(file: string, fileSize: number): Promise<Members> {
  const fd = openSync(file, 'r');
  const ranges = new Map<string, { start: number; size: number }>();
  try {
    const magic = Buffer.alloc(2);
    readSync(fd, magic, 0, 2, 0);
    if (magic[0] === 0x1f && magic[1] === 0x8b) throw new ImageOpenError(`${file}: a gzip-compressed file; gunzip it first (docker save and podman save write plain tars)`);
    for (const h of scanTar(fd, 0, fileSize, 'archive', file)) {
      if (h.type !== 'file') continue;
      if (h.dataOffset + h.size > fileSize) throw new ImageOpenError(`${file}: truncated: ${h.name} needs ${h.dataOffset + h.size} bytes, the file has ${fileSize}`);
      ranges.set(path.posix.normalize(h.name), { start: h.dataOffset, size: h.size });
    }
  } catch (e) {
    if (e instanceof ImageOpenError) throw e;
    throw new ImageOpenError(`${file}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
  const find = (name: string) => {
    const r = ranges.get(path.posix.normalize(name));
    if (!r) throw new ImageOpenError(`${file}: no ${name} in the archive`);
    return r;
  };
  return {
    has: (name) => ranges.has(path.posix.normalize(name)),
    json: async (name) => {
      const r = find(name);
      const buf = Buffer.alloc(r.size);
      const h = await fs.open(file, 'r');
      try {
        await h.read(buf, 0, r.size, r.start);
      } finally {
        await h.close();
      }
      return parseJson(file, name, buf.toString('utf8'));
    },
    range: (name) => ({ file, ...find(name) }),
  };
}

function parseJson(where: string, name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ImageOpenError(`${where}: ${name} is not valid JSON (${(e as Error).message})`);
  }
}

// ---- tar headers read in place ------------------------------------------------

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo' | 'other';

export interface TarHeader {
  name: string;
  linkname: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* values, base64 (binary-safe, as importTar keeps them). */
  xattrs?: Record<string, string>;
  /** Offset of the entry's data in the file. */
  dataOffset: number;
}

const TYPES: Record<string, TarType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };
const WINDOW = 1 << 20;

/**
 * Every header of the tar stored in bytes [start, end) of an open file, in
 * order, with PAX ('x') and GNU long-name ('L', 'K') records folded in.
 * Contents are skipped, not read: reads go through a 1 MiB window that moves
 * only when a header falls outside it.
 */
export function* scanTar(fd: number, start: number, end: number, what: string, file = ''): Generator<TarHeader> {
  const buf = Buffer.alloc(WINDOW);
  let winStart = -1;
  let winLen = 0;
  const block = (pos: number, len: number): Buffer => {
    if (pos < winStart || pos + len > winStart + winLen) {
      if (len > WINDOW) {
        const big = Buffer.alloc(len);
        const n = readSync(fd, big, 0, len, pos);
        if (n < len) throw new ImageOpenError(`${file ? file + ': ' : ''}${what} is truncated at byte ${pos - start + n}`);
        return big;
      }
      winStart = pos;
      winLen = readSync(fd, buf, 0, Math.min(WINDOW, end - pos), pos);
      if (winLen < len) throw new ImageOpenError(`${file ? file + ': ' : ''}${what} is truncated at byte ${pos - start + winLen}`);
    }
    return buf.subarray(pos - winStart, pos - winStart + len);
  };
  let pax: Record<string, string> = {};
  let paxXattrs: Record<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (let pos = start; pos + 512 <= end; ) {
    const h = block(pos, 512);
    if (isZero(h)) return;
    if (!checksumOk(h)) throw new ImageOpenError(`${file ? file + ': ' : ''}${what} is not a tar archive (bad header checksum at byte ${pos - start})`);
    const flag = String.fromCharCode(h[156]);
    const size = pax.size !== undefined ? Number(pax.size) : num(h, 124, 12);
    const dataOffset = pos + 512;
    const next = dataOffset + Math.ceil(size / 512) * 512;
    if (flag === 'x' || flag === 'L' || flag === 'K') {
      const data = block(dataOffset, size);
      if (flag === 'x') ({ pax, xattrs: paxXattrs } = parsePax(data));
      else if (flag === 'L') longName = cstr(data, 0, size);
      else longLink = cstr(data, 0, size);
      pos = next;
      continue;
    }
    if (flag !== 'g') {
      const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
      const prefix = ustar ? cstr(h, 345, 155) : '';
      const name = pax.path ?? longName ?? (prefix ? prefix + '/' : '') + cstr(h, 0, 100);
      yield {
        name,
        linkname: pax.linkpath ?? longLink ?? cstr(h, 157, 100),
        type: TYPES[flag] ?? 'other',
        mode: num(h, 100, 8),
        uid: pax.uid !== undefined ? Number(pax.uid) : num(h, 108, 8),
        gid: pax.gid !== undefined ? Number(pax.gid) : num(h, 116, 8),
        size,
        devmajor: num(h, 329, 8),
        devminor: num(h, 337, 8),
        ...(paxXattrs ? { xattrs: paxXattrs } : {}),
        dataOffset,
      };
    }
    pax = {};
    paxXattrs = undefined;
    longName = longLink = undefined;
    pos = next;
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < 512; i++) if (b[i] !== 0) return false;
  return true;
}

function checksumOk(h: Buffer): boolean {
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += h[i];
  return sum === num(h, 148, 8);
}

function cstr(b: Buffer, at: number, len: number): string {
  const z = b.indexOf(0, at);
  return b.toString('utf8', at, z === -1 || z > at + len ? at + len : z);
}

/** Octal, or base-256 when the top bit of the first byte is set (GNU, for large values). */
function num(b: Buffer, at: number, len: number): number {
  if (b[at] & 0x80) {
    let v = b[at] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[at + i];
    return v;
  }
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const c = b[i];
    if (c >= 0x30 && c <= 0x37) v = v * 8 + (c - 0x30);
    else if (c === 0 || (c === 0x20 && v > 0)) break;
  }
  return v;
}

function parsePax(data: Buffer): { pax: Record<string, string>; xattrs?: Record<string, string> } {
  const pax: Record<string, string> = {};
  let xattrs: Record<string, string> | undefined;
  for (let at = 0; at < data.length; ) {
    const space = data.indexOf(0x20, at);
    const len = parseInt(data.toString('ascii', at, space), 10);
    if (space === -1 || !(len > 0)) break;
    const rec = data.subarray(space + 1, at + len - 1);
    const eq = rec.indexOf(0x3d);
    const key = rec.toString('utf8', 0, eq);
    if (key.startsWith('SCHILY.xattr.')) (xattrs ??= {})[key.slice('SCHILY.xattr.'.length)] = rec.subarray(eq + 1).toString('base64');
    else pax[key] = rec.toString('utf8', eq + 1);
    at += len;
  }
  return { pax, xattrs };
}

/** A layer's tree from its headers alone, with importTar's rules (minus contents). */
function headerTree(headers: Iterable<TarHeader>): Tree {
  const tree: Tree = new Map();
  const at = (name: string, what: string): ImagePath => {
    try {
      return strictImagePath('/' + name);
    } catch (e) {
      if (e instanceof ImagePathError) throw new TarImportError(`${what} "${name}" climbs out of the archive root with ".."`);
      throw e;
    }
  };
  for (const h of headers) {
    const p = at(h.name, 'entry');
    const base = { mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, size: 0, ...(h.xattrs ? { xattrs: h.xattrs } : {}) };
    let e: Entry | undefined;
    switch (h.type) {
      case 'file':
        e = { ...base, type: 'file', size: h.size };
        break;
      case 'dir':
        e = { ...base, type: 'dir' };
        break;
      case 'symlink':
        e = { ...base, type: 'symlink', mode: 0o777, target: h.linkname };
        break;
      case 'link': {
        const target = at(h.linkname, 'hard link target of');
        const t = tree.get(target);
        if (!t || t.type !== 'file') throw new TarImportError(`hard link "${h.name}" points to "${h.linkname}", which is not a file earlier in the archive`);
        t.link ??= target;
        e = { ...t, ...base, type: 'file', size: t.size, link: t.link };
        break;
      }
      case 'char':
      case 'block':
        e = { ...base, type: h.type, rdev: [h.devmajor, h.devminor] };
        break;
      case 'fifo':
        e = { ...base, type: 'fifo' };
        break;
      default:
        break;
    }
    if (!e || (p === ROOT && e.type !== 'dir')) continue;
    try {
      putEntry(tree, p, e);
    } catch (err) {
      if (err instanceof TreeConflictError) throw new TarImportError(`entry "${h.name}": ${err.message}`);
      throw err;
    }
  }
  return tree;
}
