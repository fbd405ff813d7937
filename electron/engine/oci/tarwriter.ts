// Deterministic tar streams from trees. Same tree, same bytes: entries sorted
// by path, mtimes at the recipe epoch, numeric ids only, no host user names,
// PAX records (written here, byte-exact) for long or non-ASCII names and for
// xattrs, a fixed PAX header name with no PID in it, and hard links written
// after the file they point to.
import { pipeline } from 'node:stream/promises';
import { pack, type Header, type Pack } from 'tar-stream';

type H = Partial<Header> & { name: string };
import type { Readable } from 'node:stream';
import type { ImagePath } from '../../../shared/brand';
import { opaqueName, whiteoutName, type LayerChanges } from '../model/diff';
import { ROOT, comparePaths } from '../model/path';
import { sortedPaths, type Entry, type Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';

export type TarItem = { path: ImagePath; entry: Entry } | { path: ImagePath; whiteout: true };

/** Items of a layer tar: changed entries plus whiteouts and opaque markers, in path order. */
export function layerItems(ch: LayerChanges): TarItem[] {
  const items: TarItem[] = [];
  for (const p of ch.entries.keys()) if (p !== ROOT) items.push({ path: p, entry: ch.entries.get(p)! });
  for (const p of ch.removed) items.push({ path: whiteoutName(p), whiteout: true });
  for (const d of ch.opaque) items.push({ path: opaqueName(d), whiteout: true });
  return items.sort((a, b) => comparePaths(a.path, b.path));
}

/** Items of a whole filesystem (the rootfs tar). */
export function treeItems(tree: Tree): TarItem[] {
  return sortedPaths(tree)
    .filter((p) => p !== ROOT)
    .map((p) => ({ path: p, entry: tree.get(p)! }));
}

/** The tar stream of `items`; contents are read from the blob store as the stream is consumed. */
export function tarStream(store: BlobStore, items: TarItem[], epoch: number): Readable {
  const p = withRawPax(pack());
  void writeAll(p, store, items, new Date(epoch * 1000)).catch((e: Error) => p.destroy(e));
  // tar-stream's streamx streams are async-iterable and pipe like Node's own.
  return p as unknown as Readable;
}

const SMALL = 1 << 20;

async function writeAll(p: Pack, store: BlobStore, items: TarItem[], mtime: Date): Promise<void> {
  const written = new Map<string, string>(); // hard-link group -> tar name of the file already written
  for (const item of items) {
    const name = item.path.slice(1);
    if ('whiteout' in item) {
      await add(p, { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime }, Buffer.alloc(0));
      continue;
    }
    const e = item.entry;
    const h: H = { name, mode: e.mode, uid: e.uid, gid: e.gid, mtime, size: 0, type: 'file' };
    const pax: Record<string, Buffer> = {};
    if (e.xattrs) for (const k of Object.keys(e.xattrs).sort()) pax[`SCHILY.xattr.${k}`] = Buffer.from(e.xattrs[k], 'base64');
    switch (e.type) {
      case 'dir':
        h.type = 'directory';
        break;
      case 'symlink':
        h.type = 'symlink';
        h.linkname = e.target;
        break;
      case 'char':
      case 'block':
        h.type = e.type === 'char' ? 'character-device' : 'block-device';
        h.devmajor = e.rdev![0];
        h.devminor = e.rdev![1];
        break;
      case 'fifo':
        h.type = 'fifo';
        break;
      case 'file': {
        const first = e.link ? written.get(e.link) : undefined;
        if (first !== undefined) {
          h.type = 'link';
          h.linkname = first;
        } else {
          if (e.link) written.set(e.link, name);
          h.size = e.size;
        }
        break;
      }
    }
    fitUstar(h, pax);
    if (Object.keys(pax).length) (h as RawPaxHeader).rawPax = { header: paxHeader(name, pax, mtime), body: paxBody(pax) };
    if (h.type === 'file' && h.size! > 0) await addBlob(p, h, store, e);
    else await add(p, h, Buffer.alloc(0));
  }
  p.finalize();
}

/** Move what ustar cannot hold into PAX records; leave a short ASCII stand-in in the header. */
function fitUstar(h: H, pax: Record<string, Buffer>): void {
  const needsPax = (s: string, max: number) => Buffer.byteLength(s) !== s.length || Buffer.byteLength(s) > max;
  if (needsPax(h.name, 100) && !splittable(h.name + (h.type === 'directory' ? '/' : ''))) {
    pax.path = Buffer.from(h.name);
    h.name = standIn(h.name, 99);
  }
  if (h.linkname !== undefined && h.linkname !== null && needsPax(h.linkname, 100)) {
    pax.linkpath = Buffer.from(h.linkname);
    h.linkname = standIn(h.linkname, 100);
  }
  for (const k of ['uid', 'gid'] as const) {
    if (h[k]! > 0o7777777) {
      pax[k] = Buffer.from(String(h[k]));
      h[k] = 0;
    }
  }
}

/** Can ustar's 155-byte prefix + 100-byte name hold this ASCII path? */
function splittable(name: string): boolean {
  if (Buffer.byteLength(name) !== name.length) return false;
  if (name.length <= 100) return true;
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    if (i <= 155 && name.length - i - 1 <= 100 && name.length - i - 1 > 0) return true;
  }
  return false;
}

