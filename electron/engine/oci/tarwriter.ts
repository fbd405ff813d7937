// Deterministic tar streams from trees. Same tree, same bytes: entries sorted
// by path, mtimes at the recipe epoch, numeric ids only, no host user names,
// PAX records (written here, byte-exact) for long or non-ASCII names and for
// xattrs, a fixed PAX header name with no PID in it, and hard links written
// after the file they point to. tar-stream encodes each header; the bytes are
// gathered in one reused buffer rather than a stream, promise and buffer per
// entry (its Pack's way), so a tar of any size is written in flat memory.
import { PassThrough, type Readable } from 'node:stream';
import { pack, type Header, type Pack } from 'tar-stream';
import type { ImagePath } from '../../../shared/brand';
import { opaqueName, whiteoutName, type LayerChanges } from '../model/diff';
import { ROOT, comparePaths } from '../model/path';
import { sortedPaths, type Entry, type Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';

/** A header as written: tar-stream's field names and type names (the bytes follow its encoder). */
export interface H {
  name: string;
  type: 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo' | 'pax-header';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

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

/** Where writeTar's bytes go, in order. A piece is only valid during the call (its buffer is reused after). */
export type TarOut = (bytes: Buffer) => void;

/**
 * The tar stream of `items` as a Readable (for pipelines); contents are read from the blob
 * store as the stream is consumed. Each piece is a copy: writeTar reuses its buffers.
 */
export function tarStream(store: BlobStore, items: TarItem[], epoch: number): Readable {
  const out = new PassThrough({ highWaterMark: OUT });
  const write: TarOut = (b) => void out.write(Buffer.from(b));
  const room = async () => {
    // A reader that gave up: stop reading contents for it.
    if (out.destroyed) throw new Error('the tar stream was closed before its end');
    if (out.writableNeedDrain) await new Promise<void>((resolve) => out.once('drain', resolve));
  };
  writeTar(store, items, epoch, write, room).then(
    () => out.end(),
    (e: Error) => out.destroy(e),
  );
  return out;
}

const OUT = 1 << 20;
/** Pieces at least this long go out as they are, not copied into the output buffer. */
const DIRECT = 64 << 10;
/** Between two of these many bytes, writeTar lets the event loop run (and `room` apply back-pressure). */
const TURN = 8 << 20;

/**
 * The deterministic tar of `items`, handed to `out` in pieces of about 1 MiB
 * (headers and small contents gathered in one reused buffer, large contents in
 * pieces as they are read and checked). Memory stays flat whatever the size: no
 * object or buffer per entry outlives it. `room` is awaited now and then (the
 * event loop turns there); the default is a turn of the loop.
 */
export async function writeTar(store: BlobStore, items: TarItem[], epoch: number, out: TarOut, room: () => Promise<void> = turn): Promise<void> {
  const w = new TarBuffer(out);
  const mtime = new Date(epoch * 1000);
  const scratch = store.scratch();
  const written = new Map<string, string>(); // hard-link group -> tar name of the file already written
  let next = TURN;
  for (const item of items) {
    if (w.total >= next) {
      next = w.total + TURN;
      await room();
    }
    const name = item.path.slice(1);
    if ('whiteout' in item) {
      w.header({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0 }, mtime);
      continue;
    }
    const e = item.entry;
    const h: H = { name, mode: e.mode, uid: e.uid, gid: e.gid, size: 0, type: 'file' };
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
    // What tar-stream (the writer these bytes were first made by) did to a header: kept, so layers keep their digests.
    if (!h.mode) h.mode = h.type === 'directory' ? 0o755 : 0o644;
    if (h.type === 'symlink') h.size = 0;
    if (Object.keys(pax).length) {
      const body = paxBody(pax);
      w.header(paxHeader(name, body.length), mtime);
      w.bytes(body);
      w.pad(body.length);
    }
    w.header(h, mtime);
    if (h.type === 'file' && h.size > 0) {
      // Back-pressure inside a large file too: a reader slower than the store (a stream's) must not have it all queued.
      await store.readInto(e.digest!, scratch, (piece) => w.bytes(piece), h.size, room);
      w.pad(h.size);
    }
  }
  w.zeros(2 * BLOCK);
  w.flush();
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const BLOCK = 512;

/** Tar bytes gathered in one buffer, reused: handed to `out` when full, large pieces passed straight on. */
export class TarBuffer {
  private buf = Buffer.allocUnsafe(OUT);
  private encode = ustarEncoder();
  private used = 0;
  total = 0;

  constructor(private readonly out: TarOut) {}

  header(h: H, mtime: Date): void {
    if (this.used + BLOCK > OUT) this.flush();
    const b = this.encode(h, mtime);
    if (b?.length !== BLOCK) throw new Error(`tar entry ${h.name} cannot be written without PAX records`);
    b.copy(this.buf, this.used);
    this.used += BLOCK;
    this.total += BLOCK;
  }

  bytes(b: Buffer): void {
    this.total += b.length;
    if (b.length >= DIRECT) {
      this.flush();
      this.out(b);
      return;
    }
    if (this.used + b.length > OUT) this.flush();
    b.copy(this.buf, this.used);
    this.used += b.length;
  }

  zeros(n: number): void {
    if (this.used + n > OUT) this.flush();
    this.buf.fill(0, this.used, this.used + n);
    this.used += n;
    this.total += n;
  }

  /** Zeros up to the next block after `size` bytes of data. */
  pad(size: number): void {
    const r = size % BLOCK;
    if (r) this.zeros(BLOCK - r);
  }

  flush(): void {
    if (this.used) this.out(this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

type PackInternals = Pack & { _encode(h: Header): void; _encodePax(h: Header): void };

/**
 * tar-stream's own header encoder, without a stream per entry: one Pack whose
 * `push` takes the encoded header instead of queuing it. tar-stream still
 * makes every header's bytes (layer digests follow it); what it does not do
 * here is carry contents, which go through one reused buffer (TarBuffer).
 * Its encoder is not exported, and `_encode` is the step `entry` calls.
 */
function ustarEncoder(): (h: H, mtime: Date) => Buffer | undefined {
  const p = pack() as PackInternals;
  let out: Buffer | undefined;
  p.push = (b: unknown) => {
    out = Buffer.isBuffer(b) ? b : undefined;
    return true;
  };
  // A header that needs PAX (fitUstar has moved all of that out) is not encoded: the caller refuses it.
  p._encodePax = () => {};
  return (h, mtime) => {
    out = undefined;
    p._encode({ ...h, mtime, uname: '', gname: '' } as Header);
    return out && ((h.devmajor ?? 0) > SIX_DIGITS || (h.devminor ?? 0) > SIX_DIGITS) ? widerDevice(out, h.devmajor ?? 0, h.devminor ?? 0) : out;
  };
}

const SIX_DIGITS = 0o777777;

/**
 * tar-stream writes device numbers in 6 octal digits (262143 at most) where
 * the field holds 7: a minor past that (Linux's go to 1048575) is written in
 * all 7, which GNU tar and Go's archive/tar read, and the checksum made again.
 */
function widerDevice(header: Buffer, major: number, minor: number): Buffer {
  const b = Buffer.from(header);
  const field = (v: number, at: number) => {
    if (v > SIX_DIGITS && v <= 0o7777777) b.write(`${v.toString(8).padStart(7, '0')}\0`, at, 'latin1');
  };
  field(major, 329);
  field(minor, 337);
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += b[i];
  b.write(`${sum.toString(8).padStart(6, '0')} `, 148, 'latin1');
  return b;
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
  // tar-stream writes ids in 6 octal digits (its field has room for 7): anything larger goes to PAX.
  for (const k of ['uid', 'gid'] as const) {
    if (h[k]! > 0o777777) {
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

function paxHeader(name: string, size: number): H {
  const base = standIn(name.slice(name.lastIndexOf('/') + 1), 80);
  return { name: `PaxHeaders/${base}`, type: 'pax-header', mode: 0o644, uid: 0, gid: 0, size };
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
