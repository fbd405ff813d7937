// Content-addressed blob store: every file content and every layer tar lives
// once, at blobs/sha256/<hex>. Blobs are written to a temporary name and
// renamed after their digest is known, so a blob that exists is complete.
// The store's files are not trusted: every read checks the bytes against the
// digest in the same pass (a bad blob is removed and named), blob and pack
// files must be regular files, and pack indexes and the stat cache are
// validated before use.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { closeSync, constants, ftruncateSync, createReadStream, createWriteStream, openSync, promises as fs, readSync, rmSync, type Stats } from 'node:fs';
import path from 'node:path';
import { pipeline as pipe, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asSha256, type Sha256 } from '../../../shared/brand';
import { sweepStaleTemps, tempPathFor, writeFileAtomic, writeJsonRowsAtomic } from './atomic';
import { CorruptBlobError, HEX64, hashOpenFile, mismatch, openRegularSync, readJsonCapped, verifier } from './integrity';
import { latchingFaults } from './faults';
import { copyOnThread, type CopyResult } from './copy-thread';
import { InPlacePackWriter } from './inplace-pack';
import { writevAllSync } from './writev';

const COALESCE = 1 << 20;
/** A large content read by readInto lets the event loop turn (or its caller's reader catch up) every this many bytes. */
const TURN = 8 << 20;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Pack reads fetch this much at a time: imports and layer tars both walk packs mostly in order. */
const PACK_WINDOW = 4 << 20;
/** A blob file at least this large is copied by copyInto on a thread of its own (one costs ~30 ms to start). */
const THREAD_COPY = 32 << 20;
/** Pack indexes and the stat cache: a Debian-sized one is a few MB. */
const INDEX_CAP = 256 << 20;
/** Pack ids become file names: the import's cache key, or a prefix and a digest. */
const PACK_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** A security.capability value as the stat cache keeps it: base64 of 20 or 24 bytes (vfs_cap_data v2, v3). */
const CAPS_B64 = /^[A-Za-z0-9+/]{27}=$|^[A-Za-z0-9+/]{32}$/;

export interface StatCacheEntry {
  stat: string;
  digest: Sha256;
  size: number;
  /** The file's security.capability xattr (base64), null when it has none; absent: not read yet. */
  caps?: string | null;
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
  /** Blob files this process wrote, or read whole and found right: not hashed again. */
  private verified = new Set<string>();
  /** Packed contents this process wrote, or read and found right: only their length is checked again. */
  private verifiedPacked = new Set<string>();
  private verifying = new Map<string, Promise<void>>();
  /** What this store touched; a build records them as its roots, which `cache gc` keeps. */
  readonly used = { blobs: new Set<string>(), packs: new Set<string>() };
  /** Every bad blob found, even when a caller wrapped the error in one of its own. */
  readonly corrupt: CorruptBlobError[] = [];
  /** The first storage fault (ENOSPC, EROFS...) of a write, for the same reason. */
  fault?: NodeJS.ErrnoException;

  constructor(readonly cacheDir: string) {
    this.dir = path.join(cacheDir, 'blobs', 'sha256');
    this.packDir = path.join(cacheDir, 'packs');
  }

  async open(): Promise<void> {
    await this.writing(() => fs.mkdir(this.dir, { recursive: true }));
    await sweepStaleTemps(this.dir);
    const rows = await readStatCache(this.statCachePath());
    this.statCache = new Map(rows ?? []);
    // A bad one is replaced at close.
    this.statCacheDirty = !rows;
  }

  async close(): Promise<void> {
    for (const fd of this.packFds.values()) closeSync(fd);
    this.packFds.clear();
    if (!this.statCacheDirty) return;
    await this.writing(() => writeFileAtomic(this.statCachePath(), JSON.stringify([...this.statCache])));
    this.statCacheDirty = false;
  }

  private statCachePath(): string {
    return path.join(this.cacheDir, 'statcache.json');
  }

  private writing<T>(fn: () => Promise<T>): Promise<T> {
    return latchingFaults(this, fn);
  }

