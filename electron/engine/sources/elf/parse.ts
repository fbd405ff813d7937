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
  const usesStrings = entries.some((e) => [DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH].includes(e.tag));
  if (!usesStrings) return info;
  if (strtabAddr === undefined) throw new ElfError('PT_DYNAMIC names strings but has no DT_STRTAB');
  // DT_STRTAB is a virtual address; the PT_LOAD segment that maps it gives the file offset.
  const load = segments.find((s) => s.type === PT_LOAD && strtabAddr >= s.vaddr && strtabAddr < s.vaddr + s.filesz);
  if (!load) throw new ElfError(`DT_STRTAB address 0x${strtabAddr.toString(16)} is not in any PT_LOAD segment`);
  const strtab = load.offset + (strtabAddr - load.vaddr);
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
  return info;
}

/** Bounds-checked reads in the file's byte order. */
class Reader {
  is64 = false;
  le = true;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
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
