// The one tar reader. Every archive Scratchyard reads (tarball sources, Debian
// bases, image layers, the members of an image tar) goes through the header
// checks here: checksum, sizes that are non-negative integers fitting the
// archive, PAX and GNU long records bounded and well-formed, no NUL in names,
// names that are clean relative paths, truncation reported with its offset.
// Two drivers share one header decoder: a stream (contents handed out in the
// chunks they arrive in, never a whole file) and a file read in place
// (contents skipped by seeking, as `tar -t` does).
import { isUtf8 } from 'node:buffer';
import { readSync } from 'node:fs';
import { escapeBytes } from '../../../shared/grammar';
import { noteTarEntries } from '../tools/heap';

/** Anything wrong with an archive: what, and at which byte of the archive. */
export class TarError extends Error {}

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo' | 'other';

export interface TarHeader {
  /** A clean relative path: no "..", no leading "/" or "./", no empty segment ("" is the root). */
  name: string;
  /** As written for symlinks (data, never resolved on the host); a clean relative path for hard links. */
  linkname: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* values, base64 (binary-safe). */
  xattrs?: Record<string, string>;
  /** Offset of the entry's data from the start of the archive. */
  dataOffset: number;
}

/** PAX and GNU long-name records above this are refused (GNU tar's own names stop at 4 KiB of PATH_MAX). */
export const MAX_META_RECORD = 1 << 20;
export const BLOCK = 512;

export const TYPES: Record<string, TarType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };

const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** A name from an archive as a clean relative path, or a TarError naming it. */
export function cleanName(name: string): string {
  // Most names are clean already but for a leading "./" or a folder's trailing "/": checked without splitting.
  let s = name.startsWith('./') ? name.slice(2) : name;
  if (s.endsWith('/')) s = s.slice(0, -1);
  // A "." or ".." segment starts the name or follows a "/": most names have neither, and skip the pattern.
  const dotted = s.startsWith('.') || s.includes('/.');
  if (s !== '' && !s.startsWith('/') && !s.endsWith('/') && !s.includes('//') && !s.includes('\0') && !(dotted && DOT_SEGMENT.test(s))) return s;
  if (name.includes('\0')) throw new TarError(`entry ${JSON.stringify(name)} has a NUL byte in its name`);
  const out: string[] = [];
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw new TarError(`entry ${JSON.stringify(name)} climbs out of the archive root with ".."`);
    out.push(seg);
  }
  return out.join('/');
}

// ---- the header decoder, shared by both drivers ------------------------------

type Step =
  | { kind: 'end' }
  /** A record whose data the decoder needs (PAX, GNU long name or link). */
  | { kind: 'meta'; size: number }
  | { kind: 'entry'; header: TarHeader };

class HeaderDecoder {
  private pax: Record<string, string> = {};
  private global: Record<string, string> = {};
  private xattrs: Record<string, string> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  private metaFlag = '';
  private metaAt = 0;
  private entries = 0;