function standIn(s: string, max: number): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(-max);
}

function paxHeader(name: string, pax: Record<string, Buffer>, mtime: Date): H {
  const base = standIn(name.slice(name.lastIndexOf('/') + 1), 80);
  return { name: `PaxHeaders/${base}`, type: 'pax-header' as Header['type'], mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime, size: paxBody(pax).length };
}

type RawPaxHeader = H & { rawPax?: { header: H; body: Buffer } };
type PackInternals = Pack & { _encode(h: RawPaxHeader): void; _encodePax(h: RawPaxHeader): void; push(b: Buffer): boolean };

/**
 * tar-stream writes PAX values as UTF-8 text, which would corrupt binary xattr
 * values, and has no way to emit a raw entry. So its PAX step is replaced, on
 * this one Pack, by one that writes our byte-exact records with tar-stream's
 * own header encoder. Covered by the xattr and long-name tests (GNU tar reads them).
 */
function withRawPax(p: Pack): Pack {
  const q = p as PackInternals;
  const encode = q._encode.bind(q);
  q._encodePax = (h: RawPaxHeader) => {
    const { rawPax, pax: _pax, ...plain } = h;
    if (!rawPax) throw new Error(`tar entry ${h.name} cannot be written without PAX records`);
    encode(rawPax.header);
    q.push(rawPax.body);
    const pad = rawPax.body.length % 512;
    if (pad) q.push(Buffer.alloc(512 - pad));
    encode(plain);
  };
  return p;
}

/** "%d %s=%s\n" records where %d counts the whole record, itself included. Values are raw bytes. */
function paxBody(pax: Record<string, Buffer>): Buffer {
  const recs: Buffer[] = [];
  for (const k of Object.keys(pax).sort()) {
    const payload = Buffer.concat([Buffer.from(` ${k}=`), pax[k], Buffer.from('\n')]);
    let len = payload.length + 1;
    while (String(len).length + payload.length !== len) len = String(len).length + payload.length;
    recs.push(Buffer.concat([Buffer.from(String(len)), payload]));
  }
  return Buffer.concat(recs);
}

function add(p: Pack, h: H, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    p.entry(withPaxFlag({ ...h, uname: '', gname: '' }), body, (err) => (err ? reject(err) : resolve()));
  });
}

/** A header carrying raw PAX records is routed (by tar-stream's `pax` flag) to the step withRawPax replaced. */
function withPaxFlag(h: RawPaxHeader): Header {
  return (h.rawPax ? { ...h, pax: {} } : h) as Header;
}

async function addBlob(p: Pack, h: H, store: BlobStore, e: Entry): Promise<void> {
  if (e.size <= SMALL) return add(p, h, store.readSync(e.digest!));
  await new Promise<void>((resolve, reject) => {
    const sink = p.entry(withPaxFlag({ ...h, uname: '', gname: '' }), (err) => (err ? reject(err) : resolve()));
    pipeline(store.readStream(e.digest!), sink).catch(reject);
  });
}
