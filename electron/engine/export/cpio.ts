// A deterministic cpio "newc" writer (the format the kernel unpacks as an
// initramfs). newc is a 110-byte ASCII header, the NUL-terminated name and the
// data, each padded to 4 bytes; nothing else. No npm package writes it
// byte-exactly without real inode and device numbers, so it is written here.
//
// Reproducible by construction: inode numbers count up in path order, device
// numbers are 0, every mtime is the epoch. Hard links share an inode and, as
// GNU cpio writes them, only the last link of a group carries the data (the
// kernel and `cpio -i` both link the earlier names to it).
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { ROOT } from '../model/path';
import { TYPE_BITS, sortedPaths, type Entry, type Tree } from '../model/tree';

/** One archive member: an image entry, with its content read from `data` or the blob store. */
export interface CpioItem {
  path: ImagePath;
  entry: Entry;
  /** Content given inline (otherwise a file's content is read by digest). */
  data?: Buffer;
}

/** Reads a file's content by digest, in pieces. */
export type ContentReader = (digest: Sha256, size: number) => AsyncIterable<Buffer> | Iterable<Buffer>;

const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';

/** The items of a whole tree, root first, in the C-locale path order. */
export function cpioItemsOfTree(tree: Tree): CpioItem[] {
  return sortedPaths(tree).map((p) => ({ path: p, entry: tree.get(p)! }));
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio newc field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

/** The archive name of an image path: "." for the root, no leading slash otherwise. */
export function cpioName(p: ImagePath): string {
  return p === ROOT ? '.' : p.slice(1);
}

export function newcHeader(f: { ino: number; mode: number; uid: number; gid: number; nlink: number; mtime: number; size: number; rdev?: [number, number] }, name: string): Buffer {
  const nameBytes = Buffer.from(name + '\0');
  const fields = [f.ino, f.mode, f.uid, f.gid, f.nlink, f.mtime, f.size, 0, 0, f.rdev?.[0] ?? 0, f.rdev?.[1] ?? 0, nameBytes.length, 0];
  const head = Buffer.from(MAGIC + fields.map(hex8).join(''), 'ascii');
  return Buffer.concat([head, nameBytes, pad4(head.length + nameBytes.length)]);
}

/**
 * The archive as a stream of buffers. `items` must be in path order with
 * parents before children (cpioItemsOfTree gives that).
 */
export async function* cpioStream(items: CpioItem[], epoch: number, read: ContentReader): AsyncGenerator<Buffer> {
  // Inode numbers and link counts first: a hard-link group takes its first member's number.
  const ino = new Map<string, number>();
  const groupSize = new Map<string, number>();
  const lastOfGroup = new Map<string, number>();
  const subdirs = new Map<string, number>();
  items.forEach((it, i) => {
    if (it.entry.type === 'file' && it.entry.link) {
      const g = it.entry.link;
      if (!ino.has(g)) ino.set(g, i + 1);
      groupSize.set(g, (groupSize.get(g) ?? 0) + 1);
      lastOfGroup.set(g, i);
    }
    if (it.entry.type === 'dir' && it.path !== ROOT) {
      const parent = it.path.slice(0, it.path.lastIndexOf('/')) || '/';
      subdirs.set(parent, (subdirs.get(parent) ?? 0) + 1);
    }
  });
  for (const [i, it] of items.entries()) {
    const e = it.entry;
    const group = e.type === 'file' ? e.link : undefined;
    let data: Buffer | undefined;
    let size = 0;
    if (e.type === 'symlink') {
      data = Buffer.from(e.target ?? '');
      size = data.length;
    } else if (e.type === 'file' && (!group || lastOfGroup.get(group) === i)) {
      data = it.data;
      size = data ? data.length : e.size;
    }
    const nlink = group ? groupSize.get(group)! : e.type === 'dir' ? 2 + (subdirs.get(it.path) ?? 0) : 1;
    yield newcHeader(
      { ino: group ? ino.get(group)! : i + 1, mode: TYPE_BITS[e.type] | (e.mode & 0o7777), uid: e.uid, gid: e.gid, nlink, mtime: epoch, size, rdev: e.type === 'char' || e.type === 'block' ? e.rdev : undefined },
      cpioName(it.path),
    );
    if (size === 0) continue;
    if (data) yield data;
    else {
      let n = 0;
      for await (const chunk of read(e.digest!, size)) {
        n += chunk.length;
        yield chunk;
      }
      if (n !== size) throw new Error(`content of ${it.path} is ${n} bytes, expected ${size}`);
    }
    yield pad4(size);
  }
  yield newcHeader({ ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0 }, TRAILER);
}
