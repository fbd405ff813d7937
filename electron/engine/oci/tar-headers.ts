// A header-only tar scanner for read-only inspection (issue 17): the tar of a
// layer stored in place in a file, each 512-byte header decoded into one
// reused record (no object per entry, no xattrs kept, no ids kept), contents
// skipped — or, with a sink, read once in order and handed to it (the layer's
// digest). Every check of oci/tar.ts's decoder is made here too, with its
// helpers and its messages: checksum, sizes within the file, PAX and GNU
// records bounded and well-formed, no NUL in names or link targets, clean
// relative names, numeric fields that are numbers.
import { noteTarEntries } from '../tools/heap';
import { BLOCK, MAX_META_RECORD, TYPES, TarError, TarWindow, checksumOk, cleanName, decimal, gnuLongText, nameField, isZero, octal, parsePax, type ByteSink, type TarType } from './tar';

/** What inspection reads of an entry. One object, rewritten for every header: copy what you keep. */
export interface HeaderRecord {
  /** A clean relative path ("" is the root). */
  name: string;
  /** Symlinks: as written; hard links: a clean relative path; others: "". */
  linkname: string;
  type: TarType;
  size: number;
}

const META = new Set(['x', 'g', 'L', 'K']);

/** The decoder's state between headers: pending PAX, global ids and GNU long names. */
class Pending {
  pax: Record<string, string> | undefined;
  globalUid: string | undefined;
  globalGid: string | undefined;
  longName: string | undefined;
  longLink: string | undefined;
  metaFlag = '';
  metaAt = 0;

  /** Decode the header at `pos` into `out`; the size of a meta record's data (negative: -1 - size), or END. */
  header(h: Buffer, pos: number, remaining: number, out: HeaderRecord): number {
    if (isZero(h)) return END;
    if (!checksumOk(h)) throw new TarError(`not a tar archive: bad header checksum at byte ${pos}`);
    const flag = String.fromCharCode(h[156]);
    const pax = this.pax;
    const size = pax?.size !== undefined ? decimal(pax.size, 'PAX size', pos) : octal(h, 124, 12, 'size', pos);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (padded > remaining) throw new TarError(`truncated at byte ${pos + BLOCK + remaining}: the entry at byte ${pos} declares ${size} bytes of data, ${remaining} remain`);
    if (META.has(flag)) {
      if (size > MAX_META_RECORD) throw new TarError(`a ${flag === 'x' || flag === 'g' ? 'PAX' : 'GNU long-name'} record of ${size} bytes at byte ${pos} (at most ${MAX_META_RECORD} allowed)`);
      this.metaFlag = flag;
      this.metaAt = pos;
      return -1 - size;
    }
    // "ustar" at 257, byte by byte: Buffer.compare's checks cost more than the five bytes.
    const ustar = h[257] === 0x75 && h[258] === 0x73 && h[259] === 0x74 && h[260] === 0x61 && h[261] === 0x72;
    const prefix = ustar && h[345] !== 0 ? nameField(h, 345, 155) : '';
    const rawName = pax?.path ?? this.longName ?? (prefix ? prefix + '/' : '') + nameField(h, 0, 100);
    let type: TarType = TYPES[flag] ?? 'other';
    if ((flag === '\0' || flag === '0') && rawName.endsWith('/')) type = 'dir';
    // A link field read from the header cannot hold a NUL; only links need its text.
    const rawLink = pax?.linkpath ?? this.longLink ?? (type === 'link' || type === 'symlink' ? nameField(h, 157, 100) : '');
    out.name = cleanName(rawName);
    if (rawLink.includes('\0')) throw new TarError(`entry ${JSON.stringify(out.name)} has a NUL byte in its link target`);
    out.linkname = rawLink;
    if (type === 'link') {
      try {
        out.linkname = cleanName(rawLink);
      } catch {
        throw new TarError(`hard link ${JSON.stringify(rawName)} points out of the archive with ".." (${rawLink})`);
      }
    }
    // Read to be checked, as the full decoder does, though inspection keeps none of them.
    octal(h, 100, 8, 'mode', pos);
    const uid = pax?.uid ?? this.globalUid;
    if (uid !== undefined) decimal(uid, 'PAX uid', pos);
    else octal(h, 108, 8, 'uid', pos);
    const gid = pax?.gid ?? this.globalGid;
    if (gid !== undefined) decimal(gid, 'PAX gid', pos);
    else octal(h, 116, 8, 'gid', pos);
    if (type === 'char' || type === 'block') {
      octal(h, 329, 8, 'devmajor', pos);
      octal(h, 337, 8, 'devminor', pos);
    }
    out.type = type;
    out.size = size;
    this.pax = undefined;
    this.longName = this.longLink = undefined;
    return 0;
  }

  /** The data of the record `header` asked for. */
  meta(data: Buffer): void {
    if (this.metaFlag === 'L' || this.metaFlag === 'K') {
      this[this.metaFlag === 'L' ? 'longName' : 'longLink'] = gnuLongText(data);
      return;
    }
    const { pax } = parsePax(data, this.metaAt);
    if (this.metaFlag === 'g') {
      if (pax.uid !== undefined) this.globalUid = pax.uid;
      if (pax.gid !== undefined) this.globalGid = pax.gid;
      return;
    }
    this.pax = { ...this.pax, ...pax };
  }
}

const END = 1;

/**
 * Every entry of the tar in bytes [start, end) of an open file, in order,
 * handed to `onEntry` in one reused record, read through a TarWindow: without
 * `sink`, contents are skipped; with it, every byte of the range goes to the
 * sink once, in order, to its end, in the same pass that reads the headers.
 */
export function scanHeaders(fd: number, start: number, end: number, sink: ByteSink | undefined, onEntry: (h: HeaderRecord) => void): void {
  const win = new TarWindow(fd, start, end, sink);
  const dec = new Pending();
  const rec: HeaderRecord = { name: '', linkname: '', type: 'other', size: 0 };
  let entries = 0;
  for (let pos = 0; pos < win.total; ) {
    const step = dec.header(win.header(pos), pos, win.total - pos - BLOCK, rec);
    if (step === END) break;
    const size = step < 0 ? -1 - step : rec.size;
    if (step < 0) dec.meta(Buffer.from(win.at(pos + BLOCK, size)));
    else {
      noteTarEntries(++entries);
      onEntry(rec);
    }
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  win.finish();
}