  /**
   * One 512-byte header at `pos`. `remaining` is what the archive holds after
   * the header when that is known (a file read in place), for an early check.
   */
  header(h: Buffer, pos: number, remaining: number | undefined): Step {
    if (isZero(h)) return { kind: 'end' };
    if (!checksumOk(h)) throw new TarError(`not a tar archive: bad header checksum at byte ${pos}`);
    const flag = String.fromCharCode(h[156]);
    const size = this.pax.size !== undefined ? decimal(this.pax.size, 'PAX size', pos) : octal(h, 124, 12, 'size', pos);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (remaining !== undefined && padded > remaining) throw new TarError(`truncated at byte ${pos + BLOCK + remaining}: the entry at byte ${pos} declares ${size} bytes of data, ${remaining} remain`);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META_RECORD) throw new TarError(`a ${flag === 'x' || flag === 'g' ? 'PAX' : 'GNU long-name'} record of ${size} bytes at byte ${pos} (at most ${MAX_META_RECORD} allowed)`);
      this.metaFlag = flag;
      this.metaAt = pos;
      return { kind: 'meta', size };
    }
    const ustar = h.toString('latin1', 257, 262) === 'ustar';
    const prefix = ustar && h[345] !== 0 ? nameField(h, 345, 155) : '';
    const rawName = this.pax.path ?? this.longName ?? (prefix ? prefix + '/' : '') + nameField(h, 0, 100);
    let type: TarType = TYPES[flag] ?? 'other';
    // Old tars mark folders by a trailing "/" on a plain file.
    if ((flag === '\0' || flag === '0') && rawName.endsWith('/')) type = 'dir';
    const rawLink = this.pax.linkpath ?? this.longLink ?? nameField(h, 157, 100);
    const name = cleanName(rawName);
    if (rawLink.includes('\0')) throw new TarError(`entry ${JSON.stringify(name)} has a NUL byte in its link target`);
    let linkname = rawLink;
    if (type === 'link') {
      try {
        linkname = cleanName(rawLink);
      } catch {
        throw new TarError(`hard link ${JSON.stringify(rawName)} points out of the archive with ".." (${rawLink})`);
      }
    }
    const ids = { ...this.global, ...this.pax };
    const header: TarHeader = {
      name,
      linkname,
      type,
      mode: octal(h, 100, 8, 'mode', pos) & 0o7777,
      uid: ids.uid !== undefined ? decimal(ids.uid, 'PAX uid', pos) : octal(h, 108, 8, 'uid', pos),
      gid: ids.gid !== undefined ? decimal(ids.gid, 'PAX gid', pos) : octal(h, 116, 8, 'gid', pos),
      size,
      devmajor: type === 'char' || type === 'block' ? octal(h, 329, 8, 'devmajor', pos) : 0,
      devminor: type === 'char' || type === 'block' ? octal(h, 337, 8, 'devminor', pos) : 0,
      ...(this.xattrs ? { xattrs: this.xattrs } : {}),
      dataOffset: pos + BLOCK,
    };
    this.pax = {};
    this.xattrs = undefined;
    this.longName = this.longLink = undefined;
    noteTarEntries(++this.entries);
    return { kind: 'entry', header };
  }

  /** The data of the record `header` asked for. */
  meta(data: Buffer): void {
    const at = this.metaAt;
    if (this.metaFlag === 'L' || this.metaFlag === 'K') {
      this[this.metaFlag === 'L' ? 'longName' : 'longLink'] = gnuLongText(data);
      return;
    }
    const { pax, xattrs } = parsePax(data, at);
    if (this.metaFlag === 'g') {
      this.global = { ...this.global, ...pick(pax, ['uid', 'gid']) };
      return;
    }
    this.pax = { ...this.pax, ...pax };
    if (xattrs) this.xattrs = { ...this.xattrs, ...xattrs };
  }
}

/** A GNU long name or link record's text: up to its first NUL. */
export function gnuLongText(data: Buffer): string {
  const z = data.indexOf(0);
  return nameText(data, 0, z === -1 ? data.length : z);
}

/**
 * A name's bytes as text. Names are kept as UTF-8 text, so one that is not
 * UTF-8 is refused: decoded, its bad bytes would all become U+FFFD, and two
 * different names one. (Checked only when U+FFFD shows: the decode is the fast path.)
 */
export function nameText(b: Buffer, start: number, end: number): string {
  const s = b.toString('utf8', start, end);
  if (s.includes('\uFFFD') && !isUtf8(b.subarray(start, end))) {
    const shown = escapeBytes(b.toString('latin1', start, end));
    throw new TarError(`the name "${shown}" is not UTF-8 text (names are kept as UTF-8; decoded, its bytes could not be told from another name's)`);
  }
  return s;
}

