// The cache's own files are untrusted: a flipped byte, a truncation, a
// symlink or a forged node result in the cache never reaches an image. Each
// case damages a copy of a warm cache the way a bad disk or another process
// would, rebuilds through the real CLI, and compares with a clean build.
// Then `cache verify`, `cache gc` and `--keep-storage` on real caches.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, lacks, sh } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused, type Arena } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';

// Other suites on this machine leave /tmp/scratchyard-* too: the containment check watches a TMPDIR of this file's own.
const privateTmp = mkdtempSync(path.join(os.tmpdir(), 'sy-trust-tmp-'));
process.env.TMPDIR = privateTmp;
afterAll(() => rmSync(privateTmp, { recursive: true, force: true }));

const MOTD = 'hello from the app layer\n';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function project(dir: string, name: string, big?: Buffer): string {
  const files: Record<string, string> = { 'files/data.txt': `data of ${name}\n`, 'tree/etc/os-release': `NAME=${name}\n`, 'tree/bin/tool': 'tool '.repeat(4000) };
  writeProject(
    dir,
    `name: ${name}\nepoch: 0\nlayers:\n  - name: base\n    sources:\n      - kind: tarball\n        src: base.tar\n  - name: app\n    sources:\n      - kind: file\n        path: /etc/motd\n        content: ${JSON.stringify(MOTD)}\n      - kind: copy\n        src: files\n        dest: /srv\n`,
    files,
  );
  if (big) writeFileSync(path.join(dir, 'files/big.bin'), big);
  expect(sh('tar', ['--sort=name', '--owner=0', '--group=0', '--mtime=@0', '-cf', path.join(dir, 'base.tar'), '-C', path.join(dir, 'tree'), '.']).code).toBe(0);
  return dir;
}

interface Built {
  manifestDigest: string;
  layers: { digest: string; diffId: string; cached: boolean }[];
}

function build(proj: string, cache: string, out: string, ...extra: string[]): Built & { stderr: string } {
  const r = boundedCli(['build', proj, '--cache', cache, '--out', out, '--json', ...extra]);
  expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(r.code, r.stderr).toBe(0);
  return { ...(JSON.parse(r.stdout) as Built), stderr: r.stderr };
}

const blobPath = (cache: string, hex: string) => path.join(cache, 'blobs', 'sha256', hex);

function flipByte(file: string, at: number): void {
  chmodSync(file, 0o644);
  const b = readFileSync(file);
  b[at] ^= 0xff;
  writeFileSync(file, b);
}

/** A pack of the cache and one content in it with at least `min` bytes: [pack file, digest, offset]. */
function packedContent(cache: string, min = 100): [string, string, number] {
  const dir = path.join(cache, 'packs');
  const id = readdirSync(dir).find((n) => !n.endsWith('.idx.json') && !n.startsWith('.'))!;
  const index = JSON.parse(readFileSync(path.join(dir, `${id}.idx.json`), 'utf8')) as [string, number, number][];
  const [digest, offset] = index.find((row) => row[2] >= min)!;
  return [path.join(dir, id), digest, offset];
}

function layerNodes(cache: string): string[] {
  const dir = path.join(cache, 'nodes');
  return readdirSync(dir)
    .filter((n) => readFileSync(path.join(dir, n), 'utf8').includes('"diffId"'))
    .map((n) => path.join(dir, n));
}

/** The blob file is there again and holds exactly its digest's bytes. */
function expectWhole(cache: string, hex: string): void {
  const f = blobPath(cache, hex);
  expect(lstatSync(f).isFile()).toBe(true);
  expect(sha(readFileSync(f))).toBe(hex);
}

