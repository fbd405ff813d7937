// `cache gc` prunes the image layout fetched bases go into (CACHE/images): a
// base only a deleted project used leaves index.json and its blobs go, a live
// project's base stays whole (read back offline, every blob re-hashed, as the
// base of another build); --dry-run removes nothing; a hostile layout is
// refused naming the file, and nothing in it or outside the cache is touched.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, lacks, tempDir, type CliResult } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';
import { startRegistry, type TestRegistry } from '../helpers/registry';

const missing = lacks('skopeo', 'docker-registry');
const work = tempDir('sy-gc-images-');
const cache = path.join(work, 'cache');
const layout = path.join(cache, 'images');
const blob = (hex: string) => path.join(layout, 'blobs', 'sha256', hex);

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};

/** A one-layer image of a file (distinct content per name). */
function fileImage(name: string): string {
  return writeProject(
    path.join(work, name),
    `name: ${name}\ntag: scratchyard-test/${name}:1\nlayers:\n  - name: only\n    sources:\n      - kind: file\n        path: /etc/${name}\n        content: "${name} ${'x'.repeat(100)}\\n"\n`,
  );
}

/** A project on the base `ref`, with one layer of its own. */
function onBase(name: string, ref: string): string {
  return writeProject(
    path.join(work, name),
    `name: ${name}\ntag: scratchyard-test/${name}:1\nlayers:\n  - name: base\n    sources:\n      - kind: image\n        ref: ${JSON.stringify(ref)}\n  - name: mine\n    sources:\n      - kind: file\n        path: /etc/mine\n        content: "${name}\\n"\n`,
  );
}

interface Entry {
  digest: string;
  annotations?: Record<string, string>;
}
const entries = (): Entry[] => JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')).manifests;
/** images.resolved.json: what each fetched reference resolved to (read without our code). */
const resolvedFile = path.join(cache, 'images.resolved.json');
const resolved = (): Record<string, string> => JSON.parse(readFileSync(resolvedFile, 'utf8'));

