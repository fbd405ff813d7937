// Inspecting any image (issue 6), engine side: a `docker save` of an image
// that `docker build` made, and a docker-archive of our own whose upper layer
// removes a folder, opened and analysed; layers, wasted bytes and efficiency
// (ours and dive's) are checked against figures worked out by hand below from
// the literal sizes of the files, not from anything the engine reports.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeImage, compareTrees, fileListDiff, largestDirs, largestFiles, lastWriterIndex, openImage, sizeMap, type ImageAnalysis, type OpenedImage } from '../../electron/engine/inspect';
import { BlobStore } from '../../electron/engine/store/blobs';
import type { ImagePath } from '../../shared/brand';
import { DOCKER, cli, dockerWorks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = tempDir('sy-inspect-engine-');
const cacheDir = path.join(work, 'cache');
const store = new BlobStore(cacheDir);
beforeAll(() => store.open());
afterAll(() => store.close());

/** Distinct, reproducible contents of a known length. */
const fill = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 3) % 251));
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const docker = (...args: string[]) => sh(DOCKER, args, { env: { ...process.env, DOCKER_BUILDKIT: '0' } });

describe.skipIf(!dockerWorks())('a `docker save` of an image docker build made', () => {
  // The build context: sizes every figure below is made of.
  const A = 10_000; // /data/a.bin, COPY'd by layer 0, overwritten by layer 2
  const A2 = 4_000; // /data/a.bin as layer 2 writes it
  const SMALL = 700; // /dir/small.txt, layer 1
  const BIG = 50_000; // /dir/sub/big.bin, layer 1
  const B = 3_000; // /b.bin, layer 3
  const content = { a: fill(A, 3), a2: fill(A2, 5), small: fill(SMALL, 7), big: fill(BIG, 11), b: fill(B, 13) };
  const tag = `scratchyard-test/inspect-docker:${process.pid}`;
  const ctx = path.join(work, 'docker-ctx');
  const saved = path.join(work, 'docker-built.tar');
  let img: OpenedImage;
  let an: ImageAnalysis;

  beforeAll(async () => {
    mkdirSync(path.join(ctx, 'dir/sub'), { recursive: true });
    const files: Record<string, Buffer | string> = {
      'a.bin': content.a,
      'a2.bin': content.a2,
      'dir/small.txt': content.small,
      'dir/sub/big.bin': content.big,
      'b.bin': content.b,
      Dockerfile: ['FROM scratch', 'COPY a.bin /data/a.bin', 'COPY dir/ /dir/', 'COPY a2.bin /data/a.bin', 'COPY b.bin /b.bin', ''].join('\n'),
    };
    for (const [rel, c] of Object.entries(files)) {
      writeFileSync(path.join(ctx, rel), c);
      chmodSync(path.join(ctx, rel), 0o644);
    }
    // The legacy builder (docker 20.10's default; BuildKit's could differ in layer layout).
    const b = docker('build', '-q', '-t', tag, ctx);
    expect(b.code, b.stderr).toBe(0);
    expect(docker('save', '-o', saved, tag).code).toBe(0);
    img = await openImage(store, saved);
    an = analyzeImage(img.layers, img.states);
  });
  afterAll(() => {
    docker('rmi', '-f', tag);
  });

  it('reads the four COPY layers as docker wrote them', () => {
    // What `tar -tv` of the saved layers shows (the legacy builder writes each
    // COPY's destination folders as entries of their own, but no "/" entry):
    //   0: data/  data/a.bin (10000)
    //   1: dir/  dir/small.txt (700)  dir/sub/  dir/sub/big.bin (50000)
    //   2: data/  data/a.bin (4000)
    //   3: b.bin (3000)  — "/" is the destination's parent, no folder entry
    const unpacked = path.join(work, 'docker-built');
    mkdirSync(unpacked);
    expect(sh('tar', ['-xf', saved, '-C', unpacked]).code).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(unpacked, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    const layerTars = manifest[0].Layers.map((l) => path.join(unpacked, l));
    const listed = layerTars.map((t) => sh('tar', ['-tf', t]).stdout.split('\n').filter(Boolean));
    expect(listed).toEqual([['data/', 'data/a.bin'], ['dir/', 'dir/small.txt', 'dir/sub/', 'dir/sub/big.bin'], ['data/', 'data/a.bin'], ['b.bin']]);

    expect(img.name).toBe('docker-built.tar');
    expect(an.layers.map((l) => [l.index, l.bytes, l.files])).toEqual([
      [0, A, 2],
      [1, SMALL + BIG, 4],
      [2, A2, 2],
      [3, B, 1],
    ]);
    // The digests are the config's diff ids, i.e. the sha256 of each layer tar.
    expect(an.layers.map((l) => l.digest)).toEqual(layerTars.map((t) => sha256(readFileSync(t))));
    const commands = an.layers.map((l) => l.command ?? '');
    expect(commands[0]).toMatch(/COPY file:[0-9a-f]{64} in \/data\/a\.bin/);
    expect(commands[1]).toMatch(/COPY dir:[0-9a-f]{64} in \/dir\//);
    expect(commands[2]).toMatch(/COPY file:[0-9a-f]{64} in \/data\/a\.bin/);
    expect(commands[3]).toMatch(/COPY file:[0-9a-f]{64} in \/b\.bin/);
    expect(commands[0]).not.toBe(commands[2]); // two different a.bin contents
  });

  it('our waste: the first /data/a.bin, overwritten by layer 2, and nothing else', () => {
    const stored = A + (SMALL + BIG) + A2 + B; // 67 700
    expect(stored).toBe(67_700);
    expect(an.stored).toBe(stored);
    expect(an.final).toBe(A2 + SMALL + BIG + B); // 57 700
    // /data /data/a.bin /dir /dir/small.txt /dir/sub /dir/sub/big.bin /b.bin
    expect(an.files).toBe(7);
    expect(an.wasted).toEqual({ bytes: A, paths: [{ path: '/data/a.bin', bytes: A, storedIn: 0, hiddenBy: 2, how: 'overwritten' }] });
    expect(an.efficiency).toBeCloseTo(1 - 10_000 / 67_700, 12); // 0.852289...
  });

  it("dive's figures, worked out as dive does", () => {
    // Leaves of each layer's tree (folders with children in the same layer are not leaves):
    //   0: /data/a.bin 10000
    //   1: /dir/small.txt 700, /dir/sub/big.bin 50000
    //   2: /data/a.bin 4000
    //   3: /b.bin 3000
    // /data/a.bin is seen twice: both copies count as wasted, the surviving one too.
    const wastedBytes = A + A2; // 14 000
    // Σ smallest occurrence per path / Σ all occurrences:
    //   min: 4000 (/data/a.bin) + 700 + 50000 + 3000 = 57 700
    //   all: 10000 + 4000 + 700 + 50000 + 3000     = 67 700
    const efficiency = (A2 + SMALL + BIG + B) / (A + A2 + SMALL + BIG + B);
    expect(efficiency).toBeCloseTo(57_700 / 67_700, 15);
    // Bytes of the layers above the first: 50700 + 4000 + 3000 = 57 700.
    const userWastedPercent = wastedBytes / (SMALL + BIG + A2 + B);
    expect(an.dive.wastedBytes).toBe(14_000);
    expect(an.dive.efficiency).toBeCloseTo(efficiency, 12);
    expect(an.dive.userWastedPercent).toBeCloseTo(userWastedPercent, 12);
    expect(an.dive.userWastedPercent).toBeCloseTo(14_000 / 57_700, 12);
  });

  it('largest files and folders of the final filesystem, with the layer that wrote each file', () => {
    const final = img.states[img.states.length - 1];
    const writer = lastWriterIndex(img.layers);
    expect(largestFiles(final, 3, (p) => writer.get(p as ImagePath))).toEqual([
      { path: '/dir/sub/big.bin', bytes: BIG, layer: 1 },
      { path: '/data/a.bin', bytes: A2, layer: 2 },
      { path: '/b.bin', bytes: B, layer: 3 },
    ]);
    expect(largestFiles(final, 10).map((f) => f.path)).toEqual(['/dir/sub/big.bin', '/data/a.bin', '/b.bin', '/dir/small.txt']);
    expect(largestDirs(final, 5)).toEqual([
      { path: '/dir', bytes: SMALL + BIG },
      { path: '/dir/sub', bytes: BIG },
      { path: '/data', bytes: A2 },
    ]);
    const map = sizeMap(final, '/', 1);
    expect(map.bytes).toBe(A2 + SMALL + BIG + B);
    // One level deep: folders are leaves carrying their cumulative bytes, largest first.
    expect(map.children!.map((c) => [c.path, c.bytes])).toEqual([
      ['/dir', SMALL + BIG],
      ['/data', A2],
      ['/b.bin', B],
    ]);
  });

  it('comparing the states: layer 2 changes /data/a.bin from 10000 to 4000 bytes', () => {
    const [s0, s1, s2, s3] = img.states;
    expect(compareTrees(s1, s2)).toEqual([{ path: '/data/a.bin', change: 'changed', before: A, after: A2 }]);
    expect(compareTrees(s0, s3)).toEqual([
      { path: '/b.bin', change: 'added', after: B },
      { path: '/data/a.bin', change: 'changed', before: A, after: A2 },
      { path: '/dir', change: 'added', after: 0 },
      { path: '/dir/small.txt', change: 'added', after: SMALL },
      { path: '/dir/sub', change: 'added', after: 0 },
      { path: '/dir/sub/big.bin', change: 'added', after: BIG },
    ]);
    // The checksummed file lists differ in a.bin's line only: its content digest.
    expect(fileListDiff(s1, s2, ['layer 2', 'layer 3'])).toBe(
      ['--- layer 2', '+++ layer 3', `-./data/a.bin 0100644-0-0-${sha256(content.a)}`, `+./data/a.bin 0100644-0-0-${sha256(content.a2)}`, ''].join('\n'),
    );
    expect(fileListDiff(s2, s2)).toBe('');
  });
});

describe('an image of our own whose upper layer removes a folder', () => {
  const ONE = 7_000; // /opt/stuff/one, removed with /opt/stuff
  const TWO = 5_000; // /opt/stuff/two, removed with /opt/stuff
  const SINGLE = 2_500; // /opt/single.bin, removed on its own
  const KEEP = 300; // /opt/keep: /opt keeps a child, so no opaque marker replaces the whiteouts
  const NEW = 1_500; // /srv/new.bin, added by the upper layer
  const tag = `scratchyard-test/inspect-whiteouts:${process.pid}`;
  const recipe = `name: removes
tag: ${tag}
layers:
  - name: base
    sources:
      - kind: file
        path: /opt/stuff/one
        content: ${'o'.repeat(ONE)}
      - kind: file
        path: /opt/stuff/two
        content: ${'t'.repeat(TWO)}
      - kind: file
        path: /opt/single.bin
        content: ${'s'.repeat(SINGLE)}
      - kind: file
        path: /opt/keep
        content: ${'k'.repeat(KEEP)}
  - name: trim
    sources:
      - kind: remove
        paths: [/opt/stuff, /opt/single.bin]
      - kind: file
        path: /srv/new.bin
        content: ${'n'.repeat(NEW)}
`;
  const project = writeProject(path.join(work, 'removes'), recipe);
  const archive = path.join(project, 'out/removes.docker.tar');
  let img: OpenedImage;
  let an: ImageAnalysis;

  beforeAll(async () => {
    const b = cli(['build', project, '--cache', path.join(work, 'build-cache'), '--format', 'docker']);
    expect(b.code, b.stderr).toBe(0);
    img = await openImage(store, archive);
    an = analyzeImage(img.layers, img.states);
  });

  it('the upper layer holds whiteouts of /opt/stuff and /opt/single.bin', () => {
    expect([...img.layers[1].tree.keys()].filter((p) => p !== '/').sort()).toEqual(['/opt', '/opt/.wh.single.bin', '/opt/.wh.stuff', '/srv', '/srv/new.bin']);
    expect(an.layers.map((l) => [l.index, l.bytes, l.files])).toEqual([
      // /opt /opt/keep /opt/single.bin /opt/stuff /opt/stuff/one /opt/stuff/two
      [0, ONE + TWO + SINGLE + KEEP, 6],
      // /opt /opt/.wh.single.bin /opt/.wh.stuff /srv /srv/new.bin
      [1, NEW, 5],
    ]);
    expect([...img.states[1].keys()].filter((p) => p !== '/').sort()).toEqual(['/opt', '/opt/keep', '/srv', '/srv/new.bin']);
  });

  it('our waste: everything under the removed folder, and the removed file', () => {
    const stored = ONE + TWO + SINGLE + KEEP + NEW; // 16 300
    expect(an.stored).toBe(stored);
    expect(an.final).toBe(KEEP + NEW);
    expect(an.files).toBe(4);
    expect(an.wasted).toEqual({
      bytes: ONE + TWO + SINGLE, // 14 500
      paths: [
        { path: '/opt/stuff/one', bytes: ONE, storedIn: 0, hiddenBy: 1, how: 'removed' },
        { path: '/opt/stuff/two', bytes: TWO, storedIn: 0, hiddenBy: 1, how: 'removed' },
        { path: '/opt/single.bin', bytes: SINGLE, storedIn: 0, hiddenBy: 1, how: 'removed' },
      ],
    });
    expect(an.efficiency).toBeCloseTo(1 - 14_500 / 16_300, 12);
  });

  it("dive's figures: the folder's whiteout is one path of its own, seen once", () => {
    // Leaves of each layer's tree:
    //   0: /opt/stuff/one 7000, /opt/stuff/two 5000, /opt/single.bin 2500, /opt/keep 300
    //      (/opt and /opt/stuff have children: not leaves)
    //   1: whiteout /opt/stuff — sized by the bytes under the folder it removes, 7000 + 5000 = 12000;
    //      whiteout /opt/single.bin — a file's whiteout, 0; /srv/new.bin 1500
    // Only /opt/single.bin is seen twice (2500, then 0): wasted 2500. /opt/stuff
    // is seen once (the lower layer's /opt/stuff is a folder with children, not a
    // leaf), so dive counts none of the removed folder's bytes as wasted.
    const wastedBytes = SINGLE;
    //   min: 7000 + 5000 + 0 (/opt/single.bin) + 300 + 12000 (/opt/stuff) + 1500 = 25 800
    //   all: 7000 + 5000 + 2500 + 0 + 300 + 12000 + 1500                        = 28 300
    const efficiency = (ONE + TWO + 0 + KEEP + (ONE + TWO) + NEW) / (ONE + TWO + SINGLE + 0 + KEEP + (ONE + TWO) + NEW);
    expect(efficiency).toBeCloseTo(25_800 / 28_300, 15);
    expect(an.dive.wastedBytes).toBe(2_500);
    expect(an.dive.wastedBytes).toBe(wastedBytes);
    expect(an.dive.efficiency).toBeCloseTo(efficiency, 12);
    // Bytes of the layers above the first: 1500 — dive's percentage can pass 100 %.
    expect(an.dive.userWastedPercent).toBeCloseTo(2_500 / 1_500, 12);
  });

  it.skipIf(!dockerWorks())('docker load, then docker save of it, reads back to the same analysis', async () => {
    const load = docker('load', '-i', archive);
    expect(load.code, load.stderr).toBe(0);
    try {
      const resaved = path.join(work, 'removes-resaved.tar');
      expect(docker('save', '-o', resaved, tag).code).toBe(0);
      const again = await openImage(store, resaved);
      // docker wrote the archive from its own store, in its own layout
      // (<id>/layer.tar, where ours has blobs/sha256/<digest>) ...
      const layerNames = (file: string) => (JSON.parse(sh('tar', ['-xOf', file, 'manifest.json']).stdout) as { Layers: string[] }[])[0].Layers;
      expect(layerNames(archive).every((l) => /^blobs\/sha256\/[0-9a-f]{64}$/.test(l))).toBe(true);
      const theirs = layerNames(resaved);
      expect(theirs.every((l) => /^[0-9a-f]{64}\/layer\.tar$/.test(l))).toBe(true);
      // ... and the layer tars it wrote back are our diffs byte for byte.
      const theirShas = theirs.map((l) => sha256(Buffer.from(sh('tar', ['-xOf', resaved, l], { encoding: 'latin1' }).stdout, 'latin1')));
      expect(theirShas).toEqual(img.layers.map((l) => l.digest));
      expect(analyzeImage(again.layers, again.states)).toEqual(an);
    } finally {
      docker('rmi', '-f', tag);
    }
  });
});
