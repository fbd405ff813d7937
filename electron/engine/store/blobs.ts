// Content-addressed blob store: every file content and every layer tar lives
// once, at blobs/sha256/<hex>. Blobs are written to a temporary name and
// renamed after their digest is known, so a blob that exists is complete.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Sha256 } from '../../../shared/brand';
import { sweepStaleTemps, tempPathFor, writeFileAtomic } from './atomic';

export interface StatCacheEntry {
  stat: string;
  digest: Sha256;
  size: number;
}

export class BlobStore {
  readonly dir: string;
  /** host path -> digest, valid while the file's identity and times are unchanged. */
  private statCache = new Map<string, StatCacheEntry>();
  private statCacheDirty = false;
  private known = new Set<string>();

  constructor(readonly cacheDir: string) {
    this.dir = path.join(cacheDir, 'blobs', 'sha256');
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
    if (this.known.has(digest)) return true;
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
          for await (const chunk of src) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
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

  read(digest: Sha256): Promise<Buffer> {
    return fs.readFile(this.pathOf(digest));
  }

  readStream(digest: Sha256): Readable {
    return createReadStream(this.pathOf(digest));
  }
}

function statId(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}
