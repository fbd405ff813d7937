// A debootstrap root's dpkg status takes Priority and Section from each
// package's .deb, as apt's installs record them; nothing else changes. apt's
// auto marks are kept for installed packages only, in one order.
import { describe, expect, it } from 'vitest';
import { withDebFields, withInstalledMarks } from '../../electron/engine/sources/debian/deb-fields';

const status = [
  'Package: apt\nStatus: install ok installed\nPriority: required\nSection: admin\nVersion: 2.6.1\nArchitecture: amd64\nDescription: commandline package manager\n Priority: this continuation line is text',
  'Package: zlib1g\nStatus: install ok installed\nPriority: optional\nSection: libs\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64',
  'Package: other\nStatus: install ok installed\nPriority: optional\nVersion: 1\nArchitecture: all',
  '',
].join('\n\n');

describe('withDebFields', () => {
  it("takes each stanza's Priority and Section from its package's .deb, by name, version and architecture", () => {
    const fields = new Map([
      ['apt 2.6.1 amd64', { Priority: 'important', Section: 'admin' }],
      ['zlib1g 1:1.2.13.dfsg-1 amd64', { Priority: 'required' }],
      ['other 2 all', { Priority: 'extra' }],
    ]);
    const out = withDebFields(status, fields);
    const stanzas = out.split('\n\n');
    expect(stanzas[0]).toMatch(/^Priority: important$/m);
    expect(stanzas[0]).toMatch(/^ Priority: this continuation line is text$/m);
    expect(stanzas[1]).toMatch(/^Priority: required$/m);
    expect(stanzas[1]).toMatch(/^Section: libs$/m);
    // Another version's .deb says nothing about this one.
    expect(stanzas[2]).toBe('Package: other\nStatus: install ok installed\nPriority: optional\nVersion: 1\nArchitecture: all');
    // Only those lines changed: same stanza count and the file's trailing blank line.
    expect(out.replace(/^Priority: .*$/gm, '')).toBe(status.replace(/^Priority: .*$/gm, ''));
    expect(out.endsWith('\n\n')).toBe(status.endsWith('\n\n'));
  });

  it('leaves a status no .deb speaks for as it is', () => {
    expect(withDebFields(status, new Map())).toBe(status);
  });
});

describe('withInstalledMarks', () => {
  const installed = [
    { name: 'libffi8', version: '3.4.4-1', arch: 'amd64' },
    { name: 'libext2fs2', version: '1.47.0-2', arch: 'amd64' },
    { name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all' },
  ];
  it("keeps installed packages' marks (an arch:all package's under the native architecture), sorted; drops a purged one's", () => {
    const apt = 'Package: libffi8\nArchitecture: amd64\nAuto-Installed: 1\n\nPackage: debian-archive-keyring\nArchitecture: amd64\nAuto-Installed: 1\n\nPackage: tzdata\nArchitecture: amd64\nAuto-Installed: 1\n\nPackage: libext2fs2\nArchitecture: amd64\nAuto-Installed: 1\n\n';
    const out = withInstalledMarks(apt, installed);
    expect(out).toBe('Package: libext2fs2\nArchitecture: amd64\nAuto-Installed: 1\n\nPackage: libffi8\nArchitecture: amd64\nAuto-Installed: 1\n\nPackage: tzdata\nArchitecture: amd64\nAuto-Installed: 1\n\n');
    // The same marks in another order (a locked install's repository) give the same text.
    const reordered = apt.split('\n\n').filter(Boolean).reverse().join('\n\n') + '\n\n';
    expect(withInstalledMarks(reordered, installed)).toBe(out);
    expect(withInstalledMarks(out, installed)).toBe(out);
  });
});
