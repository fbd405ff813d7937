// Our ELF reader and library closure against the host's own loader, via ldd.
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { libraryClosure, loaderSearchDirs } from '../../electron/engine/sources/elf/closure';
import { ElfError, isElf, parseElf } from '../../electron/engine/sources/elf/parse';
import { lacks, sh, tempDir, which } from '../helpers/env';

const PROGRAMS = ['bash', 'ls', 'tar', 'gzip', 'openssl', 'git', 'ssh', 'perl', 'gpg', 'curl', 'find', 'sort', 'cpio', 'python3', 'node', 'xz', 'skopeo', 'umoci', 'unshare', 'mount', 'sha256sum', 'dockerd'];

/** ldd's libraries (interpreter included, vdso excluded), as realpaths. */
function lddSet(file: string): string[] {
  const r = sh('ldd', [file]);
  if (/not a dynamic executable|statically linked/.test(r.stdout + r.stderr)) return [];
  expect(r.code).toBe(0);
  const out = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(0x/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m) out.add(realpathSync(m[1]));
    expect(line).not.toMatch(/not found/);
  }
  return [...out].sort();
}

async function oursSet(file: string): Promise<string[]> {
  const r = await libraryClosure([{ path: file }]);
  expect(r.missing).toEqual([]);
  return [...new Set(r.libs.map((p) => realpathSync(p)))].sort();
}

describe('ELF reader', () => {
  it('reads interpreter, NEEDED and class of a host program', () => {
    const info = parseElf(readFileSync('/bin/bash'));
    expect(info.elfClass).toBe(64);
    expect(info.machine).toBe(62);
    expect(info.interp).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(info.needed).toContain('libc.so.6');
  });

  it('reads a library SONAME', () => {
    const libc = realpathSync('/lib/x86_64-linux-gnu/libc.so.6');
    expect(parseElf(readFileSync(libc)).soname).toBe('libc.so.6');
  });

  it('tells non-ELF files apart and refuses truncated ones clearly', () => {
    expect(isElf(readFileSync('/etc/hostname'))).toBe(false);
    const bash = readFileSync('/bin/bash');
    expect(() => parseElf(bash.subarray(0, 200))).toThrow(ElfError);
    expect(() => parseElf(bash.subarray(0, 200))).toThrow(/truncated/);
  });

  it('reads the ld.so.conf include tree', async () => {
    const dirs = await loaderSearchDirs();
    expect(dirs).toContain('/lib/x86_64-linux-gnu');
  });
});

describe.skipIf(lacks('ldd'))('library closure agrees with ldd', () => {
  const present = PROGRAMS.map((p) => which(p)).filter((p): p is string => !!p && lddSet(p).length > 0);

  it('has at least a dozen dynamically linked host programs to compare', () => {
    expect(present.length).toBeGreaterThanOrEqual(12);
  });

  for (const name of PROGRAMS) {
    it.skipIf(!present.some((p) => path.basename(p) === name))(`${name}`, async () => {
      const file = present.find((p) => path.basename(p) === name)!;
      expect(await oursSet(file)).toEqual(lddSet(file));
    });
  }
});

describe.skipIf(lacks('gcc', 'ldd'))('RPATH and RUNPATH with $ORIGIN', () => {
  const dir = tempDir('sy-elf-');
  const build = (tags: 'enable' | 'disable') => {
    const root = path.join(dir, tags);
    const script = `set -e
mkdir -p ${root}/lib ${root}/bin
printf 'int hello(void){return 42;}\\n' > ${root}/hello.c
printf 'int hello(void);\\nint main(void){return hello()==42?0:1;}\\n' > ${root}/main.c
gcc -shared -fPIC -Wl,-soname,libhello.so -o ${root}/lib/libhello.so ${root}/hello.c
gcc -o ${root}/bin/prog ${root}/main.c -L${root}/lib -lhello -Wl,--${tags}-new-dtags -Wl,-rpath,'$ORIGIN/../lib'`;
    const r = sh('sh', ['-c', script]);
    expect(r.stderr).toBe('');
    return path.join(root, 'bin/prog');
  };

  it('RUNPATH ($ORIGIN/../lib) finds the private library as ldd does', async () => {
    const prog = build('enable');
    expect(parseElf(readFileSync(prog)).runpath).toEqual(['$ORIGIN/../lib']);
    expect(sh(prog, []).code).toBe(0);
    const ours = await oursSet(prog);
    expect(ours).toContain(path.join(dir, 'enable/lib/libhello.so'));
    expect(ours).toEqual(lddSet(prog));
  });

  it('RPATH ($ORIGIN/../lib) does too', async () => {
    const prog = build('disable');
    expect(parseElf(readFileSync(prog)).rpath).toEqual(['$ORIGIN/../lib']);
    expect(await oursSet(prog)).toEqual(lddSet(prog));
  });

  it('a missing library is reported with the object that needs it', async () => {
    const prog = build('enable');
    sh('rm', [path.join(dir, 'enable/lib/libhello.so')]);
    const r = await libraryClosure([{ path: prog }]);
    expect(r.missing).toEqual([{ needed: 'libhello.so', from: prog }]);
  });
});
