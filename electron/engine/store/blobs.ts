// Content-addressed blob store: every file content and every layer tar lives
// once, at blobs/sha256/<hex>. Blobs are written to a temporary name and
// renamed after their digest is known, so a blob that exists is complete.
import { createHash } from 'node:crypto';
import { closeSync, constants, ftruncateSync, createReadStream, createWriteStream, openSync, promises as fs, readFileSync, readSync, writeSync, type Stats } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Sha256 } from '../../../shared/brand';
import { sweepStaleTemps, tempPathFor, writeFileAtomic } from './atomic';

const COALESCE = 1 << 20;
/** Pack reads fetch this much at a time: imports and layer tars both walk packs mostly in order. */
const PACK_WINDOW = 4 << 20;

export interface StatCacheEntry {
  stat: string;
  digest: Sha256;
  size: number;
}

/** Where a content lives when it is part of a pack rather than a blob file of its own. */
interface PackLocation {
  pack: string;
  offset: number;
  size: number;
}

export class BlobStore {
  readonly dir: string;
  readonly packDir: string;
  private locations = new Map<string, PackLocation>();
  private packFds = new Map<string, number>();
  /** host path -> digest, valid while the file's identity and times are unchanged. */
  private statCache = new Map<string, StatCacheEntry>();
  private statCacheDirty = false;
  private known = new Set<string>();

  constructor(readonly cacheDir: string) {
    this.dir = path.join(cacheDir, 'blobs', 'sha256');
    this.packDir = path.join(cacheDir, 'packs');
  }

  async open(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await sweepStaleTemps(this.dir);
    try {
      const rows = JSON.parse(await fs.readFile(this.statCachePath(), 'utf8')) as [string, StatCacheEntry][];
      this.statCache = new Map(rows);
    } catch {
      this.statCache = new Map();
    }
  }

  async close(): Promise<void> {
    for (const fd of this.packFds.values()) closeSync(fd);
    this.packFds.clear();
    if (!this.statCacheDirty) return;
    await writeFileAtomic(this.statCachePath(), JSON.stringify([...this.statCache]));
    this.statCacheDirty = false;
  }

  private statCachePath(): string {
    return path.join(this.cacheDir, 'statcache.json');
  }

  pathOf(digest: Sha256): string {
    return path.join(this.dir, digest);
  }

  async has(digest: Sha256): Promise<boolean> {
    if (this.known.has(digest) || this.locations.has(digest)) return true;
    try {
      await fs.access(this.pathOf(digest));
      this.known.add(digest);
      return true;
    } catch {
      return false;
    }
  }

