// A tarball source's pack is the tar itself (decompressed once): contents are
// indexed where they lie, not copied. What that must keep: the same image from
// the same recipe in any checkout path and umask, plain or compressed; an index
// read back from the cache is checked against the pack's size; `cache gc` keeps
// the pack while a kept build's import names it and removes it after.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, sh, tempDir } from '../helpers/env';
import { arena, boundedCli, expectContained } from '../helpers/hostile';

// The containment check watches a TMPDIR of this file's own.
const privateTmp = mkdtempSync(path.join(os.tmpdir(), 'sy-inplace-tmp-'));
process.env.TMPDIR = privateTmp;
afterAll(() => rmSync(privateTmp, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * A decompressed tarball's pack: the tar's bytes up to its end-of-archive blocks, not one
 * byte after (what follows them is not read: it could be gigabytes of zeros), every time.
 */
function expectTarUpToItsEnd(pack: Buffer, tar: Buffer): void {
  expect(pack.length % 512).toBe(0);
  expect(pack.length).toBeGreaterThan(0);
  expect(sha(pack)).toBe(sha(tar.subarray(0, pack.length)));
  expect(tar.subarray(pack.length).every((b) => b === 0)).toBe(true);
  // The last entry's header and data end where the zero blocks begin: the pack is not cut early.
  expect(pack.subarray(pack.length - 512).every((b) => b === 0) && pack.length > 512 ? 'ends in a zero block' : 'ends in data').toBe('ends in data');
}
const work = tempDir('sy-inplace-');

/**
 * The tarball, made once: a long name, a hard link, a symlink, an empty file,
 * two identical files and a 3 MB one; plain, and compressed each way an import reads.
 */
const COMPRESSED = { gz: 'base.tar.gz', xz: 'base.tar.xz', zst: 'base.tar.zst' } as const;
type Compressed = keyof typeof COMPRESSED;

function makeTars(dir: string): { plain: Buffer } & Record<Compressed, Buffer> {
  const script = [
    'mkdir -p tree/usr/bin tree/etc tree/a/very/long/path/that/needs/more/than/one/hundred/bytes/in/its/name/to/be/stored/by/pax/records/x',
    'echo tool > tree/usr/bin/tool && ln tree/usr/bin/tool tree/usr/bin/tool2 && ln -s tool tree/usr/bin/link',
    ': > tree/etc/empty && echo same > tree/etc/one && echo same > tree/etc/two',
    'echo deep > tree/a/very/long/path/that/needs/more/than/one/hundred/bytes/in/its/name/to/be/stored/by/pax/records/x/file-with-a-long-name.txt',
    'head -c 3000000 /dev/zero | tr "\\0" "a" > tree/big.bin',
    "tar --sort=name --owner=0 --group=0 --mtime=@0 -C tree -cf base.tar .",
    'gzip -nk base.tar',
    'xz -k base.tar',
    'zstd -qk base.tar',
  ].join(' && ');
  const r = sh('sh', ['-c', script], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const read = (c: Compressed) => readFileSync(path.join(dir, COMPRESSED[c]));
  return { plain: readFileSync(path.join(dir, 'base.tar')), gz: read('gz'), xz: read('xz'), zst: read('zst') };
}

const src = path.join(work, 'src');
mkdirSync(src);
const tars = makeTars(src);

/** A checkout of the project (the same recipe and tarball) at `dir`. */
function project(dir: string, compressed?: Compressed): string {
  mkdirSync(dir, { recursive: true });
  const name = compressed ? COMPRESSED[compressed] : 'base.tar';
  writeFileSync(path.join(dir, name), compressed ? tars[compressed] : tars.plain);
  writeFileSync(path.join(dir, 'scratchyard.yaml'), `name: inplace\nepoch: 0\nlayers:\n  - name: base\n    sources:\n      - kind: tarball\n        src: ${name}\n`);
  return dir;
}

interface Built {
  manifestDigest: string;
  layers: { diffId: string; cached: boolean }[];
}

function build(proj: string, cache: string, out: string, umask = 0o022): Built {
  // The CLI inherits this process's umask.
  const old = process.umask(umask);
  let r: ReturnType<typeof boundedCli>;
  try {
    r = boundedCli(['build', proj, '--cache', cache, '--out', out, '--json', '--no-sbom']);
  } finally {
    process.umask(old);
  }
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Built;
}

function packOf(cache: string): { file: string; index: [string, number, number][] } {
  const dir = path.join(cache, 'packs');
  const id = readdirSync(dir).find((n) => !n.endsWith('.idx.json') && !n.startsWith('.'))!;
  return { file: path.join(dir, id), index: JSON.parse(readFileSync(path.join(dir, `${id}.idx.json`), 'utf8')) as [string, number, number][] };
}

describe('tarball contents indexed in place', () => {
  const a = project(path.join(work, 'a', 'deep', 'checkout'));
  const b = project(path.join(work, 'b'));
  const gz = project(path.join(work, 'gz'), 'gz');
  const cacheA = path.join(work, 'cache-a');
  const builtA = build(a, cacheA, path.join(work, 'out-a'));

  it('the same recipe gives the same bytes in another checkout path and umask, and from a gzipped tar', () => {
    const builtB = build(b, path.join(work, 'cache-b'), path.join(work, 'out-b'), 0o077);
    const builtGz = build(gz, path.join(work, 'cache-gz'), path.join(work, 'out-gz'), 0o002);
    expect(builtB.manifestDigest).toBe(builtA.manifestDigest);
    expect(builtGz.manifestDigest).toBe(builtA.manifestDigest);
    for (const f of ['inplace.docker.tar', 'inplace.rootfs.tar']) {
      const want = sha(readFileSync(path.join(work, 'out-a', f)));
      expect(sha(readFileSync(path.join(work, 'out-b', f)))).toBe(want);
      expect(sha(readFileSync(path.join(work, 'out-gz', f)))).toBe(want);
    }
    // The rootfs holds what the tarball holds.
    const listing = sh('tar', ['-tvf', path.join(work, 'out-a', 'inplace.rootfs.tar')]).stdout;
    expect(listing).toMatch(/usr\/bin\/tool2 link to usr\/bin\/tool/);
    expect(listing).toMatch(/file-with-a-long-name\.txt/);
  });

  it.each(['xz', 'zst'] as const)('a .tar.%s, decompressed by its tool, gives the same image and the tar as its pack; built again, it is named in the lock by its own digest', (c) => {
    const cache = path.join(work, `cache-${c}`);
    const proj = project(path.join(work, c), c);
    const built = build(proj, cache, path.join(work, `out-${c}`));
    expect(built.manifestDigest).toBe(builtA.manifestDigest);
    expectTarUpToItsEnd(readFileSync(packOf(cache).file), tars.plain);
    const again = build(proj, cache, path.join(work, `out-${c}`));
    expect(again.manifestDigest).toBe(builtA.manifestDigest);
    expect(again.layers.every((l) => l.cached)).toBe(true);
    const lock = JSON.parse(readFileSync(path.join(proj, 'scratchyard.lock'), 'utf8')) as { sources: { sha256: string }[] };
    expect(lock.sources[0].sha256).toBe(sha(tars[c]));
  });

  it('a .tar.xz refused at its first entry ends at once: the decompressor still writing is stopped', () => {
    // "../evil" first, then 8 MB that xz cannot squeeze: xz blocks on the full pipe once the reader stops.
    const a = arena('sy-xz-bad-');
    const dir = path.join(a.dir, 'xz-bad');
    mkdirSync(dir);
    const script = 'import io, os, sys, tarfile\nwith tarfile.open(sys.argv[1], "w:xz", preset=0) as t:\n  for name, data in (("../evil", b"x"), ("noise", os.urandom(8 << 20))):\n    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))\n';
    expect(sh('python3', ['-c', script, path.join(dir, 'bad.tar.xz')]).code).toBe(0);
    writeFileSync(path.join(dir, 'scratchyard.yaml'), 'name: bad\nlayers:\n  - name: a\n    sources:\n      - kind: tarball\n        src: bad.tar.xz\n');
    const r = expectContained(a, () => boundedCli(['build', dir, '--cache', a.cache, '--out', a.out, '--no-sbom'], { timeoutMs: 30_000 }));
    expect(r.timedOut, `still running after ${Math.round(r.ms)} ms`).toBe(false);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/layers\[0\]\.sources\[0\]\.src: bad\.tar\.xz: .*\.\.\/evil/);
  });

  it('the pack is the tar, byte for byte (decompressed once for a gzipped one), its index pointing into it', () => {
    const tar = tars.plain;
    const pack = packOf(cacheA);
    expect(sha(readFileSync(pack.file))).toBe(sha(tar));
    const gzPack = packOf(path.join(work, 'cache-gz'));
    expectTarUpToItsEnd(readFileSync(gzPack.file), tar);
    // Every content once, at its place in the tar: the two identical files share a row.
    expect(new Set(pack.index.map((r) => r[0])).size).toBe(pack.index.length);
    for (const [digest, offset, size] of pack.index) expect(sha(tar.subarray(offset, offset + size))).toBe(digest);
    expect(pack.index.find((r) => r[2] === 3_000_000)).toBeDefined();
  });

  it('an index row past the end of the pack is not followed: the tarball is imported again, same image', () => {
    const ar = arena('sy-inplace-hostile-');
    build(a, ar.cache, path.join(ar.out, 'warm'));
    const pack = packOf(ar.cache);
    const size = readFileSync(pack.file).length;
    const forged = pack.index.map((r) => (r[2] === 3_000_000 ? [r[0], size - 10, r[2]] : r));
    chmodSync(`${pack.file}.idx.json`, 0o644);
    writeFileSync(`${pack.file}.idx.json`, JSON.stringify(forged));
    const again = expectContained(ar, () => build(a, ar.cache, path.join(ar.out, 'again')));
    expect(again.manifestDigest).toBe(builtA.manifestDigest);
    const healed = packOf(ar.cache);
    const row = healed.index.find((r) => r[2] === 3_000_000)!;
    expect(row[1] + row[2]).toBeLessThanOrEqual(readFileSync(healed.file).length);
  });

  it('cache gc keeps the pack while the import that references it is kept, and removes it after', () => {
    const cache = path.join(work, 'cache-gc');
    const proj = project(path.join(work, 'gc-project'));
    const first = build(proj, cache, path.join(work, 'out-gc'));
    const pack = packOf(cache);
    const ino = statSync(pack.file).ino;
    const gc = cli(['cache', 'gc', '--cache', cache]);
    expect(gc.code, gc.stderr).toBe(0);
    expect(readFileSync(pack.file).equals(tars.plain)).toBe(true);
    // The layer blob removed by hand: the rebuild writes the layer again from the kept pack's contents.
    for (const l of first.layers) rmSync(path.join(cache, 'blobs', 'sha256', l.diffId.replace('sha256:', '')), { force: true });
    const warm = build(proj, cache, path.join(work, 'out-gc2'));
    expect(warm.manifestDigest).toBe(first.manifestDigest);
    expect(warm.layers[0].cached).toBe(false);
    expect(statSync(pack.file).ino).toBe(ino);
    rmSync(proj, { recursive: true, force: true });
    const gone = cli(['cache', 'gc', '--cache', cache]);
    expect(gone.code, gone.stderr).toBe(0);
    expect(readdirSync(path.join(cache, 'packs')).filter((n) => !n.startsWith('.'))).toEqual([]);
  });
});
