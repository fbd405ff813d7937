// Reading tar streams into trees (through oci/tar.ts, the one reader): every
// entry becomes tree data, nothing is extracted to disk, so a hostile archive
// cannot write outside anything. Names with "..", hard links to nowhere, and
// entries below a symlink are refused with the entry named; absolute symlinks
// are kept as data (they only ever resolve inside the image).
import { spawn } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { fileSystemPathProblem } from '../../../shared/grammar';
import { ancestors, joinImage, parentOf } from '../model/path';
import { putEntry, TreeConflictError, type Entry, type Tree } from '../model/tree';
import { TOOLS, ToolMissingError, findTool } from '../tools/registry';
import { TarError, readTar, type TarHeader } from './tar';

export { TarError } from './tar';

export type Compression = 'gzip' | 'xz' | 'zstd';

/** A tarball's compression, by its first bytes; undefined for a plain tar. */
export async function compressionOf(fh: FileHandle): Promise<Compression | undefined> {
  const magic = Buffer.alloc(6);
  await fh.read(magic, 0, 6, 0);
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (magic.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return undefined;
}

/** A compressed tarball's tar bytes, decompressed as they stream from `fh` (read from its start; the caller closes it). */
export function decompressed(fh: FileHandle, compression: Compression): Readable {
  // 1 MiB reads: the tar reader's per-chunk cost is paid 16 times less than with 64 KiB.
  if (compression === 'gzip') return fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 }).pipe(createGunzip());
  return viaTool(compression, fh);
}

/** The tool reads the caller's open file as its stdin: the file the caller checked, not whatever its path names by now. */
function viaTool(tool: 'xz' | 'zstd', fh: FileHandle): Readable {
  const cmd = findTool(tool);
  if (!cmd) throw new ToolMissingError(TOOLS[tool]);
  const child = spawn(cmd, ['-dc'], { stdio: [fh.fd, 'pipe', 'pipe'] });
  const out = new PassThrough();
  let err = '';
  const { stdout, stderr } = child;
  if (!stdout || !stderr) throw new Error('spawn gave no pipes'); // cannot happen: both are piped
  stderr.on('data', (c: Buffer) => (err += c));
  stdout.pipe(out, { end: false });
  // A reader that stops early (a bad entry) destroys `out`: the tool, blocked writing to a full
  // pipe nobody reads, would keep the process alive forever.
  out.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    stdout.destroy();
  });
  child.on('error', (e) => out.destroy((e as NodeJS.ErrnoException).code === 'ENOENT' ? new TarError(`${tool} not found: apt-get install ${TOOLS[tool].debianPackage}`) : e));
  child.on('close', (code) => (code === 0 ? out.end() : out.destroy(new TarError(`${tool} -d failed: ${err.trim()}`))));
  return out;
}

/** Where imported contents go: a pack (one file for all) or the blob store (one file each). */
export interface ContentSink {
  /** `place`: where the content lies in the tar stream, for a sink that indexes it in place. */
  add(chunks: AsyncIterable<Buffer>, place?: { dataOffset: number; size: number }): Promise<{ digest: Sha256; size: number }>;
}

/** A tree written as files (a tarball source), not a layer read. */
export interface RootfsImport {
  /** Read only to the end-of-archive blocks (readTar), not the stream's end. */
  stopAt?: (offset: number) => void;
}

/**
 * Read a tar stream into a tree under `dest`, storing file contents in `sink`;
 * without a sink, contents are read past (sizes, no digests). A layer unless
 * `rootfs` is given: then no whiteouts, nothing dropped, names the tools can extract.
 * Folders no entry names (parents of entries, `dest` and its own) are `implied`.
 */
export async function importTar(sink: ContentSink | undefined, tar: AsyncIterable<Buffer>, dest: ImagePath, rootfs?: RootfsImport): Promise<Tree> {
  const tree = new TreeBuilder(dest, rootfs !== undefined);
  for await (const { header, content } of readTar(tar, rootfs?.stopAt)) {
    const stored = header.type === 'file' && sink ? await sink.add(content, header) : undefined;
    tree.add(header, stored);
  }
  return tree.finish();
}

/** A tree from headers alone (a file read in place): sizes and modes, no digests. */
export function headerTree(headers: Iterable<TarHeader>, dest: ImagePath): Tree {
  const tree = new TreeBuilder(dest);
  for (const h of headers) tree.add(h, undefined);
  return tree.finish();
}

