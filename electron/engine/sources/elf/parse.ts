// What the dynamic loader reads from an ELF file: class, byte order, machine,
// interpreter, NEEDED, RPATH, RUNPATH and SONAME. Pure: bytes in, facts out.
//
// Callers may pass only the head of a file. Anything the parser needs beyond
// the end of the buffer raises ElfTruncatedError, so the caller can retry with
// the whole file; any other inconsistency raises ElfError.

export interface ElfInfo {
  elfClass: 32 | 64;
  littleEndian: boolean;
  /** e_machine: 3 i386, 62 x86-64, 183 AArch64, ... */
  machine: number;
  /** e_type: 2 EXEC, 3 DYN (shared object or PIE). */
  type: number;
  /** PT_INTERP: the program interpreter, e.g. /lib64/ld-linux-x86-64.so.2. */
  interp?: string;
  /** DT_NEEDED, in order. */
  needed: string[];
  /** DT_RPATH split on ':', `$ORIGIN` and friends left unexpanded. */
  rpath: string[];
  /** DT_RUNPATH split on ':', `$ORIGIN` and friends left unexpanded. */
  runpath: string[];
  soname?: string;
  /** DT_VERNEED (.gnu.version_r): the symbol versions needed, by the NEEDED name that must provide them. Absent when the file has none. */
  verneed?: VersionNeed[];
  /** DT_VERDEF (.gnu.version_d): the version names this object defines (its base version, the SONAME, included). Absent when it has none. */
  verdef?: string[];
}

export interface VersionNeed {
  /** The NEEDED name (vn_file), e.g. libc.so.6. */
  file: string;
  versions: { name: string; /** VER_FLG_WEAK: ld.so only warns when it is missing. */ weak: boolean }[];
}

/** The bytes are not a well-formed ELF file. */
export class ElfError extends Error {
  override name = 'ElfError';
}

/** The bytes end before data the parser needs: retry with at least `needed` bytes (normally the whole file). */
export class ElfTruncatedError extends ElfError {
  override name = 'ElfTruncatedError';
  constructor(
    message: string,
    readonly needed: number,
  ) {
    super(message);
  }
}

const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;
/** e_phnum value meaning "the real count is in section header 0's sh_info". */
const PN_XNUM = 0xffff;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;

const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const DT_VERDEF = 0x6ffffffc;
const DT_VERDEFNUM = 0x6ffffffd;
const DT_VERNEED = 0x6ffffffe;
const DT_VERNEEDNUM = 0x6fffffff;
const VER_FLG_WEAK = 2;
/** Verneed, vernaux and verdef records are 16, 16 and 20 bytes in both classes; verdaux 8. */
const VERNEED_SIZE = 16;
const VERDEF_SIZE = 20;
const VERDAUX_SIZE = 8;

const utf8 = new TextDecoder();

export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