/** Every blob hex a manifest in the layout reaches: itself, its config, its layers (read without our code). */
function reached(digest: string): string[] {
  const hex = digest.slice(7);
  const m = JSON.parse(readFileSync(blob(hex), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
  return [hex, m.config.digest.slice(7), ...m.layers.map((l) => l.digest.slice(7))];
}

describe.skipIf(missing)('cache gc and the layout of fetched images', () => {
  let reg: TestRegistry;
  let digestA: string;
  let digestB: string;
  let live: string;
  let gone: string;
  let refA: string;
  let refB: string;
  beforeAll(async () => {
    reg = await startRegistry();
    // The bases are built and pushed with a cache of their own: the project cache holds only what the fetches bring.
    const pushCache = path.join(work, 'push-cache');
    for (const n of ['base-a', 'base-b']) {
      const p = fileImage(n);
      ok(cli(['build', p, '--format', 'oci', '--cache', pushCache]));
      ok(cli(['push', p, `docker://${reg.host}/sy/${n}:1`, '--cache', pushCache]));
    }
    [refA, refB] = [`docker://${reg.host}/sy/base-a:1`, `docker://${reg.host}/sy/base-b:1`];
    gone = onBase('uses-a', refA);
    live = onBase('uses-b', refB);
    ok(cli(['build', gone, '--cache', cache]));
    ok(cli(['build', live, '--cache', cache]));
    const byTag = new Map(entries().map((e) => [e.annotations?.['org.opencontainers.image.ref.name'], e.digest]));
    expect(byTag.size).toBe(2);
    [digestA, digestB] = [...byTag.values()];
    // Which is which: the layout names each by its manifest digest's hex, as fetched.
    if (!readFileSync(blob(reached(digestA)[2])).includes('base-a')) [digestA, digestB] = [digestB, digestA];
  }, 180_000);
  afterAll(() => reg?.stop());

  it('--dry-run says what it would remove and removes nothing', () => {
    rmSync(gone, { recursive: true });
    const before = readFileSync(path.join(layout, 'index.json'), 'utf8');
    const r = ok(cli(['cache', 'gc', '--cache', cache, '--dry-run', '--json']));
    const report = JSON.parse(r.stdout);
    expect(report.images).toEqual({ dropped: [digestA], kept: 1 });
    const onlyA = reached(digestA).filter((h) => !reached(digestB).includes(h));
    expect(onlyA.length).toBeGreaterThanOrEqual(3);
    expect(report.removed.filter((i: { kind: string }) => i.kind === 'images').map((i: { name: string }) => i.name).sort()).toEqual(onlyA.sort());
    expect(readFileSync(path.join(layout, 'index.json'), 'utf8')).toBe(before);
    for (const h of reached(digestA)) expect(existsSync(blob(h))).toBe(true);
    expect(report.resolved).toEqual({ dropped: [refA], kept: 1 });
    expect(resolved()).toEqual({ [refA]: digestA, [refB]: digestB });
  });

  it('removes the entry and blobs of the base only a deleted project used; the live base stays and still builds offline', async () => {
    const du = JSON.parse(ok(cli(['cache', 'du', '--cache', cache, '--json'])).stdout);
    const onlyA = reached(digestA).filter((h) => !reached(digestB).includes(h));
    const keepB = reached(digestB);
    const r = ok(cli(['cache', 'gc', '--cache', cache]));
    expect(r.stdout).toMatch(/removed \d+ blobs, \d+ packs, \d+ node results, 1 fetched images \(3 image blobs\)/);
    expect(entries().map((e) => e.digest)).toEqual([digestB]);
    // The dead base's tag is forgotten with its image; the live one's record stays.
    expect(r.stdout).toContain(`forgot what ${refA} resolved to`);
    expect(resolved()).toEqual({ [refB]: digestB });
    for (const h of onlyA) expect(existsSync(blob(h))).toBe(false);
    for (const h of keepB) expect(existsSync(blob(h))).toBe(true);
    const after = JSON.parse(ok(cli(['cache', 'du', '--cache', cache, '--json'])).stdout);
    expect(after.kinds.images.count).toBe(du.kinds.images.count - onlyA.length);
    expect(existsSync(`${layout}.lock`)).toBe(false);
    // A second gc finds nothing more in the layout.
    expect(JSON.parse(ok(cli(['cache', 'gc', '--cache', cache, '--json'])).stdout).images).toEqual({ dropped: [], kept: 1 });

    // The live project rebuilds from the cache (its base is not copied again)...
    const index = readFileSync(path.join(layout, 'index.json'), 'utf8');
    const again = ok(cli(['build', live, '--cache', cache]));
    expect(again.stderr).not.toMatch(/downloaded/);
    expect(readFileSync(path.join(layout, 'index.json'), 'utf8')).toBe(index);
    // ...and, the registry gone, its tag still builds from what the kept record says it named...
    await reg.stop();
    const down = ok(cli(['build', live, '--cache', cache]));
    expect(down.stderr).toContain(`${refB}: cannot connect to ${reg.host} (connection refused): using ${digestB}`);
    // ...and the layout alone is a whole image: read as a base into an empty cache, every blob re-hashed.
    const offline = onBase('from-layout', `oci:${layout}:${digestB.slice(7)}`);
    const built = JSON.parse(ok(cli(['build', offline, '--cache', path.join(work, 'empty-cache'), '--json'])).stdout);
    expect(built.base).toEqual({ ref: `oci:${layout}:${digestB.slice(7)}`, digest: digestB });
  }, 120_000);

  it('--keep-storage: a project let go to fit the limit lets go of its fetched base too', () => {
    const keepB = reached(digestB);
    const dry = JSON.parse(ok(cli(['cache', 'gc', '--cache', cache, '--keep-storage', '1KB', '--dry-run', '--json'])).stdout);
    expect(dry.dropped).toEqual([live]);
    expect(dry.images).toEqual({ dropped: [digestB], kept: 0 });
    expect(existsSync(blob(keepB[0]))).toBe(true);
    ok(cli(['cache', 'gc', '--cache', cache, '--keep-storage', '1KB']));
    expect(entries()).toEqual([]);
    for (const h of keepB) expect(existsSync(blob(h))).toBe(false);
    expect(resolved()).toEqual({});
  });
});

describe('a hostile image layout in the cache', () => {
  const orphan = 'e'.repeat(64);
  /** An arena whose cache holds an image layout with `index` as its index.json (and `files` beside), plus an unreferenced blob. */
  function hostile(index: string | Buffer, files: Record<string, string> = {}) {
    const a = arena('sy-gc-hostile-');
    const dir = path.join(a.cache, 'images');
    mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(path.join(dir, 'index.json'), index);
    writeFileSync(path.join(dir, 'blobs', 'sha256', orphan), 'nobody names me');
    for (const [rel, text] of Object.entries(files)) writeFileSync(path.join(dir, rel), text);
    return { a, dir, index: path.join(dir, 'index.json') };
  }
  const refused = (h: ReturnType<typeof hostile>, culprit: string | RegExp) => {
    const r = expectContained(h.a, () => boundedCli(['cache', 'gc', '--cache', h.a.cache]));
    expectRefused(r, 1, culprit);
    expect(r.stderr).toContain('left as it is');
    // Nothing removed from a damaged layout.
    expect(existsSync(path.join(h.dir, 'blobs', 'sha256', orphan))).toBe(true);
  };

  it('a huge index.json is refused unread, named', () => {
    const h = hostile(Buffer.alloc(17 << 20, 0x20));
    refused(h, `${h.index}: is ${17 << 20} bytes`);
  });

  it('a malformed index.json, named', () => {
    refused(hostile('{"manifests": [ {"digest": '), /index\.json: is not JSON/);
    const h = hostile('{"manifests": {"not": "a list"}}');
    refused(h, `${h.index}: manifests:`);
  });

  it('a digest that climbs out of the layout never becomes a path', () => {
    const h = hostile(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: 'sha256:../../../canary/keep', size: 7 }] }));
    refused(h, `${h.index}: manifests[0].digest: "sha256:../../../canary/keep" is not a digest`);
  });

  it('a manifest whose layer digest climbs out, named by the manifest file', () => {
    const m = 'a'.repeat(64);
    const h = hostile(JSON.stringify({ manifests: [{ digest: `sha256:${m}` }] }), {
      [`blobs/sha256/${m}`]: JSON.stringify({ config: { digest: `sha256:${'b'.repeat(64)}` }, layers: [{ digest: 'sha256:../../canary' }] }),
    });
    refused(h, `${path.join(h.dir, 'blobs', 'sha256', m)}: layers[0].digest`);
  });

  it('blobs/sha256 a symlink out of the cache: refused, nothing followed', () => {
    const h = hostile('{"manifests": []}');
    rmSync(path.join(h.dir, 'blobs', 'sha256'), { recursive: true });
    symlinkSync(h.a.canary, path.join(h.dir, 'blobs', 'sha256'));
    const r = expectContained(h.a, () => boundedCli(['cache', 'gc', '--cache', h.a.cache]));
    expectRefused(r, 1, `${path.join(h.dir, 'blobs', 'sha256')}: is a symbolic link`);
    expect(existsSync(path.join(h.a.canary, 'keep'))).toBe(true);
  });
});

