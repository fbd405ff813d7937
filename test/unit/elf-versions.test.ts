// Symbol versions as the ELF reader sees them (DT_VERNEED, DT_VERDEF),
// checked against binutils' readelf on host files, and hostile version tables.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElfError, parseElf } from '../../electron/engine/sources/elf/parse';

const readelfV = (file: string) => spawnSync('readelf', ['-V', '-W', file], { encoding: 'utf8' }).stdout;

/** readelf's version needs: file -> version names, in order. */
function needsOf(text: string): { file: string; names: string[] }[] {
  const out: { file: string; names: string[] }[] = [];
  const section = text.split(/^Version needs section/m)[1] ?? '';
  for (const line of section.split('\n')) {
    const f = /File: (\S+)/.exec(line);
    const n = /^\s*0x[0-9a-f]+:\s+Name: (\S+)/.exec(line);
    if (f) out.push({ file: f[1], names: [] });
    else if (n) out[out.length - 1].names.push(n[1]);
  }
  return out;
}

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const hasReadelf = spawnSync('readelf', ['--version']).status === 0;

describe.skipIf(!hasReadelf || !existsSync(LIBC))('symbol versions', () => {
  for (const file of ['/bin/ls', '/bin/bash', LIBC]) {
    it(`${file}: the versions needed, as readelf lists them`, () => {
      const info = parseElf(readFileSync(file));
      expect(needsOf(readelfV(file))).toEqual((info.verneed ?? []).map((n) => ({ file: n.file, names: n.versions.map((v) => v.name) })));
      expect(info.verneed?.length).toBeGreaterThan(0);
    });
  }

  it("libc's definitions: its base version and every GLIBC_x it provides, as readelf lists them", () => {
    const info = parseElf(readFileSync(LIBC));
    const listed = [...readelfV(LIBC).matchAll(/Rev: \d+\s+Flags: \S+\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)/g)].map((m) => m[1]);
    expect(info.verdef).toEqual(listed);
    expect(info.verdef).toContain('GLIBC_2.2.5');
    expect(info.verdef![0]).toBe('libc.so.6');
  });

  it('a file without version tables has neither field', () => {
    const info = parseElf(readFileSync('/bin/busybox', { flag: 'r' }).subarray(0));
    expect(info.verneed).toBeUndefined();
    expect(info.verdef).toBeUndefined();
  });

  describe('hostile tables in /bin/ls', () => {
    const ls = readFileSync('/bin/ls');
    const offset = Number(/Version needs section[^\n]*\n\s*Addr: \S+\s+Offset: (0x[0-9a-f]+)/.exec(readelfV('/bin/ls'))![1]);

    it('a vernaux count past what the file could hold', () => {
      const bad = Buffer.from(ls);
      bad.writeUInt16LE(0xffff, offset + 2); // vn_cnt of the first entry
      expect(() => parseElf(bad)).toThrow(/vernaux count 65535 is more than the file can hold|vernaux .*ends after/);
      expect(() => parseElf(bad)).toThrow(ElfError);
    });

    it('a chain that ends before its count, or runs off the file', () => {
      const bad = Buffer.from(ls);
      bad.writeUInt32LE(0, offset + 12); // vn_next of the first of two entries
      expect(() => parseElf(bad)).toThrow(/DT_VERNEED chain ends after 1 of 2 entries/);
      const far = Buffer.from(ls);
      far.writeUInt32LE(0xfffffff0, offset + 12); // offsets are unsigned: no way back, only out
      expect(() => parseElf(far)).toThrow(ElfError);
    });

    it('a version-need name outside the string table', () => {
      const bad = Buffer.from(ls);
      bad.writeUInt32LE(0xfffffff0, offset + 4); // vn_file
      expect(() => parseElf(bad)).toThrow(/past DT_STRSZ/);
    });
  });
});