describe('a damaged cache never reaches the image', () => {
  let a: Arena;
  let proj: string;
  let warm: string;
  let clean: Built;
  let cleanGz: Built;
  let n = 0;
  /** A fresh copy of the warm cache, and an output folder of its own. */
  const fresh = () => {
    const c = path.join(a.cache, `c${++n}`);
    cpSync(warm, c, { recursive: true });
    return { cache: c, out: path.join(a.out, `o${n}`) };
  };

  beforeAll(() => {
    a = arena('sy-trust-');
    proj = project(path.join(a.dir, 'proj'), 'trust');
    warm = path.join(a.cache, 'warm');
    clean = build(proj, warm, path.join(a.out, 'warm'));
    cleanGz = build(proj, path.join(a.cache, 'clean-gz'), path.join(a.out, 'clean-gz'), '--gzip');
  }, 120_000);

  it('a flipped byte in a file content blob: removed, and the layer rebuilt from the source', () => {
    const { cache, out } = fresh();
    const hex = sha(MOTD);
    flipByte(blobPath(cache, hex), 3);
    const r = expectContained(a, () => build(proj, cache, out, '--gzip'));
    expect(r.manifestDigest).toBe(cleanGz.manifestDigest);
    expect(r.stderr).toContain(`sha256:${hex}`);
    expect(r.stderr).toMatch(/does not match its digest; it was removed from the cache/);
    expectWhole(cache, hex);
  });

  it('a flipped byte in a layer tar blob: the layer is written again', () => {
    const { cache, out } = fresh();
    const layer = clean.layers[1].digest.replace('sha256:', '');
    flipByte(blobPath(cache, layer), 600);
    const r = expectContained(a, () => build(proj, cache, out));
    expect(r.manifestDigest).toBe(clean.manifestDigest);
    expect(r.stderr).toContain(`sha256:${layer}`);
    expect(r.layers[1].cached).toBe(false);
    expectWhole(cache, layer);
    expect(sha(readFileSync(path.join(out, 'trust.docker.tar')))).toBe(sha(readFileSync(path.join(a.out, 'warm', 'trust.docker.tar'))));
  });

  it('a flipped byte in a pack content: the pack goes and the tarball is imported again', () => {
    const { cache, out } = fresh();
    const [pack, digest, offset] = packedContent(cache);
    flipByte(pack, offset + 10);
    const r = expectContained(a, () => build(proj, cache, out, '--gzip'));
    expect(r.manifestDigest).toBe(cleanGz.manifestDigest);
    expect(r.stderr).toContain(`sha256:${digest}`);
    const [again] = packedContent(cache);
    const idx = JSON.parse(readFileSync(`${again}.idx.json`, 'utf8')) as [string, number, number][];
    const row = idx.find((x) => x[0] === digest)!;
    expect(sha(readFileSync(again).subarray(row[1], row[1] + row[2]))).toBe(digest);
  });

  it('a truncated layer blob: named, removed and rebuilt, not "Size mismatch"', () => {
    const { cache, out } = fresh();
    const layer = clean.layers[0].digest.replace('sha256:', '');
    truncateSync(blobPath(cache, layer), 1000);
    const r = expectContained(a, () => build(proj, cache, out));
    expect(r.manifestDigest).toBe(clean.manifestDigest);
    expect(r.stderr).toMatch(new RegExp(`sha256:${layer} .*has 1000 bytes`));
    expect(r.stderr).not.toMatch(/Size mismatch/);
    expectWhole(cache, layer);
  });

  it('a blob replaced by a symlink to a host file is never followed', () => {
    const { cache, out } = fresh();
    const hex = sha(MOTD);
    rmSync(blobPath(cache, hex));
    symlinkSync(path.join(a.canary, 'keep'), blobPath(cache, hex));
    const r = expectContained(a, () => build(proj, cache, out, '--gzip'));
    expect(r.manifestDigest).toBe(cleanGz.manifestDigest);
    expectWhole(cache, hex);
    expect(readFileSync(path.join(a.canary, 'keep'), 'utf8')).toBe('canary\n');
  });

  it('forged or broken node results are misses: removed and recomputed', () => {
    const { cache, out } = fresh();
    const [first, second] = layerNodes(cache);
    const forged = JSON.parse(readFileSync(first, 'utf8'));
    writeFileSync(first, JSON.stringify({ ...forged, digest: '../../../canary/keep', diffId: '../../../canary/keep' }));
    writeFileSync(second, '{"name": "app", "digest": ');
    writeFileSync(path.join(cache, 'statcache.json'), '[["/etc/passwd", {"stat": "x", "digest": "../../etc/shadow", "size": 1}]]');
    const r = expectContained(a, () => build(proj, cache, out));
    expect(r.manifestDigest).toBe(clean.manifestDigest);
    expect(r.layers.every((l) => !l.cached)).toBe(true);
    for (const f of [first, second]) expect(JSON.parse(readFileSync(f, 'utf8')).digest).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(path.join(cache, 'statcache.json'), 'utf8')).not.toContain('shadow');
  });

  it.skipIf(process.getuid?.() !== 0 || lacks('chattr'))('a bad blob that cannot be removed: exit 1, the blob named and what to run said', (ctx) => {
    const { cache, out } = fresh();
    const layer = clean.layers[1].digest.replace('sha256:', '');
    flipByte(blobPath(cache, layer), 600);
    // Immutable: neither the build nor its rebuild can replace it (skipped where the filesystem has no such flag).
    if (sh('chattr', ['+i', blobPath(cache, layer)]).code !== 0) ctx.skip();
    try {
      const r = expectContained(a, () => boundedCli(['build', proj, '--cache', cache, '--out', out, '--format', 'docker']));
      expectRefused(r, 1, `sha256:${layer}`);
      expect(r.stderr).toContain(`run \`scratchyard cache verify --cache ${cache}\``);
      expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    } finally {
      sh('chattr', ['-i', blobPath(cache, layer)]);
    }
  });

  it('cache verify reports and drops each bad entry, and exits 1; then 0; the next build matches', () => {
    const { cache, out } = fresh();
    const motd = sha(MOTD);
    const layer0 = clean.layers[0].digest.replace('sha256:', '');
    const layer1 = clean.layers[1].digest.replace('sha256:', '');
    const [pack] = packedContent(cache);
    const [node] = layerNodes(cache);
    flipByte(blobPath(cache, motd), 0);
    truncateSync(blobPath(cache, layer0), 10);
    rmSync(blobPath(cache, layer1));
    symlinkSync(path.join(a.canary, 'keep'), blobPath(cache, layer1));
    flipByte(pack, packedContent(cache)[2]);
    writeFileSync(node, '{"digest": "not-a-digest"}');
    const r = expectContained(a, () => boundedCli(['cache', 'verify', '--cache', cache]));
    expect(r.code, r.stderr).toBe(1);
    for (const entry of [`blobs/sha256/${motd}`, `blobs/sha256/${layer0}`, `blobs/sha256/${layer1}`, `packs/${path.basename(pack)}`, `nodes/${path.basename(node)}`]) {
      expect(r.stdout).toContain(`bad  ${entry}`);
    }
    for (const f of [blobPath(cache, motd), blobPath(cache, layer0), blobPath(cache, layer1), pack, `${pack}.idx.json`, node]) expect(existsSync(f)).toBe(false);
    expect(readFileSync(path.join(a.canary, 'keep'), 'utf8')).toBe('canary\n');
    const again = cli(['cache', 'verify', '--cache', cache]);
    expect(again.stdout).toMatch(/all good/);
    expect(again.code).toBe(0);
    expect(build(proj, cache, out).manifestDigest).toBe(clean.manifestDigest);
  });
});

