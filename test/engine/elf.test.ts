// The ELF reader and the library closure, checked against the host's own loader (ldd, ldconfig).
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { libraryClosure, loaderSearchDirs } from '../../electron/engine/sources/elf/closure';
import { ElfError, ElfTruncatedError, isElf, parseElf } from '../../electron/engine/sources/elf/parse';
import { lacks, sh, tempDir, which } from '../helpers/env';

const EM_386 = 3;
const EM_S390 = 22;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

/** Programs to compare with ldd; those missing or not dynamically linked on a host are left out. */
const PROGRAMS = ['bash', 'ls', 'tar', 'gzip', 'openssl', 'git', 'ssh', 'perl', 'gpg', 'curl', 'find', 'sort', 'cpio', 'python3', '/usr/bin/python3', 'node', 'xz', 'zstd', 'grep', 'sed', 'make', 'file', 'less', 'vim', 'wget', 'sqlite3', 'bzip2', 'diff'];

interface Ldd {
  /** Libraries and interpreter as ldd prints them (vdso left out). */
  paths: string[];
  notFound: string[];
}

function ldd(file: string): Ldd {
  const r = sh('ldd', [file]);
  expect(r.code, r.stderr).toBe(0);
  const out: Ldd = { paths: [], notFound: [] };
  for (const line of r.stdout.split('\n')) {
    const arrow = /^\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
    const bare = /^\s*(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (arrow && arrow[2] === 'not found') out.notFound.push(arrow[1]);
    else if (arrow) out.paths.push(arrow[2]);
    else if (bare) out.paths.push(bare[1]);
  }
  return out;
}

const realSet = (paths: string[]) => [...new Set(paths.map((p) => realpathSync(p)))].sort();

/** A host program that the kernel would start through an interpreter (not a script, not static). */
function dynamicProgram(cmd: string): string | undefined {
  const p = which(cmd);
  if (!p) return undefined;
  const real = realpathSync(p);
  const bytes = readFileSync(real);
  return isElf(bytes) && parseElf(bytes).interp ? real : undefined;
}

/** A minimal ELF with one PT_LOAD mapping the whole file, PT_INTERP and PT_DYNAMIC. */
function buildElf(o: { elfClass: 32 | 64; le: boolean; machine: number; interp?: string; needed?: string[]; soname?: string; rpath?: string; runpath?: string }): Uint8Array {
  const is64 = o.elfClass === 64;
  const [ehsize, phentsize, dynentsize] = is64 ? [64, 56, 16] : [52, 32, 8];
  const base = 0x400000;
  const phoff = ehsize;
  const interpOff = phoff + 3 * phentsize;
  const interp = new TextEncoder().encode(`${o.interp ?? ''}\0`);

  let strtab = '\0';
  const str = (s: string) => {
    const at = strtab.length;
    strtab += `${s}\0`;
    return at;
  };
  const dyn: [number, number][] = [];
  for (const n of o.needed ?? []) dyn.push([1, str(n)]);
  if (o.soname) dyn.push([14, str(o.soname)]);
  if (o.rpath) dyn.push([15, str(o.rpath)]);
  if (o.runpath) dyn.push([29, str(o.runpath)]);
  const strOff = interpOff + interp.length;
  const strBytes = new TextEncoder().encode(strtab);
  dyn.push([5, base + strOff], [10, strBytes.length], [0, 0]);
  const dynOff = Math.ceil((strOff + strBytes.length) / 8) * 8;
  const size = dynOff + dyn.length * dynentsize;

  const buf = new Uint8Array(size);
  const v = new DataView(buf.buffer);
  const u16 = (at: number, x: number) => v.setUint16(at, x, o.le);
  const u32 = (at: number, x: number) => v.setUint32(at, x, o.le);
  const word = (at: number, x: number) => (is64 ? v.setBigUint64(at, BigInt(x), o.le) : v.setUint32(at, x, o.le));
  buf.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, o.le ? 1 : 2, 1]);
  u16(16, 3);
  u16(18, o.machine);
  u32(20, 1);
  word(is64 ? 32 : 28, phoff);
  u16(is64 ? 52 : 40, ehsize);
  u16(is64 ? 54 : 42, phentsize);
  u16(is64 ? 56 : 44, 3);
  const ph = (i: number, type: number, offset: number, filesz: number) => {
    const at = phoff + i * phentsize;
    u32(at, type);
    if (is64) [8, 16, 24, 32, 40].forEach((f, k) => word(at + f, [offset, base + offset, base + offset, filesz, filesz][k]));
    else [4, 8, 12, 16, 20].forEach((f, k) => u32(at + f, [offset, base + offset, base + offset, filesz, filesz][k]));
  };
  ph(0, 1, 0, size);
  ph(1, 3, interpOff, interp.length);
  ph(2, 2, dynOff, dyn.length * dynentsize);
  buf.set(interp, interpOff);
  buf.set(strBytes, strOff);
  dyn.forEach(([tag, val], i) => {
    word(dynOff + i * dynentsize, tag);
    word(dynOff + i * dynentsize + dynentsize / 2, val);
  });
  return buf;
}

