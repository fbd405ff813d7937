// SBOMs from the graph, on real data: a host-composed image (bash and curl
// from this machine) names every host file's Debian package at the host's
// version and carries distroless status.d entries for them; the Debian
// example's SBOM lists exactly what dpkg-query lists in its tree; CycloneDX
// passes the CycloneDX library's strict validator, SPDX the schema of the
// spec's required fields; two builds give byte-identical SBOMs; the OCI
// layout with its SBOM artifact still unpacks (umoci) and copies (skopeo).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import * as Validation from '@cyclonedx/cyclonedx-library/Validation';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, cli, lacks, sh, tempDir } from '../helpers/env';
import { copyExample, writeProject } from '../helpers/projects';

interface CdxComponent {
  type: string;
  name: string;
  version?: string;
  purl?: string;
  licenses?: unknown[];
  hashes?: { alg: string; content: string }[];
  properties?: { name: string; value: string }[];
  components?: CdxComponent[];
}

async function expectValidCyclonedx(text: string): Promise<void> {
  const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(text);
  expect(errors).toBeNull();
}

const spdxSchema = JSON.parse(readFileSync(path.join(REPO, 'test/fixtures/spdx-2.3-required.schema.json'), 'utf8'));
function expectValidSpdx(text: string): void {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const doc = JSON.parse(text);
  const ok = ajv.validate(spdxSchema, doc);
  expect(ajv.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
  // Every element a relationship names exists in the document.
  const ids = new Set(['SPDXRef-DOCUMENT', ...doc.packages.map((p: { SPDXID: string }) => p.SPDXID), ...(doc.files ?? []).map((f: { SPDXID: string }) => f.SPDXID)]);
  expect(ids.size).toBe(1 + doc.packages.length + (doc.files?.length ?? 0));
  for (const r of doc.relationships) expect(ids.has(r.spdxElementId) && ids.has(r.relatedSpdxElement), JSON.stringify(r)).toBe(true);
}

const prop = (c: CdxComponent, name: string) => c.properties?.find((p) => p.name === name)?.value;

/** `dpkg -S` for many paths in one call: path -> package (a merged-/usr path also by its /bin, /lib name). */
function hostOwners(paths: string[]): Map<string, string> {
  const alt = (p: string) => (/^\/usr\/(bin|sbin|lib|lib64)\//.test(p) ? p.slice(4) : /^\/(bin|sbin|lib|lib64)\//.test(p) ? `/usr${p}` : p);
  const r = sh('dpkg', ['-S', ...new Set(paths.flatMap((p) => [p, alt(p)]))]);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([^:,]+)(?::[a-z0-9]+)?: (\/.*)$/.exec(line);
    if (m) for (const p of paths) if (p === m[2] || alt(p) === m[2]) out.set(p, m[1]);
  }
  return out;
}

const work = tempDir('sy-sbom-');

describe.skipIf(lacks('dpkg-query', 'umoci', 'skopeo'))('a host-composed image (bash, curl)', () => {
  const project = path.join(work, 'hostimg');
  const out = path.join(work, 'out1');
  let cdx: string;
  let spdx: string;
  let files: string[];

  beforeAll(() => {
    writeProject(
      project,
      'name: hostimg\nsbomInLayout: true\nepoch: 1700000000\nlayers:\n  - name: tools\n    sources:\n      - kind: host\n        paths: [/bin/bash, /usr/bin/curl]\n        libs: true\n  - name: app\n    sources:\n      - kind: file\n        path: /etc/motd\n        content: "hi\\n"\n',
    );
    const r = cli(['build', project, '--cache', path.join(work, 'cache1'), '--out', out, '--format', 'oci,rootfs', '--json']);
    expect(r.stderr).toMatch(/sbom/);
    expect(r.code).toBe(0);
    cdx = readFileSync(path.join(out, 'hostimg.cdx.json'), 'utf8');
    spdx = readFileSync(path.join(out, 'hostimg.spdx.json'), 'utf8');
    files = cli(['ls', path.join(out, 'hostimg.oci'), '--cache', path.join(work, 'cache1')])
      .stdout.split('\n')
      .filter((l) => / 0100\d+-/.test(l) || / 0120\d+-/.test(l))
      .map((l) => l.slice(1, l.indexOf(' ')));
  }, 300_000);

  it('validates: CycloneDX with the library, SPDX against the spec\'s required fields', async () => {
    await expectValidCyclonedx(cdx);
    expectValidSpdx(spdx);
  });

  it('maps every host file to its Debian package at the host\'s version', () => {
    const doc = JSON.parse(cdx) as { components: CdxComponent[] };
    const hostFiles = files.filter((p) => !p.startsWith('/var/lib/dpkg/') && p !== '/etc/motd' && onHost(p));
    const owners = hostOwners(hostFiles);
    const regular = hostFiles.filter((p) => !isSymlink(p));
    expect(regular.length).toBeGreaterThan(5);
    const listed = new Map<string, CdxComponent>();
    for (const pkg of doc.components.filter((c) => c.type === 'library')) for (const f of pkg.components ?? []) listed.set(f.name, pkg);
    for (const p of regular) {
      const owner = owners.get(p);
      expect(owner, `dpkg -S ${p}`).toBeDefined();
      const pkg = listed.get(p);
      expect(pkg?.name, p).toBe(owner);
      expect(pkg!.version).toBe(sh('dpkg-query', ['-W', '-f', '${Version}', owner!]).stdout);
      expect(pkg!.purl).toMatch(new RegExp(`^pkg:deb/debian/${owner!.replace(/[+.]/g, '\\$&')}@.*arch=amd64`));
      expect(prop(pkg!, 'scratchyard:source')).toBe('layers[0].sources[0]');
      expect(prop(pkg!, 'scratchyard:layer')).toBe('tools');
    }
    for (const name of ['bash', 'curl', 'libc6', 'libcurl4']) expect(doc.components.some((c) => c.type === 'library' && c.name === name)).toBe(true);
    // The inline file is a file of its own, with its digest and source.
    const motd = doc.components.find((c) => c.type === 'file' && c.name === '/etc/motd')!;
    expect(motd.hashes).toContainEqual({ alg: 'SHA-256', content: createHash('sha256').update('hi\n').digest('hex') });
    expect(prop(motd, 'scratchyard:source')).toBe('layers[1].sources[0]');
  });

  it('writes distroless status.d entries that the image reader finds, with the host\'s versions and true md5sums', () => {
    const root = path.join(work, 'root1');
    mkdirSync(root);
    expect(sh('tar', ['-xf', path.join(out, 'hostimg.rootfs.tar'), '-C', root]).code).toBe(0);
    const control = readFileSync(path.join(root, 'var/lib/dpkg/status.d/curl'), 'utf8');
    expect(control).toMatch(/^Package: curl$/m);
    expect(control).toContain(`Version: ${sh('dpkg-query', ['-W', '-f', '${Version}', 'curl']).stdout}\n`);
    const sums = readFileSync(path.join(root, 'var/lib/dpkg/status.d/curl.md5sums'), 'utf8');
    expect(sums).toMatch(/ usr\/bin\/curl\n/);
    expect(sh('md5sum', ['-c', path.join(root, 'var/lib/dpkg/status.d/curl.md5sums')], { cwd: root }).code).toBe(0);
    // `scratchyard sbom` on the OCI layout reads only the image: status.d gives the same packages.
    const r = cli(['sbom', path.join(out, 'hostimg.oci'), '--cache', path.join(work, 'cache1')]);
    expect(r.code).toBe(0);
    const fromImage = (JSON.parse(r.stdout).components as CdxComponent[]).filter((c) => c.type === 'library').map((c) => `${c.name} ${c.version}`);
    const fromBuild = (JSON.parse(cdx).components as CdxComponent[]).filter((c) => c.type === 'library').map((c) => `${c.name} ${c.version}`);
    expect(fromImage).toEqual(fromBuild);
  });

  it('gives byte-identical SBOMs from a second build (another cache), and none of status.d when the recipe turns it off', () => {
    const out2 = path.join(work, 'out2');
    expect(cli(['build', project, '--cache', path.join(work, 'cache2'), '--out', out2, '--format', 'oci']).code).toBe(0);
    expect(readFileSync(path.join(out2, 'hostimg.cdx.json'), 'utf8')).toBe(cdx);
    expect(readFileSync(path.join(out2, 'hostimg.spdx.json'), 'utf8')).toBe(spdx);
    const off = writeProject(path.join(work, 'off'), readFileSync(path.join(project, 'scratchyard.yaml'), 'utf8').replace('epoch:', 'dpkgStatusD: false\nsbom: false\nepoch:'));
    expect(cli(['build', off, '--cache', path.join(work, 'cache2'), '--format', 'oci']).code).toBe(0);
    expect(readdirSync(path.join(off, 'out'))).toEqual(['hostimg.oci']);
    expect(cli(['ls', off, '--cache', path.join(work, 'cache2')]).stdout).not.toContain('status.d');
  });

  it('carries the SBOM as an OCI artifact whose subject is the image, and the layout still unpacks and copies', () => {
    const layout = path.join(out, 'hostimg.oci');
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const [image, artifact] = index.manifests;
    expect(artifact.artifactType).toBe('application/vnd.cyclonedx+json');
    const blob = (d: string) => readFileSync(path.join(layout, 'blobs/sha256', d.slice(7)));
    const m = JSON.parse(blob(artifact.digest).toString());
    expect(m.subject.digest).toBe(image.digest);
    expect(blob(m.layers[0].digest).toString()).toBe(cdx);
    const dest = path.join(work, 'unpacked');
    expect(sh('umoci', ['unpack', '--rootless', '--image', `${layout}:latest`, dest]).code).toBe(0);
    expect(readFileSync(path.join(dest, 'rootfs/etc/motd'), 'utf8')).toBe('hi\n');
    expect(JSON.parse(sh('skopeo', ['inspect', `oci:${layout}:latest`]).stdout).Digest).toBe(image.digest);
    const copy = sh('skopeo', ['copy', `oci:${layout}:latest`, `oci:${path.join(work, 'copied')}:latest`]);
    expect(copy.stderr).toBe('');
    expect(copy.code).toBe(0);
  });

  it('without sbomInLayout (the default) the layout lists the image alone: skopeo takes it without a tag', () => {
    const plain = writeProject(path.join(work, 'plain'), readFileSync(path.join(project, 'scratchyard.yaml'), 'utf8').replace('sbomInLayout: true\n', ''));
    const r = cli(['build', plain, '--cache', path.join(work, 'cache1'), '--format', 'oci']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(plain, 'out')).sort()).toEqual(['hostimg.cdx.json', 'hostimg.oci', 'hostimg.spdx.json']);
    expect(JSON.parse(readFileSync(path.join(plain, 'out/hostimg.oci/index.json'), 'utf8')).manifests).toHaveLength(1);
    expect(sh('skopeo', ['inspect', `oci:${path.join(plain, 'out/hostimg.oci')}`]).code).toBe(0);
  });
});