describe('cache gc and du', () => {
  it('keeps what recent projects use (the next build is all cached) and removes what is gone', () => {
    const a = arena('sy-gc-');
    const keep = project(path.join(a.dir, 'keep'), 'keep');
    const oldBig = randomBytes(300_000);
    const old = project(path.join(a.dir, 'old'), 'old', oldBig);
    const keptBuild = build(keep, a.cache, path.join(a.out, 'keep'));
    const oldBuild = build(old, a.cache, path.join(a.out, 'old'));
    const oldLayer = oldBuild.layers[1].digest.replace('sha256:', '');
    // The keep project changes: its first version's app layer is garbage now.
    writeFileSync(path.join(keep, 'files/data.txt'), 'data, second version\n');
    const second = build(keep, a.cache, path.join(a.out, 'keep'));
    const firstLayer = keptBuild.layers[1].digest.replace('sha256:', '');
    expect(second.layers[1].digest).not.toBe(keptBuild.layers[1].digest);
    rmSync(old, { recursive: true });

    const du = JSON.parse(cli(['cache', 'du', '--cache', a.cache, '--json']).stdout);
    expect(du.kinds.blobs.count).toBeGreaterThan(4);
    expect(du.kinds.packs.count).toBe(2);

    const dry = cli(['cache', 'gc', '--cache', a.cache, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would remove [1-9]\d* blobs, 1 packs/);
    expect(existsSync(blobPath(a.cache, oldLayer))).toBe(true);

    // A build running on the cache (this process stands in for it): gc waits its turn.
    mkdirSync(path.join(a.cache, 'building'), { recursive: true });
    writeFileSync(path.join(a.cache, 'building', `${process.pid}-0000`), '');
    const busy = cli(['cache', 'gc', '--cache', a.cache]);
    expect(busy.stderr).toContain(`a build is running on the cache ${a.cache} (process ${process.pid})`);
    expect(busy.code).toBe(1);
    rmSync(path.join(a.cache, 'building', `${process.pid}-0000`));
    expect(cli(['cache', 'tidy', '--cache', a.cache]).code).toBe(2);

    const gc = cli(['cache', 'gc', '--cache', a.cache]);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain(`let go: ${old}`);
    for (const hex of [oldLayer, firstLayer, sha(oldBig)]) expect(existsSync(blobPath(a.cache, hex))).toBe(false);
    const after = JSON.parse(cli(['cache', 'du', '--cache', a.cache, '--json']).stdout);
    expect(after.kinds.packs.count).toBe(1);
    expect(after.kinds.blobs.bytes).toBeLessThan(du.kinds.blobs.bytes - 300_000);

    const rebuilt = build(keep, a.cache, path.join(a.out, 'keep2'), '--format', 'docker');
    expect(rebuilt.layers.every((l) => l.cached)).toBe(true);
    expect(rebuilt.manifestDigest).toBe(second.manifestDigest);
    expect(cli(['cache', 'verify', '--cache', a.cache]).code).toBe(0);
  }, 120_000);

  it('--keep-storage lets go of the least recently built projects until the rest fits', () => {
    const a = arena('sy-keep-');
    const big = project(path.join(a.dir, 'big'), 'big', randomBytes(2_000_000));
    const small = project(path.join(a.dir, 'small'), 'small');
    const bigBuild = build(big, a.cache, path.join(a.out, 'big'));
    build(small, a.cache, path.join(a.out, 'small'));
    const bigBlob = sha(readFileSync(path.join(big, 'files/big.bin')));
    expect(cli(['cache', 'gc', '--cache', a.cache, '--keep-storage', 'lots']).code).toBe(2);
    const r = cli(['cache', 'gc', '--cache', a.cache, '--keep-storage', '1MB']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`let go: ${big}`);
    expect(existsSync(blobPath(a.cache, bigBlob))).toBe(false);
    expect(existsSync(blobPath(a.cache, bigBuild.layers[1].digest.replace('sha256:', '')))).toBe(false);
    const du = JSON.parse(cli(['cache', 'du', '--cache', a.cache, '--json']).stdout);
    expect(du.kinds.blobs.bytes + du.kinds.packs.bytes + du.kinds.nodes.bytes).toBeLessThan(1 << 20);
    const again = build(small, a.cache, path.join(a.out, 'small2'), '--format', 'docker');
    expect(again.layers.every((l) => l.cached)).toBe(true);
  }, 120_000);
});
