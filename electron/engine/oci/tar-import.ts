// Reading tar streams into trees: every entry becomes tree data, nothing is
// extracted to disk, so a hostile archive cannot write outside anything. Names
// with "..", hard links to nowhere, and entries below a symlink are refused
// with the entry named; absolute symlinks are kept as data (they only ever
// resolve inside the image).
import { spawn } from 'node:child_process';
import { createReadStream, promises as fs } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { ImagePathError, joinImage, strictImagePath } from '../model/path';
import { putEntry, TreeConflictError, type Entry, type Tree } from '../model/tree';
import { TOOLS, ToolMissingError, findTool } from '../tools/registry';

export class TarImportError extends Error {}

/** Open a possibly compressed tarball as a stream of tar bytes. */
export async function decompressed(file: string): Promise<Readable> {
  const fh = await fs.open(file, 'r');
  const magic = Buffer.alloc(6);
  await fh.read(magic, 0, 6, 0);
  await fh.close();
  const raw = createReadStream(file);
  if (magic[0] === 0x1f && magic[1] === 0x8b) return raw.pipe(createGunzip());
  if (magic.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return viaTool('xz', file);
  if (magic.readUInt32LE(0) === 0xfd2fb528) return viaTool('zstd', file);
  return raw;
}

function viaTool(tool: 'xz' | 'zstd', file: string): Readable {
  const cmd = tool === 'xz' ? findTool('xz') : 'zstd';
  if (!cmd) throw new ToolMissingError(TOOLS.xz);
  const child = spawn(cmd, ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c));
  child.stdout.pipe(out, { end: false });
  child.on('error', (e) => out.destroy((e as NodeJS.ErrnoException).code === 'ENOENT' ? new TarImportError(`${tool} not found: apt-get install ${tool === 'xz' ? 'xz-utils' : 'zstd'}`) : e));
  child.on('close', (code) => (code === 0 ? out.end() : out.destroy(new TarImportError(`${tool} -d failed: ${err.trim()}`))));
  return out;
}

/** Where imported contents go: a pack (one file for all) or the blob store (one file each). */
export interface ContentSink {
  add(chunks: AsyncIterable<Buffer>): Promise<{ digest: Sha256; size: number }>;
}

/** Read a tar stream into a tree under `dest`, storing file contents in `sink`. */
export async function importTar(sink: ContentSink, tar: Readable, dest: ImagePath): Promise<Tree> {
  const tree: Tree = new Map();
  const ex = withRawXattrs(extract());
  tar.on('error', (e) => ex.destroy(e));
  tar.pipe(ex);
  for await (const entry of ex) {
    const h = entry.header;
    const where = (): ImagePath => {
      try {
        return joinImage(dest, strictImagePath('/' + h.name).slice(1));
      } catch (e) {
        if (e instanceof ImagePathError) throw new TarImportError(`entry "${h.name}" climbs out of the archive root with ".."`);
        throw e;
      }
    };
    const p = where();
    const base = { mode: (h.mode ?? 0o644) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, size: 0, ...xattrsOf(h) };
    let e: Entry | undefined;
    switch (h.type) {
      case 'file':
      case 'contiguous-file': {
        const { digest, size } = await sink.add(entry as unknown as AsyncIterable<Buffer>);
        e = { ...base, type: 'file', size, digest };
        break;
      }
      case 'directory':
        e = { ...base, type: 'dir' };
        break;
      case 'symlink':
        e = { ...base, type: 'symlink', mode: 0o777, target: h.linkname ?? '' };
        break;
      case 'link': {
        let target: ImagePath;
        try {
          target = joinImage(dest, strictImagePath('/' + (h.linkname ?? '')).slice(1));
        } catch {
          throw new TarImportError(`hard link "${h.name}" points out of the archive with ".." (${h.linkname})`);
        }
        const t = tree.get(target);
        if (!t || t.type !== 'file') throw new TarImportError(`hard link "${h.name}" points to "${h.linkname}", which is not a file earlier in the archive`);
        t.link ??= target;
        e = { ...t, ...base, type: 'file', size: t.size, digest: t.digest, link: t.link };
        break;
      }
      case 'character-device':
      case 'block-device':
        e = { ...base, type: h.type === 'character-device' ? 'char' : 'block', rdev: [h.devmajor ?? 0, h.devminor ?? 0] };
        break;
      case 'fifo':
        e = { ...base, type: 'fifo' };
        break;
      default:
        break; // pax/gnu metadata is folded into headers by tar-stream; anything else has no place in a rootfs
    }
    entry.resume();
    if (!e || (p === dest && e.type !== 'dir')) continue;
    try {
      putEntry(tree, p, e);
    } catch (err) {
      if (err instanceof TreeConflictError) throw new TarImportError(`entry "${h.name}": ${err.message}`);
      throw err;
    }
  }
  return tree;
}

const RAW_XATTRS = '\0scratchyard-raw-xattrs';

function xattrsOf(h: Header): { xattrs?: Record<string, string> } {
  const raw = (h.pax as Record<string, string> | undefined)?.[RAW_XATTRS];
  return raw ? { xattrs: JSON.parse(raw) as Record<string, string> } : {};
}

type ExtractInternals = ReturnType<typeof extract> & {
  _decodeLongHeader(buf: Buffer): void;
  _header: { type: string } | null;
  _pax: Record<string, string> | null;
};

/**
 * tar-stream decodes PAX values as UTF-8 text, which mangles binary xattrs
 * such as security.capability. On this one Extract, its PAX step also keeps
 * the SCHILY.xattr.* values as raw bytes (base64), read from the record itself.
 */
function withRawXattrs(ex: ReturnType<typeof extract>): ReturnType<typeof extract> {
  const x = ex as ExtractInternals;
  const decode = x._decodeLongHeader.bind(x);
  x._decodeLongHeader = (buf: Buffer) => {
    decode(buf);
    if (x._header?.type !== 'pax-header' || !x._pax) return;
    const xattrs: Record<string, string> = {};
    for (let at = 0; at < buf.length; ) {
      const space = buf.indexOf(0x20, at);
      const len = parseInt(buf.subarray(at, space).toString('ascii'), 10);
      if (space === -1 || !(len > 0)) break;
      const rec = buf.subarray(space + 1, at + len - 1); // "key=value" without the newline
      const eq = rec.indexOf(0x3d);
      const key = rec.subarray(0, eq).toString('utf8');
      if (key.startsWith('SCHILY.xattr.')) xattrs[key.slice('SCHILY.xattr.'.length)] = rec.subarray(eq + 1).toString('base64');
      at += len;
    }
    if (Object.keys(xattrs).length) x._pax[RAW_XATTRS] = JSON.stringify(xattrs);
  };
  return ex;
}