  pathOf(digest: Sha256): string {
    if (!HEX64.test(digest)) throw new Error(`not a sha256 digest: ${JSON.stringify(digest)}`);
    return path.join(this.dir, digest);
  }

  async has(digest: Sha256): Promise<boolean> {
    if (this.known.has(digest) || this.locations.has(digest)) {
      this.used.blobs.add(digest);
      return true;
    }
    const file = this.pathOf(digest);
    let st: Stats;
    try {
      st = await fs.lstat(file);
    } catch {
      return false;
    }
    if (!st.isFile()) {
      // A symlink or a folder where a blob should be: never followed, replaced by the real content.
      await fs.rm(file, { recursive: true, force: true });
      return false;
    }
    this.known.add(digest);
    this.used.blobs.add(digest);
    return true;
  }

  async putBytes(data: Uint8Array | string): Promise<{ digest: Sha256; size: number }> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = asSha256(createHash('sha256').update(buf).digest('hex'));
    if (!(await this.has(digest))) {
      const tmp = tempPathFor(this.pathOf(digest));
      await this.writing(async () => {
        try {
          await fs.writeFile(tmp, buf, { mode: 0o444 });
          await fs.rename(tmp, this.pathOf(digest));
        } catch (e) {
          await fs.rm(tmp, { force: true });
          throw e;
        }
      });
      this.known.add(digest);
      this.verified.add(digest);
      this.used.blobs.add(digest);
    }
    return { digest, size: buf.byteLength };
  }

  /** Store a stream, hashing it on the way to disk. */
  async putStream(stream: AsyncIterable<Buffer> | Readable): Promise<{ digest: Sha256; size: number }> {
    return this.putWritten(async (write) => {
      // Tar streams come in many small pieces: one gathered write (no concatenation) per MiB, not one per piece.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= COALESCE) {
          write(pending);
          pending = [];
          pendingBytes = 0;
        }
      }
      if (pendingBytes) write(pending);
    });
  }

  /**
   * Store what `produce` writes, hashed on the way to disk. Each write goes
   * out before it returns, so a producer may reuse its buffers (oci/tarwriter does).
   */
  async putWritten(produce: (write: (bytes: Buffer | Buffer[]) => void) => Promise<void>): Promise<{ digest: Sha256; size: number }> {
    const tmp = tempPathFor(path.join(this.dir, 'stream'));
    const hash = createHash('sha256');
    let size = 0;
    try {
      await this.writing(async () => {
        const fd = openSync(tmp, 'w', 0o444);
        try {
          await produce((bytes) => {
            const bufs = Array.isArray(bytes) ? bytes : [bytes];
            const at = size;
            for (const b of bufs) {
              hash.update(b);
              size += b.length;
            }
            writevAllSync(fd, bufs, at);
          });
        } finally {
          closeSync(fd);
        }
      });
      const digest = asSha256(hash.digest('hex'));
      if (this.verified.has(digest)) await fs.rm(tmp, { force: true });
      else {
        // The bytes just hashed replace whatever file has that name: a damaged copy heals for the price of a rename.
        try {
          await this.writing(() => fs.rename(tmp, this.pathOf(digest)));
          this.verified.add(digest);
        } catch (e) {
          await fs.rm(tmp, { force: true });
          // One that cannot be replaced is still read through the verifier.
          if (!(await this.has(digest))) throw e;
        }
      }
      this.known.add(digest);
      this.used.blobs.add(digest);
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
    const res = st.size <= COALESCE ? await this.putBytes(await fs.readFile(hostPath)) : await this.putFile(hostPath);
    this.statCache.set(hostPath, { stat: id, digest: res.digest, size: res.size });
    this.statCacheDirty = true;
    return res;
  }

  /** A large file, read into one reused buffer: each piece is hashed and written before the next read. */
  private putFile(hostPath: string): Promise<{ digest: Sha256; size: number }> {
    return this.putWritten(async (write) => {
      const fh = await fs.open(hostPath, 'r');
      const buf = Buffer.allocUnsafe(COALESCE);
      try {
        for (let pos = 0; ; ) {
          const { bytesRead } = await fh.read(buf, 0, COALESCE, pos);
          if (bytesRead === 0) break;
          write(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
      } finally {
        await fh.close();
      }
    });
  }

  /** What the stat cache knows of a stored host file's capabilities, while the file is as it was then. */
  hostCaps(hostPath: string, st: Stats): string | null | undefined {
    const hit = this.statCache.get(hostPath);
    return hit && hit.stat === statId(st) ? hit.caps : undefined;
  }

  /** Keep a stored host file's capabilities with its stat cache entry (nothing, when the file has changed since). */
  rememberHostCaps(hostPath: string, st: Stats, caps: string | null): void {
    const hit = this.statCache.get(hostPath);
    if (!hit || hit.stat !== statId(st) || hit.caps === caps) return;
    hit.caps = caps;
    this.statCacheDirty = true;
  }

  /** Digest of a host file via the stat cache, for cache keys; stores the content as a side effect. */
  async digestHostFile(hostPath: string): Promise<Sha256> {
    return (await this.putHostFile(hostPath)).digest;
  }

  /**
   * Digest of a host file whose content is not wanted in the store (a tarball
   * source names its file by it in the lock: its tree is imported already). The stat cache answers for
   * an unchanged file, whether its content is stored or not. `opened`: the caller's handle on the
   * file (read from its start, left open), so the digest is of the file the caller read.
   */
  async hashHostFile(hostPath: string, opened?: FileHandle): Promise<Sha256> {
    // O_NONBLOCK: a FIFO put where the file was is refused below, not waited on.
    const fh = opened ?? (await fs.open(hostPath, constants.O_RDONLY | constants.O_NONBLOCK));
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error(`${hostPath} is not a regular file`);
      const hit = this.statCache.get(hostPath);
      if (hit && hit.stat === statId(st)) return hit.digest;
      const { hex, size } = await hashOpenFile(fh, Buffer.allocUnsafe(COALESCE));
      const digest = asSha256(hex);
      this.noteHostFile(hostPath, st, digest, size);
      return digest;
    } finally {
      if (!opened) await fh.close();
    }
  }

  /** A host file's digest found by a reader that went through all of it (stat taken before it read). */
  noteHostFile(hostPath: string, st: Stats, digest: Sha256, size: number): void {
    if (size !== st.size) return; // it changed while it was read
    this.statCache.set(hostPath, { stat: statId(st), digest, size });
    this.statCacheDirty = true;
  }

  /** A content's bytes, from its blob file or its pack, checked against its digest. */
  async read(digest: Sha256): Promise<Buffer> {
    return this.readSync(digest);
  }

  /**
   * Synchronous read, for the tar writer's many small files: one pread (or
   * one read of the blob file) without a round trip through libuv's thread
   * pool each time. The bytes are hashed before they are returned.
   */
  readSync(digest: Sha256): Buffer {
    const loc = this.locations.get(digest);
    const data = loc ? this.readPacked(loc) : this.readBlobFile(digest);
    if (typeof data === 'string') throw this.bad(digest, data);
    // The SBOM reads every file the layer tar just read: a packed content is hashed once per process.
    if (loc && data.length === loc.size && this.verifiedPacked.has(digest)) return data;
    const why = mismatch(digest, data, loc?.size);
    if (why) throw this.bad(digest, why);
    if (loc) this.verifiedPacked.add(digest);
    return data;
  }

  private readBlobFile(digest: Sha256): Buffer | string {
    const f = openRegularSync(this.pathOf(digest));
    if (typeof f === 'string') return f;
    try {
      return preadAll(f.fd, 0, f.size);
    } finally {
      closeSync(f.fd);
    }
  }

  private readPacked(loc: PackLocation): Buffer | string {
    const fd = this.packFd(loc.pack);
    if (typeof fd === 'string') return `is in pack ${loc.pack}, which ${fd}`;
    if (loc.size > PACK_WINDOW) return preadAll(fd, loc.offset, loc.size);
    const w = this.window;
    if (!w || w.pack !== loc.pack || loc.offset < w.offset || loc.offset + loc.size > w.offset + w.data.length) {
      // A window moves forward for reads in pack order (imports, layer tars); a read elsewhere
      // (the SBOM's, in package order) reads just its bytes, not 4 MiB for a small file.
      const forward = !w || (w.pack === loc.pack && loc.offset >= w.offset && loc.offset < w.offset + w.data.length + PACK_WINDOW);
      if (!forward) return preadAll(fd, loc.offset, loc.size);
      this.window = { pack: loc.pack, offset: loc.offset, data: preadAll(fd, loc.offset, PACK_WINDOW) };
    }
    const start = loc.offset - this.window!.offset;
    // A slice, not a copy: each window is a fresh buffer, never written again.
    return this.window!.data.subarray(start, start + loc.size);
  }

  private window?: { pack: string; offset: number; data: Buffer };

  /** Buffers for readInto, one set per caller (a tar being written): reused from one content to the next. */
  scratch(): ReadScratch {
    return { buf: Buffer.allocUnsafe(PACK_WINDOW), pack: '', offset: 0, len: 0 };
  }

  /**
   * A content's bytes, handed to `emit` in order and checked against its digest
   * (a bad one is dropped and thrown once read). Each piece lies in `scratch`
   * and is valid only during the call: nothing is allocated per content, so
   * writing a tar of any size leaves no garbage buffers behind. `size`, when
   * the caller knows it, must be the content's. A large content awaits `pause`
   * every few MiB (by default a turn of the event loop; a stream's writer
   * passes its back-pressure, so a slow reader never has a whole file queued).
   */
  async readInto(digest: Sha256, scratch: ReadScratch, emit: (piece: Buffer) => void, size?: number, pause: () => Promise<void> = nextTurn): Promise<void> {
    const loc = this.locations.get(digest);
    let fd: number;
    let offset = 0;
    let owned: number | undefined;
    const known = size;
    if (loc) {
      const f = this.packFd(loc.pack);
      if (typeof f === 'string') throw this.bad(digest, `is in pack ${loc.pack}, which ${f}`);
      fd = f;
      offset = loc.offset;
      size = loc.size;
      if (known !== undefined && known !== size) throw wrongSize(digest, size, known);
      // Most contents are small and in pack order: served from a window read ahead, as readPacked does.
      if (size <= PACK_WINDOW) {
        const w = scratch;
        if (w.pack !== loc.pack || offset < w.offset || offset + size > w.offset + w.len) {
          w.pack = loc.pack;
          w.offset = offset;
          w.len = preadInto(fd, w.buf, offset, PACK_WINDOW);
        }
        const piece = w.buf.subarray(offset - w.offset, Math.min(offset - w.offset + size, w.len));
        if (!this.verifiedPacked.has(digest) || piece.length !== size) {
          const why = mismatch(digest, piece, size);
          if (why) throw this.bad(digest, why);
          this.verifiedPacked.add(digest);
        }
        emit(piece);
        return;
      }
    } else {
      const f = openRegularSync(this.pathOf(digest));
      if (typeof f === 'string') throw this.bad(digest, f);
      fd = owned = f.fd;
      size = f.size;
      if (known !== undefined && known !== size) {
        closeSync(owned);
        throw wrongSize(digest, size, known);
      }
    }
    // A large content (or a blob file): read in pieces into the scratch buffer, hashed on the way.
    scratch.pack = '';
    const check = loc ? !this.verifiedPacked.has(digest) : !this.verified.has(digest);
    const hash = check ? createHash('sha256') : undefined;
    let done = 0;
    try {
      while (done < size) {
        const n = preadInto(fd, scratch.buf, offset + done, Math.min(PACK_WINDOW, size - done));
        if (n === 0) break;
        const piece = scratch.buf.subarray(0, n);
        hash?.update(piece);
        emit(piece);
        done += n;
        if (done % TURN < n) await pause();
      }
    } finally {
      if (owned !== undefined) closeSync(owned);
    }
    if (done !== size) throw this.bad(digest, `has ${done} bytes where ${loc ? 'its index' : 'its file'} says ${size}`);
    if (hash && hash.digest('hex') !== digest) throw this.bad(digest, 'does not match its digest');
    if (loc) this.verifiedPacked.add(digest);
    else this.verified.add(digest);
  }

  /**
   * Copy a content into `fd` at `at`, `size` bytes (the caller's record of it).
   * A large blob file is copied by a thread of its own (copy-thread.ts), so the
   * copy goes on while this thread does other work (the SBOM, made beside the
   * exports); it is hashed there unless this process already found it right.
   * Anything else goes through readInto. Nothing is in flight once this
   * returns or throws.
   */
  async copyInto(digest: Sha256, fd: number, at: number, size: number): Promise<void> {
    if (this.locations.has(digest) || size < THREAD_COPY) {
      let pos = at;
      await this.readInto(digest, this.scratch(), (piece) => {
        writevAllSync(fd, [piece], pos);
        pos += piece.length;
      }, size);
      return;
    }
    const f = openRegularSync(this.pathOf(digest));
    if (typeof f === 'string') throw this.bad(digest, f);
    const check = !this.verified.has(digest);
    let r: CopyResult;
    try {
      if (f.size !== size) throw wrongSize(digest, f.size, size);
      r = await copyOnThread({ from: f.fd, to: fd, at, size, hash: check });
    } finally {
      closeSync(f.fd);
    }
    if (r.copied !== size) throw this.bad(digest, `has ${r.copied} bytes where its file says ${size}`);
    if (check) {
      if (r.digest !== digest) throw this.bad(digest, 'does not match its digest');
      this.verified.add(digest);
    }
  }

  /**
   * A content as a stream that fails, at its end, when the bytes are not the
   * digest's (and drops the bad blob). `size`, when the caller knows it, makes
   * an over-long blob fail as soon as it is.
   */
  readStream(digest: Sha256, size?: number): Readable {
    const loc = this.locations.get(digest);
    let src: Readable;
    if (loc) {
      const fd = this.packFd(loc.pack);
      if (typeof fd === 'string') throw this.bad(digest, `is in pack ${loc.pack}, which ${fd}`);
      src = createReadStream('', { fd, start: loc.offset, end: loc.offset + loc.size - 1, autoClose: false, highWaterMark: COALESCE });
      size = loc.size;
    } else {
      const f = openRegularSync(this.pathOf(digest));
      if (typeof f === 'string') throw this.bad(digest, f);
      src = createReadStream('', { fd: f.fd, highWaterMark: COALESCE });
      if (this.verified.has(digest)) return src;
    }
    return pipe(src, verifier(digest, size, (d) => this.bad(digest, d)), () => {});
  }

  /** Copy a content to a new file, checked on the way. */
  async copyTo(digest: Sha256, dest: string, mode: number): Promise<void> {
    const loc = this.locations.get(digest);
    const size = loc ? loc.size : await fs.lstat(this.pathOf(digest)).then((s) => s.size, () => 0);
    try {
      if (size <= COALESCE) await fs.writeFile(dest, this.readSync(digest), { mode });
      else await pipeline(this.readStream(digest), createWriteStream(dest, { mode }));
    } catch (e) {
      if (e instanceof CorruptBlobError) await fs.rm(dest, { force: true });
      throw e;
    }
    await fs.chmod(dest, mode);
  }

  /**
   * Check a blob file whole, once per process (for callers that link it
   * rather than read it): a CorruptBlobError when it is bad.
   */
  verifyFile(digest: Sha256): Promise<void> {
    if (this.verified.has(digest) && !this.locations.has(digest)) return Promise.resolve();
    let p = this.verifying.get(digest);
    if (!p) {
      p = pipeline(this.readStream(digest), new Writable({ write: (_c, _e, cb) => cb() })).then(() => {
        this.verified.add(digest);
      });
      p.catch(() => this.verifying.delete(digest));
      this.verifying.set(digest, p);
    }
    return p;
  }

  /** Remove a bad content (a blob file, or the whole pack that holds it) and say so. */
  private bad(digest: Sha256, detail: string): CorruptBlobError {
    const loc = this.locations.get(digest);
    const file = loc ? `${this.packPath(loc.pack)} at byte ${loc.offset}` : this.pathOf(digest);
    this.drop(digest);
    const err = new CorruptBlobError(digest, file, detail);
    err.pack = loc?.pack;
    this.corrupt.push(err);
    return err;
  }

  /** Forget and delete a content; for a packed one, its pack and index go. */
  drop(digest: Sha256): void {
    const loc = this.locations.get(digest);
    try {
      if (loc) this.dropPack(loc.pack);
      else rmSync(this.pathOf(digest), { recursive: true, force: true });
    } catch {
      // a read-only cache: the next verify or gc says so
    }
    this.known.delete(digest);
    this.verified.delete(digest);
    this.used.blobs.delete(digest);
  }

  private dropPack(id: string): void {
    const fd = this.packFds.get(id);
    if (typeof fd === 'number') closeSync(fd);
    this.packFds.delete(id);
    if (this.window?.pack === id) this.window = undefined;
    for (const [d, l] of this.locations)
      if (l.pack === id) {
        this.locations.delete(d);
        this.verifiedPacked.delete(d);
      }
    this.used.packs.delete(id);
    rmSync(this.packPath(id) + '.idx.json', { force: true });
    rmSync(this.packPath(id), { recursive: true, force: true });
  }

  private packPath(id: string): string {
    if (!PACK_ID.test(id)) throw new Error(`not a pack name: ${JSON.stringify(id)}`);
    return path.join(this.packDir, id);
  }

  /** A pack's open descriptor, or why it cannot be read. */
  private packFd(id: string): number | string {
    let fd = this.packFds.get(id);
    if (fd === undefined) {
      const f = openRegularSync(this.packPath(id));
      if (typeof f === 'string') return f;
      fd = f.fd;
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
    const file = this.packPath(id);
    await this.writing(() => fs.mkdir(this.packDir, { recursive: true }));
    await sweepStaleTemps(this.packDir);
    return new PackWriter(this, id, tempPathFor(file));
  }

  /** A pack that is the imported tar itself, its contents indexed in place (store/inplace-pack.ts). */
  async beginPackInPlace(id: string): Promise<InPlacePackWriter> {
    const file = this.packPath(id);
    await this.writing(() => fs.mkdir(this.packDir, { recursive: true }));
    await sweepStaleTemps(this.packDir);
    return new InPlacePackWriter(this, id, tempPathFor(file));
  }

  /** Called by PackWriter.finish: make a finished pack's contents readable. */
  async commitPack(id: string, tmp: string, index: [string, number, number][]): Promise<void> {
    await this.writing(async () => {
      await fs.rename(tmp, this.packPath(id));
      await writeJsonRowsAtomic(this.packPath(id) + '.idx.json', index);
    });
    this.register(id, index);
    // Its bytes are the ones this process hashed on their way in.
    for (const [d] of index) if (this.locations.get(d)?.pack === id) this.verifiedPacked.add(d);
  }

  /** Make the contents of an earlier pack readable; false when it is gone or its index is not one (then it is removed). */
  async loadPack(id: string): Promise<boolean> {
    const file = this.packPath(id);
    const doc = await readJsonCapped(file + '.idx.json', INDEX_CAP);
    if (!doc) return false;
    const f = openRegularSync(file);
    if (typeof f !== 'string') closeSync(f.fd);
    const index = 'value' in doc && typeof f !== 'string' ? packIndex(doc.value, f.size) : undefined;
    if (!index) {
      if (f !== 'is missing' || 'bad' in doc) this.dropPack(id);
      return false;
    }
    this.register(id, index);
    return true;
  }

  /** The id of the loaded pack holding `digest`, when it lives in one rather than in a blob file. */
  packOf(digest: string): string | undefined {
    return this.locations.get(digest)?.pack;
  }

  /** A finished pack's file and index file (for copying elsewhere), or undefined when it is not here. */
  packFiles(id: string): { pack: string; index: string } | undefined {
    const pack = this.packPath(id);
    const f = openRegularSync(pack);
    if (typeof f === 'string') return undefined;
    closeSync(f.fd);
    return { pack, index: pack + '.idx.json' };
  }

  /**
   * Take a pack made elsewhere (a shared cache's): its index is checked like
   * one of ours, its contents are checked against their digests when read.
   * `packFile` is moved into the store.
   */
  async adoptPack(id: string, packFile: string, index: unknown): Promise<boolean> {
    const f = openRegularSync(packFile);
    if (typeof f === 'string') return false;
    closeSync(f.fd);
    const rows = packIndex(index, f.size);
    if (!rows) return false;
    await this.writing(async () => {
      await fs.mkdir(this.packDir, { recursive: true });
      await fs.rename(packFile, this.packPath(id));
      await writeFileAtomic(this.packPath(id) + '.idx.json', JSON.stringify(rows));
    });
    this.register(id, rows);
    return true;
  }

  private register(id: string, index: [string, number, number][]): void {
    this.used.packs.add(id);
    for (const [digest, offset, size] of index) if (!this.locations.has(digest)) this.locations.set(digest, { pack: id, offset, size });
  }
}

/** A pack index as stored ([digest, offset, size] rows inside a pack of `packSize` bytes), or undefined. */
export function packIndex(v: unknown, packSize: number): [string, number, number][] | undefined {
  if (!Array.isArray(v)) return undefined;
  for (const row of v) {
    if (!Array.isArray(row) || row.length !== 3) return undefined;
    const [d, off, size] = row as unknown[];
    if (typeof d !== 'string' || !HEX64.test(d) || !Number.isSafeInteger(off) || !Number.isSafeInteger(size)) return undefined;
    if ((off as number) < 0 || (size as number) < 0 || (off as number) + (size as number) > packSize) return undefined;
  }
  return v as [string, number, number][];
}

async function readStatCache(file: string): Promise<[string, StatCacheEntry][] | undefined> {
  const doc = await readJsonCapped(file, INDEX_CAP);
  if (!doc) return [];
  if (!('value' in doc) || !Array.isArray(doc.value)) return undefined;
  for (const row of doc.value) {
    if (!Array.isArray(row) || row.length !== 2 || typeof row[0] !== 'string') return undefined;
    const e = row[1] as Partial<StatCacheEntry> | null;
    if (!e || typeof e.stat !== 'string' || typeof e.digest !== 'string' || !HEX64.test(e.digest) || !Number.isSafeInteger(e.size) || e.size! < 0) return undefined;
    if (e.caps !== undefined && e.caps !== null && (typeof e.caps !== 'string' || !CAPS_B64.test(e.caps))) return undefined;
  }
  return doc.value as [string, StatCacheEntry][];
}

/** Reused buffers of one reader of contents (BlobStore.readInto); `pack`, `offset`, `len`: the window they hold. */
export interface ReadScratch {
  buf: Buffer;
  pack: string;
  offset: number;
  len: number;
}

/** A content whose stored size is not the one its reader was told. */
function wrongSize(digest: Sha256, actual: number, expected: number): Error {
  return new Error(`content sha256:${digest} has ${actual} bytes where ${expected} were expected`);
}

/** Read up to `len` bytes at `offset` into the start of `buf`; fewer when the file ends first. */
function preadInto(fd: number, buf: Buffer, offset: number, len: number): number {
  let done = 0;
  while (done < len) {
    const n = readSync(fd, buf, done, len - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Read `size` bytes at `offset`, fewer when the file ends first. */
function preadAll(fd: number, offset: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  return buf.subarray(0, preadInto(fd, buf, offset, size));
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
    const digest = asSha256(hash.digest('hex'));
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
    writevAllSync(this.fd, this.buffered, this.flushed);
    this.flushed = this.offset;
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