export function parseElf(buf: Uint8Array): ElfInfo {
  if (!isElf(buf)) {
    const magicPrefix = buf.length < 4 && buf.every((b, i) => b === [0x7f, 0x45, 0x4c, 0x46][i]);
    if (magicPrefix) throw new ElfTruncatedError(`ELF truncated: the magic needs 4 bytes, the buffer has ${buf.length}`, 4);
    throw new ElfError('not an ELF file (bad magic)');
  }
  const r = new Reader(buf);
  r.need(0, 6, 'e_ident');
  const elfClass = buf[4];
  const data = buf[5];
  if (elfClass !== ELFCLASS32 && elfClass !== ELFCLASS64) throw new ElfError(`unknown ELF class ${elfClass}`);
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) throw new ElfError(`unknown ELF data encoding ${data}`);
  r.is64 = elfClass === ELFCLASS64;
  r.le = data === ELFDATA2LSB;
  const is64 = r.is64;
  r.need(0, is64 ? 64 : 52, 'ELF header');

  const type = r.u16(16);
  const machine = r.u16(18);
  const phoff = r.addr(is64 ? 32 : 28);
  const shoff = r.addr(is64 ? 40 : 32);
  const phentsize = r.u16(is64 ? 54 : 42);
  let phnum = r.u16(is64 ? 56 : 44);
  if (phnum === PN_XNUM) phnum = r.u32(shoff + (is64 ? 44 : 28));

  const info: ElfInfo = { elfClass: is64 ? 64 : 32, littleEndian: r.le, machine, type, needed: [], rpath: [], runpath: [] };
  if (phnum === 0) return info;
  if (phentsize < (is64 ? 56 : 32)) throw new ElfError(`program header entry size ${phentsize} is too small`);

  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    r.need(o, phentsize, `program header ${i}`);
    segments.push(
      is64
        ? { type: r.u32(o), offset: r.addr(o + 8), vaddr: r.addr(o + 16), filesz: r.addr(o + 32) }
        : { type: r.u32(o), offset: r.u32(o + 4), vaddr: r.u32(o + 8), filesz: r.u32(o + 16) },
    );
  }

  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) {
    r.need(interp.offset, interp.filesz, 'PT_INTERP');
    const bytes = buf.subarray(interp.offset, interp.offset + interp.filesz);
    const nul = bytes.indexOf(0);
    info.interp = utf8.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
  }

  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dynamic) return info;
  const entrySize = is64 ? 16 : 8;
  const entries: { tag: number; val: number }[] = [];
  for (let o = dynamic.offset; o + entrySize <= dynamic.offset + dynamic.filesz; o += entrySize) {
    r.need(o, entrySize, 'PT_DYNAMIC entry');
    const tag = is64 ? r.addr(o) : r.u32(o);
    if (tag === DT_NULL) break;
    entries.push({ tag, val: is64 ? r.addr(o + 8) : r.u32(o + 4) });
  }
  const value = (tag: number) => entries.find((e) => e.tag === tag)?.val;

  const strtabAddr = value(DT_STRTAB);
  const usesStrings = entries.some((e) => [DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH, DT_VERNEED, DT_VERDEF].includes(e.tag));
  if (!usesStrings) return info;
  if (strtabAddr === undefined) throw new ElfError('PT_DYNAMIC names strings but has no DT_STRTAB');
  // Dynamic-section addresses are virtual; the PT_LOAD segment that maps one gives its file offset.
  const fileOffset = (addr: number, what: string): number => {
    const load = segments.find((s) => s.type === PT_LOAD && addr >= s.vaddr && addr < s.vaddr + s.filesz);
    if (!load) throw new ElfError(`${what} address 0x${addr.toString(16)} is not in any PT_LOAD segment`);
    return load.offset + (addr - load.vaddr);
  };
  const strtab = fileOffset(strtabAddr, 'DT_STRTAB');
  const strsz = value(DT_STRSZ);
  const str = (index: number): string => {
    if (strsz !== undefined && index >= strsz) throw new ElfError(`dynamic string index ${index} is past DT_STRSZ ${strsz}`);
    return r.cstring(strtab + index, strsz === undefined ? undefined : strtab + strsz);
  };

  for (const { tag, val } of entries) {
    if (tag === DT_NEEDED) info.needed.push(str(val));
    else if (tag === DT_SONAME) info.soname = str(val);
    else if (tag === DT_RPATH) info.rpath.push(...str(val).split(':'));
    else if (tag === DT_RUNPATH) info.runpath.push(...str(val).split(':'));
  }
  const verneed = value(DT_VERNEED);
  if (verneed !== undefined) info.verneed = readVerneed(r, fileOffset(verneed, 'DT_VERNEED'), value(DT_VERNEEDNUM), str);
  const verdef = value(DT_VERDEF);
  if (verdef !== undefined) info.verdef = readVerdef(r, fileOffset(verdef, 'DT_VERDEF'), value(DT_VERDEFNUM), str);
  return info;
}

/**
 * A count from the file, refused when more records than the buffer could
 * hold: a hostile count must not turn into a long loop.
 */
function recordCount(count: number | undefined, size: number, r: Reader, what: string): number {
  if (count === undefined) throw new ElfError(`${what} is present without its count`);
  if (count > r.length / size) throw new ElfError(`${what} count ${count} is more than the file can hold`);
  return count;
}

/**
 * Walk a chain of records linked by byte offsets relative to each record
 * (vn_next, vna_next, vd_next): at most `count`, each inside the buffer. The
 * offsets are unsigned and 0 ends the chain, so it cannot loop.
 */