function pick(o: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

export function isZero(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** The sum of the header with its checksum field as spaces; old tars summed signed bytes, both are accepted (as GNU tar does). */
export function checksumOk(h: Buffer): boolean {
  // The checksum field counts as 8 spaces. Two plain loops: the sum is over every header read, the signed one only when it differs.
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i++) unsigned += h[i];
  for (let i = 156; i < BLOCK; i++) unsigned += h[i];
  let want: number;
  try {
    want = octal(h, 148, 8, 'checksum', 0);
  } catch {
    return false;
  }
  if (want === unsigned) return true;
  // Bytes above 127 count negative in old (signed) archives.
  let high = 0;
  for (let i = 0; i < BLOCK; i++) if ((i < 148 || i >= 156) && h[i] > 127) high++;
  return want === unsigned - 256 * high;
}

/** A NUL-terminated name field (a path, its prefix, a link target), refused when not UTF-8. */
export function nameField(b: Buffer, at: number, len: number): string {
  const z = b.indexOf(0, at);
  return nameText(b, at, z === -1 || z > at + len ? at + len : z);
}

/**
 * A numeric header field: octal digits, padded by spaces or NULs, or GNU
 * base-256 when the top bit of the first byte is set. Negative (base-256 with
 * the sign bit) and unsafe integers are refused, as is anything else.
 */
export function octal(b: Buffer, at: number, len: number, name: string, pos: number): number {
  if (b[at] & 0x80) {
    if (b[at] & 0x40) throw new TarError(`negative ${name} in the header at byte ${pos}`);
    let v = b[at] & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + b[at + i];
    if (!Number.isSafeInteger(v)) throw new TarError(`${name} too large in the header at byte ${pos}`);
    return v;
  }
  let i = at;
  const end = at + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++, digits++) {
    const c = b[i];
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  for (; i < end; i++) {
    if (b[i] !== 0 && b[i] !== 0x20) throw new TarError(`${name} field is not an octal number (${JSON.stringify(b.toString('latin1', at, end))}) in the header at byte ${pos}`);
  }
  return digits ? v : 0;
}

export function decimal(s: string, name: string, pos: number): number {
  if (!/^\d{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) throw new TarError(`${name} ${JSON.stringify(s.slice(0, 40))} is not a non-negative integer (record before the header at byte ${pos})`);
  return Number(s);
}

/** "LEN key=value\n" records, each checked; SCHILY.xattr.* kept as raw bytes (base64). */
export function parsePax(data: Buffer, pos: number): { pax: Record<string, string>; xattrs?: Record<string, string> } {
  const pax: Record<string, string> = {};
  let xattrs: Record<string, string> | undefined;
  const bad = (why: string) => new TarError(`malformed PAX record at byte ${pos}: ${why}`);
  for (let at = 0; at < data.length; ) {
    // Padding NULs after the last record.
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    if (space === -1 || space - at > 8) throw bad('no length');
    const lenText = data.toString('latin1', at, space);
    if (!/^\d+$/.test(lenText)) throw bad(`length ${JSON.stringify(lenText)} is not a number`);
    const len = Number(lenText);
    if (len <= space - at + 1 || at + len > data.length) throw bad(`length ${len} does not fit the record`);
    if (data[at + len - 1] !== 0x0a) throw bad('a record does not end with a newline');
    const rec = data.subarray(space + 1, at + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw bad('a record has no key');
    const key = rec.toString('utf8', 0, eq);
    if (key.startsWith('SCHILY.xattr.')) (xattrs ??= {})[key.slice('SCHILY.xattr.'.length)] = rec.subarray(eq + 1).toString('base64');
    else pax[key] = key === 'path' || key === 'linkpath' ? nameText(rec, eq + 1, rec.length) : rec.toString('utf8', eq + 1);
    at += len;
  }
  return { pax, xattrs };
}

// ---- driver 1: a stream, contents handed out in bounded chunks ---------------

export interface TarStreamEntry {
  header: TarHeader;
  /** The entry's data as it arrives (chunks of the input, never more); read it or not, the reader skips what is left. */
  content: AsyncIterable<Buffer>;
}

/** Exact reads and skips over an async byte stream, counting the offset. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;
  offset = 0;
  private done = false;

  constructor(private readonly it: AsyncIterator<Buffer | Uint8Array | string>) {}

  private async more(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const c = r.value;
    this.buf = typeof c === 'string' ? Buffer.from(c) : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    this.at = 0;
    return true;
  }

  /** Exactly n bytes (n is small: a header or a bounded record), or fewer at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    if (this.buf.length - this.at >= n) {
      const out = this.buf.subarray(this.at, this.at + n);
      this.at += n;
      this.offset += n;
      return out;
    }
    // Across chunks: copy the pieces, not the chunks they sit in.
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      if (this.at >= this.buf.length && !(await this.more())) break;
      const take = Math.min(n - got, this.buf.length - this.at);
      this.buf.copy(out, got, this.at, this.at + take);
      this.at += take;
      got += take;
    }
    this.offset += got;
    return out.subarray(0, got);
  }

  /** Up to n bytes in the pieces they arrive in; stops short at the end of the stream. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    while (n > 0) {
      if (this.at >= this.buf.length && !(await this.more())) return;
      const take = Math.min(n, this.buf.length - this.at);
      const out = this.buf.subarray(this.at, this.at + take);
      this.at += take;
      this.offset += take;
      n -= take;
      yield out;
    }
  }

  async skip(n: number): Promise<number> {
    let skipped = 0;
    for await (const c of this.chunks(n)) skipped += c.length;
    return skipped;
  }

  /** Read and drop everything left, so hashes of the whole stream complete and producers finish. */
  async drain(): Promise<void> {
    this.at = this.buf.length;
    while (await this.more()) this.at = this.buf.length;
  }
}

/**
 * Every entry of a tar stream, in order, PAX and GNU records folded in. The
 * input is read to its end (past the end-of-archive blocks too), so whoever
 * hashes it sees every byte; unless `stopAt` is given, which is then told
 * the offset of the end-of-archive blocks and nothing after them is read (a
 * decompressed stream whose digest nobody takes: what follows them could be
 * gigabytes of zeros from a few compressed megabytes).
 */
export async function* readTar(input: AsyncIterable<Buffer | Uint8Array | string>, stopAt?: (offset: number) => void): AsyncGenerator<TarStreamEntry> {
  const it = input[Symbol.asyncIterator]();
  let finished = false;
  try {
    finished = yield* entries(new ByteReader(it), stopAt);
  } finally {
    // Stopped early (an error, the caller gave up, or the end reached without reading on): let the source close (a Readable is destroyed).
    if (!finished) await it.return?.().catch(() => undefined);
  }
}

/** Whether the input was read to its end. */
async function* entries(r: ByteReader, stopAt?: (offset: number) => void): AsyncGenerator<TarStreamEntry, boolean> {
  const dec = new HeaderDecoder();
  for (;;) {
    const pos = r.offset;
    const h = await r.read(BLOCK);
    if (h.length === 0) return true; // no end-of-archive blocks: tolerated, as GNU tar and tar-stream do
    if (h.length < BLOCK) throw new TarError(`truncated at byte ${r.offset}: a header cut short`);
    const step = dec.header(h, pos, undefined);
    if (step.kind === 'end') {
      if (stopAt) {
        stopAt(pos);
        return false;
      }
      await r.drain();
      return true;
    }
    if (step.kind === 'meta') {
      const data = await r.read(step.size);
      if (data.length < step.size) throw new TarError(`truncated at byte ${r.offset}: a record at byte ${pos} declares ${step.size} bytes`);
      dec.meta(Buffer.from(data));
      await padding(r, step.size, pos);
      continue;
    }
    const header = step.header;
    const size = header.size;
    let left = size;
    const content = (async function* () {
      for await (const c of r.chunks(left)) {
        left -= c.length;
        yield c;
      }
      if (left > 0) throw new TarError(`truncated at byte ${r.offset}: ${JSON.stringify(header.name)} declares ${size} bytes`);
    })();
    yield { header, content };
    if (left > 0 && (await r.skip(left)) < left) throw new TarError(`truncated at byte ${r.offset}: ${JSON.stringify(header.name)} declares ${size} bytes`);
    left = 0;
    await padding(r, size, pos);
  }
}

async function padding(r: ByteReader, size: number, pos: number): Promise<void> {
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad && (await r.skip(pad)) < pad) throw new TarError(`truncated at byte ${r.offset}: the entry at byte ${pos} is not padded to a block`);
}

// ---- driver 2: a file read in place, contents skipped -------------------------

const WINDOW = 1 << 20;

/** Where scanTar's bytes go when the caller verifies them: every byte of [start, end), once, in order. */
export interface ByteSink {
  update(bytes: Buffer): unknown;
}

/**
 * Bytes [start, end) of an open file, read for a header walk (scanTar here,
 * oci/tar-headers.ts's scanHeaders): a 1 MiB window that moves only when what
 * is asked for falls outside it, so contents are skipped, not read. With a
 * sink (a hash checking the layer's digest), the same pass reads what lies
 * between the windows too, and hands every byte of the range to the sink
 * exactly once, in order, to its end (finish).
 */
export class TarWindow {
  /** The range's length. */
  readonly total: number;
  private readonly buf: Buffer;
  /** Bytes [winStart, winStart + winLen) of the range are in buf. */
  private winStart = 0;
  private winLen = 0;
  /** With a sink: bytes [0, fed) went to it. */
  private fed = 0;

  constructor(
    private readonly fd: number,
    private readonly start: number,
    end: number,
    private readonly sink: ByteSink | undefined,
  ) {
    this.total = end - start;
    // A small layer gets a small window.
    this.buf = Buffer.allocUnsafe(Math.min(WINDOW, Math.max(this.total, BLOCK)));
  }

  /** The 512-byte header at `pos`, or a TarError when the range ends inside it. */
  header(pos: number): Buffer {
    if (pos + BLOCK > this.total) throw new TarError(`truncated at byte ${this.total}: a header cut short`);
    return this.at(pos, BLOCK);
  }

  /** Bytes [pos, pos + len) of the range (a view of the window: copy what you keep), or a TarError when they are not all there. */
  at(pos: number, len: number): Buffer {
    if (pos >= this.winStart && pos + len <= this.winStart + this.winLen) return this.buf.subarray(pos - this.winStart, pos - this.winStart + len);
    this.feedTo(pos);
    if (len > this.buf.length) {
      const big = Buffer.allocUnsafe(len);
      const n = this.fill(big, len, pos);
      if (n < len) throw new TarError(`truncated at byte ${pos + n}`);
      return big;
    }
    this.winStart = pos;
    this.winLen = this.fill(this.buf, Math.min(this.buf.length, this.total - pos), pos);
    if (this.winLen < len) throw new TarError(`truncated at byte ${pos + this.winLen}`);
    return this.buf.subarray(0, len);
  }

  /** The walk is over: the end-of-archive blocks and whatever follows them are part of the digest too. */
  finish(): void {
    this.feedTo(this.total);
  }

  /** Read up to `len` bytes at `pos` into `into`, feeding the sink what it has not had yet; how many were read. */
  private fill(into: Buffer, len: number, pos: number): number {
    let n = 0;
    while (n < len) {
      const got = readSync(this.fd, into, n, len - n, this.start + pos + n);
      if (got === 0) break;
      n += got;
    }
    if (this.sink && pos <= this.fed && pos + n > this.fed) {
      this.sink.update(into.subarray(this.fed - pos, n));
      this.fed = pos + n;
    }
    return n;
  }

  /** Read (and feed) the bytes between what was fed and `pos`: content the walk skips, the digest still covers. */
  private feedTo(pos: number): void {
    while (this.sink && this.fed < pos) {
      this.winLen = 0;
      if (this.fill(this.buf, Math.min(this.buf.length, pos - this.fed), this.fed) === 0) throw new TarError(`truncated at byte ${this.fed}`);
    }
  }
}

/**
 * Every header of the tar stored in bytes [start, end) of an open file, in
 * order, with offsets relative to `start`, read through a TarWindow: contents
 * skipped, or with `sink`, every byte of the range handed to it in the same pass.
 */
export function* scanTar(fd: number, start: number, end: number, sink?: ByteSink): Generator<TarHeader> {
  const win = new TarWindow(fd, start, end, sink);
  const dec = new HeaderDecoder();
  for (let pos = 0; pos < win.total; ) {
    const step = dec.header(win.header(pos), pos, win.total - pos - BLOCK);
    if (step.kind === 'end') break;
    const size = step.kind === 'entry' ? step.header.size : step.size;
    if (step.kind === 'meta') dec.meta(Buffer.from(win.at(pos + BLOCK, size)));
    else yield step.header;
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  win.finish();
}
