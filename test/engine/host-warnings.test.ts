// Host sources say what they bring: dangling links, folders reached through
// symlinks, private keys, credentials and self-made CA certificates, on
// stderr and in --json; warnings never change the image or fail the build.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, lacks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

interface Warning {
  kind: string;
  image: string;
  host: string;
  reason: string;
  field: string;
}

const work = tempDir('sy-hostwarn-');
const cache = path.join(work, 'cache');
const h = path.join(work, 'host');
const noOpenssl = lacks('openssl');

let project: string;
let clean: string;
beforeAll(() => {
  // conf: the listed folder, with links that lead nowhere in the image.
  mkdirSync(path.join(h, 'conf'), { recursive: true });
  writeFileSync(path.join(h, 'conf/app.conf'), 'port = 80\n');
  symlinkSync('/nonexistent/target', path.join(h, 'conf/abs-dangling'));
  symlinkSync('missing.conf', path.join(h, 'conf/rel-dangling'));
  symlinkSync('app.conf', path.join(h, 'conf/fine'));
  // ssl: listed, but a symlink to a folder outside the listed paths.
  mkdirSync(path.join(h, 'real-ssl'));
  symlinkSync(path.join(h, 'real-ssl'), path.join(h, 'ssl'));
  if (!noOpenssl) {
    expect(sh('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', path.join(h, 'real-ssl/server.key')]).code).toBe(0);
    const r = sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(h, 'ca-key.pem'), '-out', path.join(h, 'real-ssl/our-ca.pem'), '-days', '3', '-subj', '/CN=Scratchyard Test CA']);
    expect(r.code, r.stderr).toBe(0);
  }
  writeFileSync(path.join(h, 'real-ssl/.netrc'), 'machine example.com login me password secret\n');
  project = writeProject(
    path.join(work, 'p'),
    `name: hostwarn
layers:
  - name: base
    sources:
      - kind: busybox
      - kind: host
        paths: [${path.join(h, 'conf')}, ${path.join(h, 'ssl')}]
`,
  );
  clean = writeProject(
    path.join(work, 'clean'),
    `name: clean
layers:
  - name: base
    sources:
      - kind: host
        paths: [/bin/busybox]
`,
  );
});

function buildJson(dir: string): { code: number; stderr: string; json: { manifestDigest: string; warnings: Warning[] } } {
  const r = cli(['build', dir, '--cache', cache, '--format', 'docker', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return { code: r.code, stderr: r.stderr, json: JSON.parse(r.stdout) };
}

describe.skipIf(noOpenssl)('host source warnings', () => {
  it('name each dangling link, the folder reached through a symlink, the key, the credentials and the self-made CA, with host path and reason', () => {
    const { stderr, json } = buildJson(project);
    const w = json.warnings;
    const find = (kind: string, image: string) => w.find((x) => x.kind === kind && x.image === image);
    const conf = path.join(h, 'conf');
    const realSsl = path.join(h, 'real-ssl');

    expect(find('dangling-symlink', `${conf}/abs-dangling`)?.reason).toMatch(/symlink to \/nonexistent\/target dangles in the image: \/nonexistent does not exist/);
    expect(find('dangling-symlink', `${conf}/rel-dangling`)?.reason).toMatch(/symlink to missing\.conf dangles in the image/);
    expect(find('dangling-symlink', `${conf}/abs-dangling`)?.host).toBe(`${conf}/abs-dangling`);
    // A link whose target the source brought is fine.
    expect(w.some((x) => x.image === `${conf}/fine`)).toBe(false);

    const outside = find('outside-listed-path', realSsl);
    expect(outside?.reason).toContain(`symlink ${path.join(h, 'ssl')} -> ${realSsl}`);
    expect(outside?.reason).toMatch(/\(3 files\)/);

    expect(find('private-key', `${realSsl}/server.key`)?.reason).toContain('-----BEGIN PRIVATE KEY-----');
    expect(find('credentials', `${realSsl}/.netrc`)?.host).toBe(`${realSsl}/.netrc`);
    const ca = find('local-ca', `${realSsl}/our-ca.pem`);
    expect(ca?.reason).toMatch(/not Debian's .* this machine's own CA\? \(CN=Scratchyard Test CA\)/);
    expect(ca?.field).toBe('layers[0].sources[1]');
    expect(w).toHaveLength(6);

    // Sorted by image path, and the same list on stderr as "warning: IMAGE: KIND: REASON (host HOST, FIELD)".
    const sorted = [...w].sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
    expect(w.map((x) => x.image)).toEqual(sorted.map((x) => x.image));
    const lines = stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(lines).toEqual(w.map((x) => `warning: ${x.image}: ${x.kind}: ${x.reason} (host ${x.host}, ${x.field})`));
    expect(stderr).toContain('6 warning(s) from host sources: 2 dangling-symlink, 1 outside-listed-path, 1 credentials, 1 local-ca, 1 private-key');
  });

  it('change nothing in the image: the warned files are still there and a rebuild gives the same digest and warnings', () => {
    const first = buildJson(project).json;
    const again = buildJson(project).json;
    expect(again.manifestDigest).toBe(first.manifestDigest);
    expect(again.warnings).toEqual(first.warnings);
    const ls = cli(['ls', project, '--cache', cache]);
    expect(ls.code, ls.stderr).toBe(0);
    for (const p of ['conf/abs-dangling', 'real-ssl/server.key', 'real-ssl/our-ca.pem', 'real-ssl/.netrc']) expect(ls.stdout).toContain(`.${path.join(h, p)} `);
  });

  it('--strict fails a build that warns, and passes a clean one', () => {
    const r = cli(['build', project, '--cache', cache, '--format', 'docker', '--strict']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/6 warning\(s\) and --strict/);
    expect(cli(['build', clean, '--cache', cache, '--format', 'docker', '--strict']).code).toBe(0);
  });
});

describe('a clean host source', () => {
  it('/bin/busybox brings no warning', () => {
    const { stderr, json } = buildJson(clean);
    expect(json.warnings).toEqual([]);
    expect(stderr).not.toContain('warning:');
  });
});