describe('ELF reader', () => {
  it('reads class, machine, interpreter and NEEDED of /bin/bash', () => {
    const info = parseElf(readFileSync('/bin/bash'));
    expect(info.elfClass).toBe(64);
    expect(info.littleEndian).toBe(true);
    expect(info.machine).toBe(EM_X86_64);
    expect([2, 3]).toContain(info.type);
    expect(info.interp).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(info.needed).toContain('libc.so.6');
  });

  it('reads a library SONAME', () => {
    const info = parseElf(readFileSync('/lib/x86_64-linux-gnu/libc.so.6'));
    expect(info.soname).toBe('libc.so.6');
    expect(info.type).toBe(3);
  });

  it('tells non-ELF files apart', () => {
    const script = readFileSync(path.resolve(__dirname, '../../package.json'));
    expect(isElf(script)).toBe(false);
    expect(isElf(new Uint8Array(0))).toBe(false);
    expect(() => parseElf(script)).toThrow(/not an ELF file/);
  });

  it('refuses a truncated buffer with ElfTruncatedError, saying how much it needs', () => {
    const bash = readFileSync('/bin/bash');
    for (const n of [3, 10, 40, 200]) {
      const head = bash.subarray(0, n);
      expect(() => parseElf(head)).toThrow(ElfTruncatedError);
      expect(() => parseElf(head)).toThrow(/truncated/);
    }
    // libc's dynamic section lies far past its first 64 KiB: the error says where, and the whole file parses.
    const libc = readFileSync('/lib/x86_64-linux-gnu/libc.so.6');
    let err: unknown;
    try {
      parseElf(libc.subarray(0, 64 * 1024));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ElfTruncatedError);
    expect((err as ElfTruncatedError).needed).toBeGreaterThan(64 * 1024);
    expect((err as ElfTruncatedError).needed).toBeLessThanOrEqual(libc.length);
  });

  it('refuses a malformed file with ElfError, not a truncation', () => {
    const elf = buildElf({ elfClass: 64, le: true, machine: EM_X86_64, needed: ['libx.so'] });
    const badClass = elf.slice();
    badClass[4] = 7;
    expect(() => parseElf(badClass)).toThrow(/unknown ELF class 7/);
    // Point DT_STRTAB outside every PT_LOAD.
    const badStrtab = elf.slice();
    const v = new DataView(badStrtab.buffer);
    for (let o = badStrtab.length - 16; o > 0; o -= 16) {
      if (v.getBigUint64(o, true) === 5n) {
        v.setBigUint64(o + 8, 0x9999999n, true);
        break;
      }
    }
    expect(() => parseElf(badStrtab)).toThrow(ElfError);
    expect(() => parseElf(badStrtab)).not.toThrow(ElfTruncatedError);
    expect(() => parseElf(badStrtab)).toThrow(/not in any PT_LOAD/);
  });

  for (const elfClass of [32, 64] as const) {
    for (const le of [true, false]) {
      it(`reads a ${elfClass}-bit ${le ? 'little' : 'big'}-endian dynamic section`, () => {
        const machine = elfClass === 64 ? EM_AARCH64 : EM_386;
        const info = parseElf(
          buildElf({ elfClass, le, machine, interp: '/lib/ld-test.so.1', needed: ['liba.so.1', 'libb.so.2'], soname: 'libself.so.3', rpath: '$ORIGIN/../lib:/opt/x', runpath: '${ORIGIN}/r' }),
        );
        expect(info).toEqual({
          elfClass,
          littleEndian: le,
          machine,
          type: 3,
          interp: '/lib/ld-test.so.1',
          needed: ['liba.so.1', 'libb.so.2'],
          soname: 'libself.so.3',
          rpath: ['$ORIGIN/../lib', '/opt/x'],
          runpath: ['${ORIGIN}/r'],
        });
      });
    }
  }

  it.skipIf(!existsSync('/usr/lib/arch-test/s390x'))('reads a real big-endian 64-bit static executable (arch-test)', () => {
    const info = parseElf(readFileSync('/usr/lib/arch-test/s390x'));
    expect(info).toMatchObject({ elfClass: 64, littleEndian: false, machine: EM_S390, type: 2, needed: [] });
    expect(info.interp).toBeUndefined();
  });
});