  async putBytes(data: Uint8Array | string): Promise<{ digest: Sha256; size: number }> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = createHash('sha256').update(buf).digest('hex') as Sha256;
    if (!(await this.has(digest))) {
      const tmp = tempPathFor(this.pathOf(digest));
      await fs.writeFile(tmp, buf, { mode: 0o444 });
      await fs.rename(tmp, this.pathOf(digest));
      this.known.add(digest);
    }
    return { digest, size: buf.byteLength };
  }

  /** Store a stream, hashing it on the way to disk. */
  async putStream(stream: AsyncIterable<Buffer> | Readable): Promise<{ digest: Sha256; size: number }> {
    const tmp = tempPathFor(path.join(this.dir, 'stream'));
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        stream,
        async function* (src: AsyncIterable<Buffer>) {
          // Tar streams come in many small pieces; one write per MiB, not per piece.
          let pending: Buffer[] = [];
          let pendingBytes = 0;
          for await (const chunk of src) {
            hash.update(chunk);
            size += chunk.length;
            pending.push(chunk);
            pendingBytes += chunk.length;
            if (pendingBytes >= COALESCE) {
              yield Buffer.concat(pending, pendingBytes);
              pending = [];
              pendingBytes = 0;
            }
          }
          if (pendingBytes) yield Buffer.concat(pending, pendingBytes);
        },
        createWriteStream(tmp, { mode: 0o444 }),
      );
      const digest = hash.digest('hex') as Sha256;
      if (await this.has(digest)) await fs.rm(tmp, { force: true });
      else await fs.rename(tmp, this.pathOf(digest));
      this.known.add(digest);
      return { digest, size };
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Store a host file's content. Unchanged files (same inode, size, mtime and
   * ctime as last time) are not read again: the stat cache remembers their digest.
   */
  async putHostFile(hostPath: string, st?: Stats): Promise<{ digest: Sha256; size: number }> {
    st ??= await fs.stat(hostPath);
    const id = statId(st);
    const hit = this.statCache.get(hostPath);
    if (hit && hit.stat === id && (await this.has(hit.digest))) return { digest: hit.digest, size: hit.size };
    const res = st.size <= 64 * 1024 * 1024 ? await this.putBytes(await fs.readFile(hostPath)) : await this.putStream(createReadStream(hostPath));
    this.statCache.set(hostPath, { stat: id, digest: res.digest, size: res.size });
    this.statCacheDirty = true;
    return res;
  }

  /** Digest of a host file via the stat cache, for cache keys; stores the content as a side effect. */
  async digestHostFile(hostPath: string): Promise<Sha256> {
    return (await this.putHostFile(hostPath)).digest;
  }

  /** A content's bytes, from its blob file or its pack. */
  async read(digest: Sha256): Promise<Buffer> {
    return this.readSync(digest);
  }

  /**
   * Synchronous read, for the tar writer's many small files: one pread (or
   * one readFile) without a round trip through libuv's thread pool each time.
   */
  readSync(digest: Sha256): Buffer {
    const loc = this.locations.get(digest);
    if (!loc) return readFileSync(this.pathOf(digest));
    if (loc.size > PACK_WINDOW) return this.preadPack(loc.pack, loc.offset, loc.size);
    const w = this.window;
    if (!w || w.pack !== loc.pack || loc.offset < w.offset || loc.offset + loc.size > w.offset + w.data.length) {
      this.window = { pack: loc.pack, offset: loc.offset, data: this.preadPack(loc.pack, loc.offset, PACK_WINDOW, true) };
    }
    const start = loc.offset - this.window!.offset;
    return Buffer.from(this.window!.data.subarray(start, start + loc.size));
  }

  private window?: { pack: string; offset: number; data: Buffer };

  private preadPack(pack: string, offset: number, size: number, short = false): Buffer {
    const buf = Buffer.allocUnsafe(size);
    const fd = this.packFd(pack);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, offset + done);
      if (n === 0) {
        if (short) return buf.subarray(0, done);
        throw new Error(`pack ${pack} is truncated`);
      }
      done += n;
    }
    return buf;
  }

  readStream(digest: Sha256): Readable {
    const loc = this.locations.get(digest);
    if (!loc) return createReadStream(this.pathOf(digest));
    return createReadStream(this.packPath(loc.pack), { start: loc.offset, end: loc.offset + loc.size - 1 });
  }

  /** Copy a content to a new file (a reflink where possible for blob files). */
  async copyTo(digest: Sha256, dest: string, mode: number): Promise<void> {
    if (this.locations.has(digest)) await fs.writeFile(dest, this.readSync(digest), { mode });
    else await fs.copyFile(this.pathOf(digest), dest, constants.COPYFILE_FICLONE);
    await fs.chmod(dest, mode);
  }

  private packPath(id: string): string {
    return path.join(this.packDir, id);
  }

  private packFd(id: string): number {
    let fd = this.packFds.get(id);
    if (fd === undefined) {
      fd = openSync(this.packPath(id), 'r');
      this.packFds.set(id, fd);
    }
    return fd;
  }

  /**
   * A pack holds many contents back to back in one file: importing a tarball
   * of thousands of files costs one sequential write instead of thousands of
   * file creations. `id` names it (the import's cache key); it appears under
   * packs/ only when finished, with its index beside it.
   */
  async beginPack(id: string): Promise<PackWriter> {
    await fs.mkdir(this.packDir, { recursive: true });
    await sweepStaleTemps(this.packDir);
    return new PackWriter(this, id, tempPathFor(this.packPath(id)));
  }

  /** Called by PackWriter.finish: make a finished pack's contents readable. */
  async commitPack(id: string, tmp: string, index: [string, number, number][]): Promise<void> {
    await fs.rename(tmp, this.packPath(id));
    await writeFileAtomic(this.packPath(id) + '.idx.json', JSON.stringify(index));
    this.register(id, index);
  }

  /** Make the contents of an earlier pack readable; false when it is gone. */
  async loadPack(id: string): Promise<boolean> {
    try {
      const index = JSON.parse(await fs.readFile(this.packPath(id) + '.idx.json', 'utf8')) as [string, number, number][];
      await fs.access(this.packPath(id));
      this.register(id, index);
      return true;
    } catch {
      return false;
    }
  }

  private register(id: string, index: [string, number, number][]): void {
    for (const [digest, offset, size] of index) if (!this.locations.has(digest)) this.locations.set(digest, { pack: id, offset, size });
  }
}

export class PackWriter {
  private fd: number;
  /** Bytes of the pack: written up to `flushed`, buffered after it. */
  private offset = 0;
  private flushed = 0;
  private buffered: Buffer[] = [];
  private index: [string, number, number][] = [];
  private seen = new Set<string>();

  constructor(
    private readonly store: BlobStore,
    readonly id: string,
    private readonly tmp: string,
  ) {
    this.fd = openSync(tmp, 'w', 0o444);
  }

  /**
   * Append one content, streamed: written out every MiB while it arrives, so
   * memory stays flat whatever its size. Identical contents are stored once
   * (a repeat is dropped, or overwritten by what follows when already written).
   */
  async add(chunks: AsyncIterable<Buffer>): Promise<{ digest: Sha256; size: number }> {
    const hash = createHash('sha256');
    const start = this.offset;
    const mark = this.buffered.length;
    let flushedDuring = false;
    for await (const chunk of chunks) {
      hash.update(chunk);
      this.buffered.push(chunk);
      this.offset += chunk.length;
      if (this.offset - this.flushed >= COALESCE) {
        this.flush();
        flushedDuring = true;
      }
    }
    const digest = hash.digest('hex') as Sha256;
    const size = this.offset - start;
    if (this.seen.has(digest)) {
      // Stored already: drop this copy, buffered or written (later writes land over it; finish truncates).
      if (!flushedDuring && start >= this.flushed) this.buffered.length = mark;
      else {
        this.buffered = [];
        this.flushed = Math.min(this.flushed, start);
      }
      this.offset = start;
    } else {
      this.index.push([digest, start, size]);
      this.seen.add(digest);
    }
    if (this.offset - this.flushed >= COALESCE) this.flush();
    return { digest, size };
  }

  private flush(): void {
    const data = Buffer.concat(this.buffered);
    for (let w = 0; w < data.length; ) w += writeSync(this.fd, data, w, data.length - w, this.flushed + w);
    this.flushed += data.length;
    this.buffered = [];
  }

  async finish(): Promise<void> {
    this.flush();
    ftruncateSync(this.fd, this.offset);
    closeSync(this.fd);
    await this.store.commitPack(this.id, this.tmp, this.index);
  }

  async abort(): Promise<void> {
    closeSync(this.fd);
    await fs.rm(this.tmp, { force: true });
  }
}

function statId(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}
