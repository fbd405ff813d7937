// What a no-op rebuild skips (issue 17 point 2, issue 16's SBOM cost), and
// that skipping changes nothing: the host's dpkg answers kept in the cache
// folder (host-dpkg/, keyed by the dpkg database's identity and the paths
// asked), the SBOM node and the files' sha1s kept per layer (sbom-sha1/)
// give byte-identical outputs; a changed dpkg database is asked again;
// damaged cache files are recomputed, never trusted.
// The database is a copy (DPKG_ADMINDIR, which dpkg-query honours too): the
// host's own is never touched.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, lacks, sh, tempDir } from '../helpers/env';
import { arena, boundedCli, expectContained } from '../helpers/hostile';
import { copyExample } from '../helpers/projects';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const OUTPUTS = ['hello.docker.tar', 'hello.rootfs.tar', 'hello.cdx.json', 'hello.spdx.json'];

describe.skipIf(lacks('dpkg-query', 'tar'))('a no-op rebuild', () => {
  const work = tempDir('sy-noop-');
  const admin = path.join(work, 'dpkg');
  const env = { ...process.env, DPKG_ADMINDIR: admin };
  const project = path.join(work, 'hello');
  const cache = path.join(work, 'cache');
  const build = (out: string, c = cache) => {
    const r = cli(['build', project, '--cache', c, '--out', out, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    return { digest: JSON.parse(r.stdout).manifestDigest as string, stderr: r.stderr };
  };
  const digests = (out: string) => OUTPUTS.map((n) => `${n} ${sha(path.join(out, n))}`);
  const statusD = (out: string, name: string) => sh('tar', ['-xOf', path.join(out, 'hello.rootfs.tar'), '--wildcards', `*var/lib/dpkg/status.d/${name}`]).stdout;
  let first: { digest: string; stderr: string };
  let files: string[];

  beforeAll(() => {
    cpSync('/var/lib/dpkg', admin, { recursive: true });
    copyExample('hello', project);
    first = build(path.join(work, 'out1'));
    files = digests(path.join(work, 'out1'));
  }, 300_000);

  it('answers from the cache folder and writes byte-identical outputs and SBOMs', () => {
    const answers = readdirSync(path.join(cache, 'host-dpkg'));
    expect(answers.length).toBeGreaterThan(0);
    const again = build(path.join(work, 'out1'));
    expect(again.digest).toBe(first.digest);
    expect(again.stderr).toMatch(/sbom cached/);
    // Nothing recomputed, so nothing rewritten.
    expect(readdirSync(path.join(cache, 'host-dpkg')).sort()).toEqual(answers.sort());
    // Into a new output folder from the warm cache: the same bytes, SBOMs included (from the store).
    const out2 = path.join(work, 'out2');
    expect(build(out2).digest).toBe(first.digest);
    expect(digests(out2)).toEqual(files);
    // An SBOM file edited beside the outputs is not reused as it is: it is put back.
    writeFileSync(path.join(out2, 'hello.cdx.json'), '{}');
    build(out2);
    expect(digests(out2)).toEqual(files);
  });

  it('puts the same SBOM artifact into the OCI layout from a reused SBOM (sbomInLayout)', () => {
    const inLayout = path.join(work, 'in-layout');
    copyExample('hello', inLayout);
    const recipe = path.join(inLayout, 'scratchyard.yaml');
    writeFileSync(recipe, readFileSync(recipe, 'utf8').replace(/^epoch:/m, 'sbomInLayout: true\nepoch:'));
    const layout = (out: string, c: string) => {
      const r = cli(['build', inLayout, '--cache', c, '--out', out, '--format', 'oci'], { env });
      expect(r.code, r.stderr).toBe(0);
      return r.stderr;
    };
    // Made in a cache of its own, then reused from the warm one (sbomInLayout is not an input of the SBOM itself).
    expect(layout(path.join(work, 'layout1'), path.join(work, 'cache-layout'))).not.toMatch(/sbom cached/);
    expect(layout(path.join(work, 'layout2'), cache)).toMatch(/sbom cached/);
    const index = (out: string) => readFileSync(path.join(out, 'hello.oci/index.json'), 'utf8');
    expect(JSON.parse(index(path.join(work, 'layout2'))).manifests).toHaveLength(2);
    expect(index(path.join(work, 'layout2'))).toBe(index(path.join(work, 'layout1')));
    expect(sh('diff', ['-r', path.join(work, 'layout1'), path.join(work, 'layout2')]).code).toBe(0);
  });

  it('asks dpkg again when its database changes, even by a same-sized edit', () => {
    const bash = statusD(path.join(work, 'out1'), 'bash');
    const version = /^Version: (.+)$/m.exec(bash)![1];
    // Same size, new content: only the database's identity (mtime, ctime) tells.
    const bumped = version.replace(/.$/, (c) => (c === '9' ? '8' : String.fromCharCode(c.charCodeAt(0) + 1)));
    expect(/^[A-Za-z0-9.+~:-]+$/.test(bumped) && bumped.length === version.length).toBe(true);
    const status = path.join(admin, 'status');
    const original = readFileSync(status, 'utf8');
    const edited = original.replace(new RegExp(`(\nPackage: bash\n(?:.+\n)*?Version: )${version.replace(/[.+]/g, '\\$&')}\n`), `$1${bumped}\n`);
    expect(edited).not.toBe(original);
    expect(edited.length).toBe(original.length);
    writeFileSync(status, edited);
    try {
      const out = path.join(work, 'out3');
      const changed = build(out);
      expect(statusD(out, 'bash')).toContain(`Version: ${bumped}\n`);
      expect(changed.digest).not.toBe(first.digest);
      expect(changed.stderr).not.toMatch(/sbom cached/);
      expect(readFileSync(path.join(out, 'hello.cdx.json'), 'utf8')).toContain(bumped);
      expect(readFileSync(path.join(project, 'scratchyard.lock'), 'utf8')).toContain(`"version": "${bumped}"`);
    } finally {
      writeFileSync(status, original);
    }
    // The original text again (a new identity all the same): the first image, byte for byte.
    const out4 = path.join(work, 'out4');
    expect(build(out4).digest).toBe(first.digest);
    expect(digests(out4)).toEqual(files);
  });

  it('recomputes damaged cache files (host-dpkg answers, the SBOM node) and writes the same image', () => {
    const a = arena('sy-noop-hostile-');
    cpSync(cache, a.cache, { recursive: true });
    const answers = path.join(a.cache, 'host-dpkg');
    const names = readdirSync(answers).filter((n) => n.endsWith('.json'));
    expect(names.length).toBeGreaterThan(3);
    const good = readFileSync(path.join(answers, names[0]), 'utf8');
    const doc = JSON.parse(good);
    const damage: ((f: string) => void)[] = [
      (f) => writeFileSync(f, 'not json'),
      (f) => writeFileSync(f, good.slice(0, good.length >> 1)),
      (f) => writeFileSync(f, JSON.stringify({ ...doc, key: '0'.repeat(64) })),
      (f) => writeFileSync(f, JSON.stringify({ ...doc, owners: [['/etc/passwd', 0]], packages: doc.packages ?? [] })),
      (f) => writeFileSync(f, JSON.stringify({ ...doc, packages: [[['Package\nVersion', 'x']]] })),
      (f) => {
        rmSync(f);
        symlinkSync('/etc/passwd', f);
      },
      (f) => {
        writeFileSync(f, '');
        truncateSync(f, 64 << 20);
      },
    ];
    names.forEach((n, i) => damage[i % damage.length](path.join(answers, n)));
    for (const n of readdirSync(path.join(a.cache, 'nodes')).filter((n) => n.startsWith('sbom-'))) writeFileSync(path.join(a.cache, 'nodes', n), '{"value":{"cyclonedx":{"digest":"../../etc","size":1}}}');
    // The files' sha1s kept per layer: each record damaged another way (the SBOM is made again above, so they are read).
    const sums = path.join(a.cache, 'sbom-sha1');
    const records = readdirSync(sums).filter((n) => n.endsWith('.json'));
    expect(records.length).toBeGreaterThan(1);
    const record = JSON.parse(readFileSync(path.join(sums, records[0]), 'utf8'));
    const [content] = Object.keys(record.sha1);
    const forged: ((f: string, layer: string) => void)[] = [
      (f) => writeFileSync(f, JSON.stringify({ ...record, sha1: { [content]: 'not a sha1' } })),
      (f) => writeFileSync(f, JSON.stringify({ ...record, sha1: { '../../etc/passwd': '0'.repeat(40) } })),
      (f, layer) => writeFileSync(f, `{"v":1,"layer":"${layer}","sha1":{"__proto__":"${'0'.repeat(40)}"}}`),
      (f) => writeFileSync(f, JSON.stringify({ ...record, sha1: { [content]: '0'.repeat(40) }, extra: 1 })),
      (f, layer) => writeFileSync(f, JSON.stringify({ v: 1, layer: layer.replace(/^./, (c) => (c === '0' ? '1' : '0')), sha1: { [content]: '0'.repeat(40) } })),
      (f) => {
        rmSync(f);
        symlinkSync('/etc/passwd', f);
      },
      (f) => {
        writeFileSync(f, '');
        truncateSync(f, 80 << 20);
      },
    ];
    records.forEach((n, i) => forged[i % forged.length](path.join(sums, n), n.replace(/\.json$/, '')));
    const r = expectContained(a, () => boundedCli(['build', project, '--cache', a.cache, '--out', a.out, '--json'], { env, timeoutMs: 120_000 }));
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.maxRssMiB).toBeLessThan(512);
    expect(JSON.parse(r.stdout).manifestDigest).toBe(first.digest);
    expect(r.stderr).not.toMatch(/sbom cached/);
    expect(digests(a.out)).toEqual(files);
    // Rewritten whole: the next build reads them back.
    for (const n of names) expect(existsSync(path.join(answers, n)) && JSON.parse(readFileSync(path.join(answers, n), 'utf8')).v).toBe(1);
    for (const n of records) expect(JSON.parse(readFileSync(path.join(sums, n), 'utf8')).sha1[content] ?? 'absent').not.toBe('0'.repeat(40));
  });
});
