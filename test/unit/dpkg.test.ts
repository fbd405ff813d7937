// dpkg's formats on this machine's real files: the status parser finds exactly
// the installed packages dpkg-query lists, machine-readable copyright files
// give their licence names, and malformed input is skipped, not fatal.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { debPackage, dep5Licenses, formatParagraph, parseMd5sums, parseParagraphs, usrKey } from '../../electron/engine/model/dpkg';
import { debPurl } from '../../electron/engine/model/sbom';
import { PackageURL } from 'packageurl-js';

describe.skipIf(!existsSync('/var/lib/dpkg/status'))('dpkg formats', () => {
  it('reads the host status file as dpkg-query does', () => {
    const ours = parseParagraphs(readFileSync('/var/lib/dpkg/status', 'utf8'))
      .map(debPackage)
      .filter((p) => p)
      .map((p) => `${p!.name} ${p!.version} ${p!.architecture}`)
      .sort();
    const theirs = spawnSync('dpkg-query', ['-W', '-f', '${db:Status-Abbrev} ${Package} ${Version} ${Architecture}\\n'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => /^.i/.test(l))
      .map((l) => l.split(' ').slice(-3).join(' '))
      .sort();
    expect(ours.length).toBeGreaterThan(100);
    expect(ours).toEqual(theirs);
  });

  it('writes a paragraph back as it read it', () => {
    const first = parseParagraphs(readFileSync('/var/lib/dpkg/status', 'utf8'))[0];
    expect(parseParagraphs(formatParagraph(first))[0]).toEqual(first);
  });

  it('takes licence names from machine-readable copyright files only', () => {
    const docs = readdirSync('/usr/share/doc').map((d) => `/usr/share/doc/${d}/copyright`).filter((f) => existsSync(f));
    const dep5 = docs.map((f) => dep5Licenses(readFileSync(f, 'utf8'))).filter((l) => l);
    expect(dep5.length).toBeGreaterThan(10);
    expect(dep5.flat()).toContain('GPL-2+');
    expect(dep5Licenses('Copyright 2020 someone\nGPL\n')).toBeUndefined();
    expect(dep5Licenses('Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+ or Artistic\n text\n\nLicense: Artistic\n')).toEqual(['Artistic', 'GPL-2+']);
  });

  it('skips what it cannot read', () => {
    const ps = parseParagraphs('garbage line\nPackage: ok\nVersion: 1:2.0-1\nArchitecture: amd64\n\nPackage: Bad Name\nVersion: 1\n\nPackage: half\n\nPackage: gone\nVersion: 1\nStatus: deinstall ok config-files\n');
    expect(ps.map(debPackage).filter((p) => p).map((p) => p!.name)).toEqual(['ok']);
    expect(parseMd5sums('0123456789abcdef0123456789abcdef  usr/bin/x\nnot a line\n')).toEqual(new Map([['/usr/bin/x', '0123456789abcdef0123456789abcdef']]));
    expect(usrKey('/usr/lib/x86_64-linux-gnu/libc.so.6')).toBe('/lib/x86_64-linux-gnu/libc.so.6');
    expect(usrKey('/usr/share/doc')).toBe('/usr/share/doc');
    const purl = PackageURL.fromString(debPurl({ name: 'libc6', version: '1:2.36-9+deb12u14', architecture: 'amd64' }, 'debian-12'));
    expect([purl.type, purl.namespace, purl.name, purl.version, purl.qualifiers]).toEqual(['deb', 'debian', 'libc6', '1:2.36-9+deb12u14', { arch: 'amd64', distro: 'debian-12' }]);
  });
});