const KEPT = new Set<TarHeader['type']>(['file', 'dir', 'symlink', 'link', 'char', 'block', 'fifo']);

/** An entry's common fields, in the order the cache has always written them (xattrs before type). */
function attrs(h: TarHeader, mode: number, size: number, type: Entry['type']): Entry {
  return h.xattrs ? { mode, uid: h.uid, gid: h.gid, size, xattrs: h.xattrs, type } : { mode, uid: h.uid, gid: h.gid, size, type };
}

/**
 * Entries into a tree, with the rules every import shares: hard links only to
 * files earlier in the archive, nothing below a symlink (putEntry), the root
 * only as a folder, types without a place in a rootfs dropped.
 */
class TreeBuilder {
  private readonly tree: Tree = new Map();
  /** Folders putEntry made above an entry, until an entry of their own says what they are. */
  private readonly implied = new Set<ImagePath>();

  /** `rootfs`: a tree written as files (a tarball source), not a layer read: no whiteouts, nothing dropped, names the tools can extract. */
  constructor(
    private readonly dest: ImagePath,
    private readonly rootfs = false,
  ) {}

  /** The tree, its implied folders marked. */
  finish(): Tree {
    for (const p of this.implied) {
      const e = this.tree.get(p);
      if (e?.type === 'dir') e.implied = true;
    }
    return this.tree;
  }

  add(h: TarHeader, stored: { digest: Sha256; size: number } | undefined): void {
    const p = joinImage(this.dest, h.name);
    // A layer's paths too: one no tool can extract is refused before a tree of them costs time quadratic in their depth.
    const why = fileSystemPathProblem(p, !this.rootfs);
    if (why) throw new TarError(`entry "${h.name.length > 200 ? h.name.slice(0, 200) + '…' : h.name}": the path ${why}`);
    if (this.rootfs) {
      if (!KEPT.has(h.type)) throw new TarError(`entry "${h.name}" is of a type a rootfs cannot hold (${h.type === 'other' ? 'GNU sparse, a volume label or an unknown type flag' : h.type}): refused rather than dropped`);
    }
    let e: Entry;
    // Entries are object literals of one key order, never spreads: a spread gives every
    // object a hidden class of its own in V8 (about 270 bytes more per entry).
    switch (h.type) {
      case 'file':
        // The usual entry whole in one literal: a key added later lives in a separate array (~40 bytes more).
        if (stored && !h.xattrs) e = { mode: h.mode, uid: h.uid, gid: h.gid, size: stored.size, type: 'file', digest: stored.digest };
        else {
          e = attrs(h, h.mode, stored ? stored.size : h.size, 'file');
          if (stored) e.digest = stored.digest;
        }
        break;
      case 'dir':
        e = attrs(h, h.mode, 0, 'dir');
        break;
      case 'symlink':
        e = attrs(h, 0o777, 0, 'symlink');
        e.target = h.linkname;
        break;
      case 'link': {
        const target = joinImage(this.dest, h.linkname);
        const t = this.tree.get(target);
        if (!t || t.type !== 'file') throw new TarError(`hard link "${h.name}" points to "${h.linkname}", which is not a file earlier in the archive`);
        t.link ??= target;
        // The link's own ids and mode; its xattrs, or else the file's.
        e = h.xattrs || !t.xattrs ? attrs(h, h.mode, t.size, 'file') : { mode: h.mode, uid: h.uid, gid: h.gid, size: t.size, xattrs: t.xattrs, type: 'file' };
        if (t.digest) e.digest = t.digest;
        e.link = t.link;
        break;
      }
      case 'char':
      case 'block':
        e = attrs(h, h.mode, 0, h.type);
        e.rdev = [h.devmajor, h.devminor];
        break;
      case 'fifo':
        e = attrs(h, h.mode, 0, 'fifo');
        break;
      default:
        return; // anything else (GNU sparse, volume labels…) has no place in a rootfs
    }
    this.put(h, p, e);
  }

  private put(h: TarHeader, p: ImagePath, e: Entry): void {
    if (p === this.dest && e.type !== 'dir') return;
    if (this.tree.get(parentOf(p))?.type !== 'dir') for (const a of ancestors(p)) if (!this.tree.has(a)) this.implied.add(a);
    this.implied.delete(p);
    try {
      putEntry(this.tree, p, e);
    } catch (err) {
      if (err instanceof TreeConflictError) throw new TarError(`entry "${h.name}": ${err.message}`);
      throw err;
    }
  }
}
