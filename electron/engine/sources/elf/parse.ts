// Reading what the dynamic loader reads from an ELF file: class, machine,
// interpreter, NEEDED, RPATH, RUNPATH, SONAME. Pure: bytes in, facts out.

export interface ElfInfo {
  elfClass: 32 | 64;
  littleEndian: boolean;
  machine: number;
  /** e_type: 2 executable, 3 shared object / PIE. */
  type: number;
  interp?: string;
  needed: string[];
  rpath: string[];
  runpath: string[];
  soname?: string;
}

export class ElfError extends Error {}

const UTF8 = new TextDecoder();

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/** Parse a whole ELF file. Throws ElfError on anything truncated or malformed. */
export function parseElf(buf: Uint8Array): ElfInfo {
  if (!isElf(buf)) throw new ElfError('not an ELF file');
  if (buf.length < 52) throw new ElfError('truncated ELF header');
  const cls = buf[4];
  if (cls !== 1 && cls !== 2) throw new ElfError(`unknown ELF class ${cls}`);
  const is64 = cls === 2;
  const le = buf[5] === 1;
  if (buf[5] !== 1 && buf[5] !== 2) throw new ElfError(`unknown ELF data encoding ${buf[5]}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (off: number, len: number, what: string) => {
    if (off < 0 || off + len > buf.length) throw new ElfError(`truncated ELF file: ${what} at ${off} is past the end (${buf.length} bytes)`);
  };
  const u16 = (o: number) => (need(o, 2, 'field'), dv.getUint16(o, le));
  const u32 = (o: number) => (need(o, 4, 'field'), dv.getUint32(o, le));
  const word = (o: number) => (is64 ? (need(o, 8, 'field'), Number(dv.getBigUint64(o, le))) : u32(o));

  const type = u16(16);
  const machine = u16(18);
  const phoff = word(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);

  interface Ph {
    type: number;
    offset: number;
    vaddr: number;
    filesz: number;
  }
  const phs: Ph[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    need(o, phentsize, 'program header');
    phs.push(
      is64
        ? { type: u32(o), offset: word(o + 8), vaddr: word(o + 16), filesz: word(o + 32) }
        : { type: u32(o), offset: u32(o + 4), vaddr: u32(o + 8), filesz: u32(o + 16) },
    );
  }

  const cstr = (off: number): string => {
    need(off, 1, 'string');
    const end = buf.indexOf(0, off);
    if (end === -1) throw new ElfError(`truncated ELF file: unterminated string at ${off}`);
    return UTF8.decode(buf.subarray(off, end));
  };

  const info: ElfInfo = { elfClass: is64 ? 64 : 32, littleEndian: le, machine, type, needed: [], rpath: [], runpath: [] };
  const interp = phs.find((p) => p.type === PT_INTERP);
  if (interp) info.interp = cstr(interp.offset);

  const dyn = phs.find((p) => p.type === PT_DYNAMIC);
  if (!dyn) return info;
  const entSize = is64 ? 16 : 8;
  const entries: [number, number][] = [];
  for (let o = dyn.offset; o + entSize <= dyn.offset + dyn.filesz; o += entSize) {
    const tag = is64 ? Number(dv.getBigInt64((need(o, 16, 'dynamic entry'), o), le)) : dv.getInt32((need(o, 8, 'dynamic entry'), o), le);
    if (tag === DT_NULL) break;
    entries.push([tag, word(o + (is64 ? 8 : 4))]);
  }
  const strtabAddr = entries.find(([t]) => t === DT_STRTAB)?.[1];
  if (strtabAddr === undefined) return info;
  // DT_STRTAB is an address; the loadable segment that maps it gives the file offset.
  const seg = phs.find((p) => p.type === PT_LOAD && strtabAddr >= p.vaddr && strtabAddr < p.vaddr + p.filesz);
  if (!seg) throw new ElfError('DT_STRTAB is not inside any loadable segment');
  const strtab = seg.offset + (strtabAddr - seg.vaddr);
  const split = (s: string) => s.split(':').filter(Boolean);
  for (const [tag, val] of entries) {
    if (tag === DT_NEEDED) info.needed.push(cstr(strtab + val));
    else if (tag === DT_RPATH) info.rpath.push(...split(cstr(strtab + val)));
    else if (tag === DT_RUNPATH) info.runpath.push(...split(cstr(strtab + val)));
    else if (tag === DT_SONAME) info.soname = cstr(strtab + val);
  }
  return info;
}