describe.skipIf(lacks('ldconfig'))('loader search directories', () => {
  it('are the directories `ldconfig -v` builds ld.so.cache from, in order', async () => {
    const r = sh(which('ldconfig')!, ['-v', '-N', '-X']);
    const listed = r.stdout
      .split('\n')
      .map((l) => /^(\/\S*): \(from /.exec(l)?.[1])
      .filter((d): d is string => !!d);
    expect(listed.length).toBeGreaterThan(0);
    expect(await loaderSearchDirs()).toEqual(listed);
  });

  it('follow relative include globs and skip comments, blanks and hwcap lines', async () => {
    const dir = tempDir('sy-ldconf-');
    for (const d of ['a', 'b', 'c', 'conf.d']) mkdirSync(path.join(dir, d));
    writeFileSync(path.join(dir, 'ld.so.conf'), `# comment\n\ninclude conf.d/*.conf\nhwcap 1 nosegneg\n${dir}/c/ # trailing slash and comment\n`);
    writeFileSync(path.join(dir, 'conf.d/2-b.conf'), `${dir}/b\n`);
    writeFileSync(path.join(dir, 'conf.d/1-a.conf'), `  ${dir}/a\n${dir}/does-not-exist\n`);
    writeFileSync(path.join(dir, 'conf.d/ignored.txt'), `${dir}/c\n`);
    const dirs = await loaderSearchDirs(path.join(dir, 'ld.so.conf'));
    expect(dirs.slice(0, 3)).toEqual([`${dir}/a`, `${dir}/b`, `${dir}/c`]);
    expect(dirs).toContain('/lib/x86_64-linux-gnu');
  });
});

describe.skipIf(lacks('ldd'))('library closure agrees with ldd on host programs', () => {
  const present = [...new Set(PROGRAMS.map(dynamicProgram).filter((p): p is string => !!p))];

  it('has at least a dozen dynamically linked host programs to compare', () => {
    expect(present.length).toBeGreaterThanOrEqual(12);
  });

  for (const file of present) {
    it(file, async () => {
      const r = await libraryClosure([{ path: file }]);
      const expected = ldd(file);
      expect(expected.notFound).toEqual([]);
      expect(r.missing).toEqual([]);
      expect(realSet(r.libs)).toEqual(realSet(expected.paths));
    });
  }

  it('resolves several roots at once, ignores non-ELF input and rereads a partial buffer', async () => {
    const bash = realpathSync(which('bash')!);
    const ls = realpathSync(which('ls')!);
    const head = readFileSync(bash).subarray(0, 4096);
    const r = await libraryClosure([{ path: path.resolve(__dirname, '../../package.json') }, { path: bash, bytes: head }, { path: ls }]);
    expect(r.missing).toEqual([]);
    expect(realSet(r.libs)).toEqual(realSet([...ldd(bash).paths, ...ldd(ls).paths]));
    expect(r.libs).toEqual([...new Set(r.libs)].sort());
  });
});

describe.skipIf(lacks('gcc', 'ldd'))('RPATH and RUNPATH with $ORIGIN, built with gcc', () => {
  const dir = tempDir('sy-elf-');
  const gcc = (args: string[]) => {
    const r = sh('gcc', args);
    expect(r.code, r.stderr).toBe(0);
  };
  /** T/lib/libhello.so and T/bin/prog linked with the given RPATH/RUNPATH; libhello.so needs libextra.so when `extra`. */
  const build = (name: string, o: { newDtags: boolean; rpath: string; libDir?: string; extra?: boolean }) => {
    const t = path.join(dir, name);
    const libDir = path.join(t, o.libDir ?? 'lib');
    mkdirSync(libDir, { recursive: true });
    mkdirSync(path.join(t, 'bin'));
    writeFileSync(path.join(t, 'extra.c'), 'int extra(void){return 41;}\n');
    writeFileSync(path.join(t, 'hello.c'), o.extra ? 'int extra(void);\nint hello(void){return extra()+1;}\n' : 'int hello(void){return 42;}\n');
    writeFileSync(path.join(t, 'main.c'), 'int hello(void);\nint main(void){return hello()==42?0:1;}\n');
    if (o.extra) gcc(['-shared', '-fPIC', '-Wl,-soname,libextra.so', '-o', path.join(libDir, 'libextra.so'), path.join(t, 'extra.c')]);
    gcc(['-shared', '-fPIC', '-Wl,-soname,libhello.so', '-o', path.join(libDir, 'libhello.so'), path.join(t, 'hello.c'), ...(o.extra ? [`-L${libDir}`, '-lextra'] : [])]);
    const dtags = o.newDtags ? '--enable-new-dtags' : '--disable-new-dtags';
    gcc(['-o', path.join(t, 'bin/prog'), path.join(t, 'main.c'), `-L${libDir}`, '-lhello', ...(o.extra ? ['-Wl,--allow-shlib-undefined'] : []), `-Wl,${dtags}`, `-Wl,-rpath,${o.rpath}`]);
    return { t, prog: path.join(t, 'bin/prog') };
  };
  const agree = async (prog: string) => {
    const r = await libraryClosure([{ path: prog }]);
    const expected = ldd(prog);
    expect(r.libs).toEqual([...expected.paths].sort()); // the very paths ld.so reports, not just the same files
    expect(r.missing.map((m) => m.needed)).toEqual(expected.notFound);
    return r;
  };

  it('RUNPATH $ORIGIN/../lib finds the private library, at the path ld.so uses', async () => {
    const { t, prog } = build('runpath', { newDtags: true, rpath: '$ORIGIN/../lib' });
    expect(parseElf(readFileSync(prog))).toMatchObject({ runpath: ['$ORIGIN/../lib'], rpath: [] });
    expect(sh(prog, []).code).toBe(0);
    const r = await agree(prog);
    expect(r.libs).toContain(`${t}/bin/../lib/libhello.so`);
  });

  it('RPATH ${ORIGIN}/../lib does too', async () => {
    const { t, prog } = build('rpath', { newDtags: false, rpath: '${ORIGIN}/../lib' });
    expect(parseElf(readFileSync(prog))).toMatchObject({ rpath: ['${ORIGIN}/../lib'], runpath: [] });
    const r = await agree(prog);
    expect(r.libs).toContain(`${t}/bin/../lib/libhello.so`);
  });

  it("a program's RPATH serves its libraries' NEEDED, its RUNPATH does not", async () => {
    const withRpath = build('chain-rpath', { newDtags: false, rpath: '$ORIGIN/../lib', extra: true });
    expect((await agree(withRpath.prog)).libs).toContain(`${withRpath.t}/bin/../lib/libextra.so`);

    const withRunpath = build('chain-runpath', { newDtags: true, rpath: '$ORIGIN/../lib', extra: true });
    const r = await agree(withRunpath.prog);
    expect(r.missing).toEqual([{ needed: 'libextra.so', from: `${withRunpath.t}/bin/../lib/libhello.so` }]);
  });

  it('$LIB expands as this Debian glibc does (lib/<multiarch triplet>)', async () => {
    const { t, prog } = build('dst-lib', { newDtags: true, rpath: '$ORIGIN/../$LIB', libDir: 'lib/x86_64-linux-gnu' });
    expect((await agree(prog)).libs).toContain(`${t}/bin/../lib/x86_64-linux-gnu/libhello.so`);
  });

  it('skips a candidate of the wrong class or machine, as ld.so does', async () => {
    const { t, prog } = build('wrong-arch', { newDtags: true, rpath: '$ORIGIN/../w32:$ORIGIN/../warm:$ORIGIN/../lib' });
    mkdirSync(path.join(t, 'w32'));
    mkdirSync(path.join(t, 'warm'));
    writeFileSync(path.join(t, 'w32/libhello.so'), buildElf({ elfClass: 32, le: true, machine: EM_386, soname: 'libhello.so' }));
    writeFileSync(path.join(t, 'warm/libhello.so'), buildElf({ elfClass: 64, le: true, machine: EM_AARCH64, soname: 'libhello.so' }));
    expect((await agree(prog)).libs).toContain(`${t}/bin/../lib/libhello.so`);
  });

  it("a symlinked program's $ORIGIN is its real directory, as when the kernel starts it", async () => {
    const { t, prog } = build('symlinked', { newDtags: true, rpath: '$ORIGIN/../lib' });
    mkdirSync(path.join(t, 'a/b'), { recursive: true });
    const link = path.join(t, 'a/b/prog');
    symlinkSync(prog, link);
    expect(sh(link, []).code).toBe(0); // runs, so ld.so found libhello.so through bin/
    const r = await libraryClosure([{ path: link }]);
    expect(r.missing).toEqual([]);
    expect(r.libs).toContain(`${t}/bin/../lib/libhello.so`);
    // (ldd would report libhello.so "not found" here: it runs ld.so on the link path, so its $ORIGIN is a/b.)
  });
});

/** A 32-bit dynamically linked ELF on this host, if any (valgrind ships some; so does an i386 multiarch libc). */
function host32BitProgram(): string | undefined {
  const candidates = ['/usr/lib/i386-linux-gnu/libc.so.6'];
  const valgrind = '/usr/libexec/valgrind';
  if (existsSync(valgrind)) candidates.push(...readdirSync(valgrind).filter((n) => n.endsWith('-x86-linux')).map((n) => path.join(valgrind, n)));
  return candidates.find((p) => {
    if (!existsSync(p)) return false;
    const bytes = readFileSync(p);
    return isElf(bytes) && parseElf(bytes).elfClass === 32 && parseElf(bytes).needed.length > 0;
  });
}

describe('32-bit objects', () => {
  const file = host32BitProgram();
  // Skipped when the host has no 32-bit dynamically linked ELF at all.
  it.skipIf(!file)(`are resolved among 32-bit libraries only (${file ?? 'none on this host'})`, async () => {
    const info = parseElf(readFileSync(file!));
    expect(info).toMatchObject({ elfClass: 32, machine: EM_386 });
    const r = await libraryClosure([{ path: file! }]);
    for (const lib of r.libs) expect(parseElf(readFileSync(lib))).toMatchObject({ elfClass: 32, machine: EM_386 });
    if (info.interp && existsSync(info.interp)) {
      expect(realSet(r.libs)).toEqual(realSet(ldd(file!).paths));
    } else {
      // No i386 loader or libc here: the x86-64 libc.so.6 in the same directories must not be taken.
      expect(r.missing).toContainEqual({ needed: 'libc.so.6', from: file });
      if (info.interp) expect(r.missing).toContainEqual({ needed: info.interp, from: file });
    }
  });
});
