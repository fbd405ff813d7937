// A debootstrap root's dpkg status takes Priority and Section from each
// package's .deb, as apt's installs record them; nothing else changes.
import { describe, expect, it } from 'vitest';
import { withDebFields } from '../../electron/engine/sources/debian/deb-fields';

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
