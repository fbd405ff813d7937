// The CycloneDX writer normalizes files outside packages itself (issue 16's
// cost): its document must be the library's, byte for byte, however the
// paths sort (case, accents, canonically equal spellings that the library's
// localeCompare calls equal, digits, punctuation), and valid by the library's
// strict validator. Its serial number names the content: same SBOM, same number.
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import * as Validation from '@cyclonedx/cyclonedx-library/Validation';
import { describe, expect, it } from 'vitest';
import { cyclonedxJson, cyclonedxJsonByLibrary } from '../../electron/engine/export/sbom-cyclonedx';
import { docBytes } from '../../electron/engine/export/sbom';
import { sha256 } from '../../electron/engine/model/digest';
import { imagePath } from '../../electron/engine/model/path';
import type { Sbom, SbomFile } from '../../electron/engine/model/sbom';

const PATHS = ['/B', '/a', '/\u00e9', '/e\u0301', '/e', '/E', '/a-b', '/a_b', '/a b', '/\u00e4', '/10', '/9', '/a/b', '/a.b', '/\ufb01', '/fi', '/\u0416', '/z'];

function file(p: string, i: number): SbomFile {
  const sum = sha256(p);
  return {
    path: imagePath(p),
    sha256: sum,
    sha1: sum.slice(0, 40),
    size: i,
    ...(i % 3 ? { layer: i % 2 } : {}),
    ...(i % 4 ? { brought: { layer: i % 2, source: i % 3, kind: i % 2 ? 'tarball' : 'file' } } : {}),
  };
}

function sbom(paths: string[]): Sbom {
  return {
    name: 'img',
    reference: 'img:latest',
    manifestDigest: sha256('manifest'),
    architecture: 'amd64',
    created: '1970-01-01T00:00:00Z',
    distro: 'debian-12',
    layers: [
      { index: 0, name: 'base', digest: sha256('l0'), diffId: sha256('d0') },
      { index: 1, name: 'app', digest: sha256('l1') },
    ],
    packages: [
      { name: 'bash', version: '5.2.15-2+b8', architecture: 'amd64', licenses: ['GPL-3+', 'BSD-4-clause-UC', 'permissive'], layer: 1, foundIn: 'status.d', files: [file('/usr/bin/bash', 1), file('/bin/Bash', 2)], brought: { layer: 1, source: 0, kind: 'host' } },
      { name: 'bash', version: '5.2.15-2+b8', architecture: 'amd64', licenses: [], foundIn: 'host-dpkg', files: [], source: 'bash' },
      { name: 'libc6', version: '2.36-9', architecture: 'amd64', licenses: ['LGPL-2.1+'], layer: 0, foundIn: 'dpkg-status', files: [] },
    ],
    files: paths.map((p, i) => file(p, i)),
  };
}

describe('the CycloneDX writer', () => {
  it('writes what the library writes, whatever order the paths come in', async () => {
    for (const paths of [PATHS, [...PATHS].reverse(), [...PATHS].sort()]) {
      const s = sbom(paths);
      const ours = cyclonedxJson(s, '1.2.3');
      expect(ours).toBe(cyclonedxJsonByLibrary(s, '1.2.3'));
      expect(JSON.parse(ours).components.length).toBe(2 + 3 + paths.length);
    }
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(cyclonedxJson(sbom(PATHS), '1.2.3'))).toBeNull();
  });

  it('writes the library document for an image without files or packages', () => {
    const s = { ...sbom([]), packages: [] };
    expect(cyclonedxJson(s, '1.2.3')).toBe(cyclonedxJsonByLibrary(s, '1.2.3'));
  });

  it('derives the serial number from the content: the same for the same SBOM, another for another', () => {
    const serial = (s: Sbom, v = '1.2.3') => JSON.parse(cyclonedxJson(s, v)).serialNumber as string;
    expect(serial(sbom(PATHS))).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(serial(sbom(PATHS))).toBe(serial(sbom(PATHS)));
    const edited = sbom(PATHS);
    edited.files[3] = { ...edited.files[3], sha256: sha256('edited') };
    expect(serial(edited)).not.toBe(serial(sbom(PATHS)));
    expect(serial(sbom(PATHS), '1.2.4')).not.toBe(serial(sbom(PATHS)));
  });
});

describe('a document as bytes', () => {
  it('is its UTF-8, by the Latin-1 copy for ASCII text and by the encoder for any other', () => {
    // U+0141 and U+0416: a Latin-1 copy would keep only their low bytes (0x41 "A", 0x16).
    for (const text of ['{"a":"plain ascii"}\n', '/caf\u00e9', '/\u0141\u0416', '/\u{1f600}', '/\ud800 lone surrogate', '']) {
      expect(docBytes(text).equals(Buffer.from(text, 'utf8')), JSON.stringify(text)).toBe(true);
    }
  });
});