function* chain(start: number, count: number, size: number, next: (at: number) => number, r: Reader, what: string): Generator<number> {
  let at = start;
  for (let i = 0; i < count; i++) {
    r.need(at, size, what);
    yield at;
    const step = next(at);
    if (step === 0) {
      if (i + 1 < count) throw new ElfError(`${what} chain ends after ${i + 1} of ${count} entries`);
      return;
    }
    at += step;
  }
}

function readVerneed(r: Reader, start: number, num: number | undefined, str: (i: number) => string): VersionNeed[] {
  const count = recordCount(num, VERNEED_SIZE, r, 'DT_VERNEED');
  const out: VersionNeed[] = [];
  for (const vn of chain(start, count, VERNEED_SIZE, (at) => r.u32(at + 12), r, 'DT_VERNEED')) {
    if (r.u16(vn) !== 1) throw new ElfError(`DT_VERNEED entry at byte ${vn} has unknown version ${r.u16(vn)}`);
    const cnt = recordCount(r.u16(vn + 2), VERNEED_SIZE, r, 'vernaux');
    const need: VersionNeed = { file: str(r.u32(vn + 4)), versions: [] };
    for (const aux of chain(vn + r.u32(vn + 8), cnt, VERNEED_SIZE, (at) => r.u32(at + 12), r, `vernaux of ${need.file}`)) {
      need.versions.push({ name: str(r.u32(aux + 8)), weak: (r.u16(aux + 4) & VER_FLG_WEAK) !== 0 });
    }
    out.push(need);
  }
  return out;
}

function readVerdef(r: Reader, start: number, num: number | undefined, str: (i: number) => string): string[] {
  const count = recordCount(num, VERDEF_SIZE, r, 'DT_VERDEF');
  const out: string[] = [];
  for (const vd of chain(start, count, VERDEF_SIZE, (at) => r.u32(at + 16), r, 'DT_VERDEF')) {
    if (r.u16(vd) !== 1) throw new ElfError(`DT_VERDEF entry at byte ${vd} has unknown version ${r.u16(vd)}`);
    // The first verdaux names the version; the others name its parents, defined by their own entries.
    if (r.u16(vd + 6) === 0) continue;
    const aux = vd + r.u32(vd + 12);
    r.need(aux, VERDAUX_SIZE, 'verdaux');
    out.push(str(r.u32(aux)));
  }
  return out;
}

/** Bounds-checked reads in the file's byte order. */
class Reader {
  is64 = false;
  le = true;
  readonly length: number;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.length = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(offset: number, length: number, what: string): void {
    const end = offset + length;
    if (end > this.buf.length) {
      throw new ElfTruncatedError(`ELF truncated: ${what} at bytes ${offset}..${end} lies beyond the ${this.buf.length}-byte buffer`, end);
    }
  }

  u16(offset: number): number {
    this.need(offset, 2, 'field');
    return this.view.getUint16(offset, this.le);
  }

  u32(offset: number): number {
    this.need(offset, 4, 'field');
    return this.view.getUint32(offset, this.le);
  }

  /** A 64-bit word (address, offset, size, tag) as a number; 32-bit files use u32 instead. */
  addr(offset: number): number {
    if (!this.is64) return this.u32(offset);
    this.need(offset, 8, 'field');
    // Precision lost above 2^53 does not matter: no such offset passes a bounds check.
    return Number(this.view.getBigUint64(offset, this.le));
  }

  /** The NUL-terminated string at `offset`; `limit` is the end of its string table, when known. */
  cstring(offset: number, limit?: number): string {
    this.need(offset, 1, 'string');
    const end = this.buf.indexOf(0, offset);
    if (end === -1 || (limit !== undefined && end >= limit)) {
      if (limit !== undefined && limit <= this.buf.length) throw new ElfError(`unterminated string at byte ${offset}`);
      throw new ElfTruncatedError(`ELF truncated: the string at byte ${offset} runs past the ${this.buf.length}-byte buffer`, limit ?? this.buf.length + 1);
    }
    return utf8.decode(this.buf.subarray(offset, end));
  }
}