describe('a hostile record of what fetched references resolved to', () => {
  const orphan = 'e'.repeat(64);
  /** An arena whose cache holds `record` as images.resolved.json, beside a sound layout naming nothing (and so an unreferenced blob gc removes). */
  function hostile(record: string | Buffer) {
    const a = arena('sy-gc-resolved-');
    const dir = path.join(a.cache, 'images');
    mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(path.join(dir, 'index.json'), '{"schemaVersion": 2, "manifests": []}');
    writeFileSync(path.join(dir, 'blobs', 'sha256', orphan), 'nobody names me');
    const file = path.join(a.cache, 'images.resolved.json');
    writeFileSync(file, record);
    return { a, file, orphanBlob: path.join(dir, 'blobs', 'sha256', orphan) };
  }
  /** Named, exit 1, the record left byte for byte, and the rest of the cache collected all the same. */
  const refused = (h: ReturnType<typeof hostile>, culprit: string | RegExp) => {
    const before = readFileSync(h.file);
    const r = expectContained(h.a, () => boundedCli(['cache', 'gc', '--cache', h.a.cache]));
    expectRefused(r, 1, culprit);
    expect(r.stderr).toContain('left as it is');
    expect(readFileSync(h.file).equals(before)).toBe(true);
    expect(existsSync(h.orphanBlob)).toBe(false);
    expect(existsSync(path.join(h.a.canary, 'keep'))).toBe(true);
  };

  it('a sound record, bare hex as earlier versions wrote it: references whose image the layout lacks are dropped, exit 0', () => {
    const h = hostile(JSON.stringify({ 'docker://example.org/a:1': 'a'.repeat(64) }));
    const r = expectContained(h.a, () => boundedCli(['cache', 'gc', '--cache', h.a.cache, '--json']));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).resolved).toEqual({ dropped: ['docker://example.org/a:1'], kept: 0 });
    expect(JSON.parse(readFileSync(h.file, 'utf8'))).toEqual({});
    expect(existsSync(h.orphanBlob)).toBe(false);
  });

  it('a huge record is refused unread, named', () => {
    const h = hostile(Buffer.alloc(17 << 20, 0x20));
    refused(h, `${h.file}: is ${17 << 20} bytes`);
  });

  it('a malformed record, named', () => {
    const h = hostile('{"docker://example.org/a:1": ');
    refused(h, `${h.file}: is not JSON`);
    const list = hostile('["sha256:' + 'a'.repeat(64) + '"]');
    refused(list, `${list.file}: top:`);
    const number = hostile('{"docker://example.org/a:1": 7}');
    refused(number, `${number.file}: docker://example.org/a:1:`);
  });

  it('a digest that climbs out never becomes a path', () => {
    const h = hostile(JSON.stringify({ 'docker://example.org/a:1': 'sha256:../../x', 'docker://example.org/b:1': `sha256:${'b'.repeat(64)}` }));
    refused(h, `${h.file}: "docker://example.org/a:1": "sha256:../../x" is not a digest`);
  });
});