/** Paths of the image that exist on this machine (the host files). */
function onHost(p: string): boolean {
  return sh('test', ['-e', p]).code === 0 || isSymlink(p);
}
function isSymlink(p: string): boolean {
  return sh('test', ['-L', p]).code === 0;
}

describe.skipIf(lacks('mmdebstrap', 'dpkg-query'))('the Debian example', () => {
  const project = path.join(work, 'debian');
  const cache = path.join(work, 'cache-debian');
  beforeAll(() => {
    copyExample('debian', project);
    const r = cli(['build', project, '--cache', cache, '--format', 'rootfs,docker', '--sbom']);
    expect(r.code).toBe(0);
  }, 600_000);

  it('lists exactly the packages dpkg-query lists in its tree, with the same versions, each with its layer', async () => {
    const root = path.join(work, 'debian-root');
    mkdirSync(root);
    expect(sh('tar', ['-xf', path.join(project, 'out/debian.rootfs.tar'), '-C', root]).code).toBe(0);
    const dpkg = sh('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-W', '-f', '${Package} ${Version} ${Architecture}\\n']).stdout.trim().split('\n').sort();
    const text = readFileSync(path.join(project, 'out/debian.cdx.json'), 'utf8');
    await expectValidCyclonedx(text);
    expectValidSpdx(readFileSync(path.join(project, 'out/debian.spdx.json'), 'utf8'));
    const libs = (JSON.parse(text).components as CdxComponent[]).filter((c) => c.type === 'library');
    expect(libs.map((c) => `${c.name} ${c.version} ${new URL(c.purl!.replace('pkg:', 'pkg://x/')).searchParams.get('arch')}`).sort()).toEqual(dpkg);
    expect(libs.every((c) => prop(c, 'scratchyard:layer') === 'debian' && prop(c, 'scratchyard:source') === 'layers[0].sources[0]')).toBe(true);
    expect(libs.every((c) => c.purl!.includes('distro=debian-12'))).toBe(true);
    // Machine-readable copyright files give licences (not all of Debian's are).
    expect(libs.filter((c) => c.licenses?.length).length).toBeGreaterThan(10);
    // The image reader (docker-archive) agrees.
    const r = cli(['sbom', path.join(project, 'out/debian.docker.tar'), '--cache', cache, '--format', 'spdx']);
    expect(r.code).toBe(0);
    expectValidSpdx(r.stdout);
    const names = JSON.parse(r.stdout).packages.filter((p: { SPDXID: string }) => p.SPDXID.startsWith('SPDXRef-Package-')).map((p: { name: string; versionInfo: string }) => `${p.name} ${p.versionInfo}`);
    expect(names.sort()).toEqual(dpkg.map((l) => l.split(' ').slice(0, 2).join(' ')).sort());
  });
});
