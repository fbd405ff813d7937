// A pack that is the imported tar itself: the tar's bytes go to disk as they
// are read (decompressed once, when they were compressed), and each file's
// content is indexed where it already lies (its data offset and size in the
// tar) instead of being copied into a pack of contents. The tar reader and the
// contents' hashes see the same bytes in the same pass; the index is checked
// against the pack's size whenever it is loaded (BlobStore.loadPack), and every
// content against its digest when first read.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { asSha256, type Sha256 } from '../../../shared/brand';
import type { BlobStore } from './blobs';
import { writevAllSync } from './writev';

const COALESCE = 1 << 20;

/** Where a content sits in the stream: the tar reader's header fields this writer needs. */
export interface ContentPlace {
  dataOffset: number;
  size: number;
}

export class InPlacePackWriter {
  private fd: number;
  private written = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index: [string, number, number][] = [];
  /** Each content's digest, one string for all the files that hold it (a tree keeps many). */
  private seen = new Map<string, Sha256>();
  private closed = false;
  /** Where the tar's entries end, when the reader stopped there (endAt): the pack is cut there, whatever chunk it had. */
  private end?: number;
  /** teeFile's hash of the whole file (the pack is its bytes): the lock names a tarball by it. */
  private fileHash?: Hash;
  /** After `finish`, for a pack read by teeFile: the file's sha256 and size. */
  file?: { digest: Sha256; size: number };

  constructor(
    private readonly store: BlobStore,
    readonly id: string,
    private readonly tmp: string,
  ) {
    this.fd = openSync(tmp, 'w', 0o444);
  }

  /** The stream, passed on unchanged, every byte of it written to the pack on the way. */
  async *tee(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of src) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes >= COALESCE) this.flush();
      yield chunk;
    }
  }

  /**
   * A plain (uncompressed) tar file, read into two buffers that take turns
   * (the next read runs while this chunk is parsed), written to the pack and
   * hashed whole as it goes. A chunk is valid until the one after it is asked for: the tar
   * reader and this pack's `add` are done with a chunk by then (they hash and
   * copy, never keep). No buffer per chunk, so no garbage for the GC to find late.
   * `fh` is the caller's, read from its start and left open.
   */
  async *teeFile(fh: FileHandle): AsyncGenerator<Buffer> {
    this.fileHash = createHash('sha256');
    const bufs = [Buffer.allocUnsafe(COALESCE), Buffer.allocUnsafe(COALESCE)];
    let turn = 0;
    let pos = 0;
    let next = fh.read(bufs[0], 0, COALESCE, 0);
    try {
      for (;;) {
        const { bytesRead } = await next;
        if (bytesRead === 0) break;
        const chunk = bufs[turn].subarray(0, bytesRead);
        pos += bytesRead;
        turn ^= 1;
        next = fh.read(bufs[turn], 0, COALESCE, pos);
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        this.fileHash.update(chunk);
        this.flush();
        yield chunk;
      }
    } finally {
      await next.catch(() => undefined);
    }
  }

  /**
   * One file's content, as the tar reader hands it out of the teed stream:
   * hashed, and indexed at its place (identical contents once, at the first).
   */
  async add(chunks: AsyncIterable<Buffer>, place?: ContentPlace): Promise<{ digest: Sha256; size: number }> {
    if (!place) throw new Error('an in-place pack indexes contents by their place in the tar');
    const hash = createHash('sha256');
    let size = 0;
    for await (const c of chunks) {
      hash.update(c);
      size += c.length;
    }
    if (size !== place.size) throw new Error(`content at byte ${place.dataOffset} is ${size} bytes, its header says ${place.size}`);
    const digest = asSha256(hash.digest('hex'));
    const first = this.seen.get(digest);
    if (first !== undefined) return { digest: first, size };
    this.seen.set(digest, digest);
    this.index.push([digest, place.dataOffset, size]);
    return { digest, size };
  }

  /** The tar's entries end at `offset` and nothing after is read: the pack keeps exactly the bytes before it. */
  endAt(offset: number): void {
    this.end = offset;
  }

  private flush(): void {
    writevAllSync(this.fd, this.pending, this.written);
    this.written += this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
  }

  async finish(): Promise<void> {
    this.flush();
    if (this.fileHash) this.file = { digest: asSha256(this.fileHash.digest('hex')), size: this.written };
    const size = this.end !== undefined && !this.fileHash ? Math.min(this.end, this.written) : this.written;
    ftruncateSync(this.fd, size);
    this.close();
    for (const [, off, n] of this.index) if (off + n > size) throw new Error(`pack ${this.id}: a content ends past the tar's ${size} bytes`);
    await this.store.commitPack(this.id, this.tmp, this.index);
  }

  private close(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
  }

  async abort(): Promise<void> {
    this.close();
    await fs.rm(this.tmp, { force: true });
  }
}
