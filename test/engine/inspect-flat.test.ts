// Inspect at tar's speed (issue 17): `inspect` of an image reads its layers'
// tar headers into flat entries (engine/inspect/flat.ts) instead of trees.
// Its figures must be the trees' to the byte: both ways are run here on a
// `docker save` and on a hand-made archive of every awkward shape a layer can
// take (whiteouts of files and folders, opaque markers, hard links whose first
// path is replaced, a folder replaced by a file and back, PAX and GNU long
// names, folders a tar never lists, devices), and the CLI's --json is compared
// with the trees' analysis. Broken layers must fail with the trees' message.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../../electron/engine/inspect';
import { inspectImageFile } from '../../electron/engine/inspect/flat';
import { BlobStore } from '../../electron/engine/store/blobs';
import { analysis, imageAnalysis, shownOfImage } from '../../electron/host/inspect';
import { DOCKER, cli, dockerWorks, sh, tempDir } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';

const work = tempDir('sy-inspect-flat-');
const store = new BlobStore(path.join(work, 'cache'));
beforeAll(() => store.open());
afterAll(() => store.close());

/** The trees' analysis (what the app shows) and the flat one (what `inspect` prints), as JSON text. */
async function bothWays(file: string): Promise<{ trees: string; flat: string }> {
  const trees = analysis(shownOfImage(file, await openImage(store, file, { contents: false }), store));
  const flat = imageAnalysis(file, await inspectImageFile(file));
  return { trees: JSON.stringify(trees, null, 2), flat: JSON.stringify(flat, null, 2) };
}

/** `inspect --json` of the CLI, without the fields it adds to the analysis. */
function cliJson(file: string): string {
  const r = cli(['inspect', file, '--json', '--cache', path.join(work, 'cli-cache')]);
  expect(r.code, r.stderr).toBe(0);
  const { userWastedPercent, ...a } = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(typeof userWastedPercent).toBe('number');
  return JSON.stringify(a, null, 2);
}

// ---- a tar writer for shapes no tool makes on purpose -------------------------

interface Ent {
  name: string;
  type?: string;
  data?: Buffer | string;
  link?: string;
  /** Size field without data (hard links, devices). */
  size?: number;
  pax?: Record<string, string>;
  gnuLong?: boolean;
  corrupt?: boolean;
}

function header(name: string, type: string, size: number, link = ''): Buffer {
  const h = Buffer.alloc(512);
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(oct(type === '5' ? 0o755 : 0o644, 8), 100, 'latin1');
  h.write(oct(0, 8), 108, 'latin1');
  h.write(oct(0, 8), 116, 'latin1');
  h.write(oct(size, 12), 124, 'latin1');
  h.write(oct(0, 12), 136, 'latin1');
  h.fill(0x20, 148, 156);
  h.write(type, 156, 'latin1');
  h.write(link.slice(0, 100), 157, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(oct(sum, 7) + ' ', 148, 'latin1');
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

function tar(entries: Ent[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    if (e.pax) {
      const body = Buffer.from(
        Object.entries(e.pax)
          .map(([k, v]) => {
            const rec = ` ${k}=${v}\n`;
            let len = rec.length + 1;
            while (String(len).length + rec.length !== len) len++;
            return `${len}${rec}`;
          })
          .join(''),
      );
      out.push(header('PaxHeader', 'x', body.length), pad(body));
    }
    if (e.gnuLong) {
      const body = Buffer.from(e.name + '\0');
      out.push(header('././@LongLink', 'L', body.length), pad(body));
    }
    const h = header(e.gnuLong || e.pax?.path ? 'x' : e.name, e.type ?? '0', e.size ?? data.length, e.link);
    if (e.corrupt) h[10] ^= 1;
    out.push(h, pad(data));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** An unpacked docker-archive of these layers (folder `dir`); `diffIds` overrides the config's digests. */
function dockerDir(dir: string, layers: Buffer[], diffIds?: string[]): string {
  mkdirSync(dir, { recursive: true });
  layers.forEach((l, i) => writeFileSync(path.join(dir, `l${i}.tar`), l));
  const ids = diffIds ?? layers.map((l) => `sha256:${sha(l)}`);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ids }, history: layers.map((_, i) => ({ created_by: `/bin/sh -c #(nop) ADD file:${'ab'.repeat(32)} in /l${i}` })) }));
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: null, Layers: layers.map((_, i) => `l${i}.tar`) }]));
  return dir;
}

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 1) % 251));

/** Every awkward shape, spread over four layers. */
const AWKWARD = [
  tar([
    { name: './', type: '5' },
    { name: 'etc/', type: '5' },
    { name: 'etc/passwd', data: bytes(300, 3) },
    { name: 'usr/share/doc/a/copyright', data: bytes(2000, 5) }, // its folders never listed
    { name: 'usr/share/doc/b/README', data: bytes(700, 7) },
    { name: 'bin/busybox', data: bytes(5000, 11) },
    { name: 'bin/sh', type: '1', link: 'bin/busybox' },
    { name: 'bin/ls', type: '1', link: 'bin/busybox' },
    { name: 'lib/x.so', data: bytes(900, 13) },
    { name: 'lib/y.so', type: '1', link: 'lib/x.so' },
    { name: 'lib/x.so', data: bytes(400, 17) }, // the link group's first path replaced in its own layer
    { name: 'lib/link', type: '2', link: '/lib/x.so' },
    { name: 'dev/null', type: '3' },
    { name: 'dev/fifo', type: '6' },
    { name: `opt/${'deep/'.repeat(30)}file`, data: bytes(123, 19), gnuLong: true },
    { name: 'x', data: bytes(50, 23), pax: { path: `var/${'long-name-'.repeat(12)}.txt`, 'SCHILY.xattr.user.k': 'v' } },
    { name: 'srv/', type: '5' },
    { name: 'srv/f', data: bytes(1000, 29) },
    { name: 'srv/g/', type: '5' },
    { name: 'srv/g/h', data: bytes(60, 31) },
    { name: 'data/', type: '5' },
    { name: 'data/keep', data: bytes(10, 37) },
  ]),
  tar([
    { name: 'usr/share/.wh.doc' }, // a folder removed
    { name: 'etc/.wh.passwd' }, // a file removed
    { name: 'etc/passwd', data: bytes(310, 41) }, // and written again in the same layer
    { name: 'bin/busybox', data: bytes(5100, 43) }, // a hard link group's first path overwritten
    { name: 'srv/g', data: bytes(80, 47) }, // a folder replaced by a file
    { name: 'data/.wh..wh..opq' }, // an opaque folder
    { name: 'data/new', data: bytes(20, 53) },
    { name: '.wh.nothing-there' },
  ]),
  tar([
    { name: 'srv/g/', type: '5' }, // the file made a folder again
    { name: 'srv/g/i', data: bytes(90, 59) },
    { name: 'srv/.wh.f' },
    { name: 'lib/.wh.y.so' },
    { name: '.wh.dirwh/', type: '5' }, // a folder with a whiteout's name, and children
    { name: '.wh.dirwh/c', data: bytes(5, 61) },
    { name: 'x.wh.y/.wh.z/d', data: bytes(6, 63) }, // under a whiteout-named folder deeper down
    { name: `opt/${'deep/'.repeat(30)}file`, data: bytes(124, 67), gnuLong: true },
  ]),
  tar([
    { name: 'srv', type: '2', link: 'elsewhere' }, // a folder replaced by a symlink
    { name: 'etc/passwd', data: '' },
    { name: '.wh.dev' },
  ]),
];

describe('flat inspection agrees with the trees', () => {
  it('on every awkward shape of a layer, and through the CLI', async () => {
    const dir = dockerDir(path.join(work, 'awkward'), AWKWARD);
    const { trees, flat } = await bothWays(dir);
    expect(flat).toBe(trees);
    const a = JSON.parse(flat);
    // Not a vacuous agreement: the shapes above do make waste, whiteouts and link groups.
    expect(a.layers).toHaveLength(4);
    expect(a.wasted.paths.length).toBeGreaterThan(5);
    expect(a.wasted.paths.map((p: { how: string }) => p.how)).toEqual(expect.arrayContaining(['removed', 'overwritten']));
    expect(a.dive.wastedBytes).toBeGreaterThan(0);
    expect(cliJson(dir)).toBe(trees);
  });

  // Path numbers, the state by number, subtree sizes and removals in one walk, the hider by number:
  // thousands of paths (past the first growth of every array) removed by one whiteout, a deep folder
  // removed, a whiteout-named folder made for a missing parent (a leaf but for an opaque marker, and
  // one listed after its child), a folder under the state replaced by a file then by a folder, and
  // a hard-link group whose paths go one layer at a time.
  it('at thousands of paths, with folders made, replaced and removed across layers', async () => {
    const many = Array.from({ length: 5000 }, (_, i): Ent => ({ name: `many/d${i % 7}/f${i}`, data: bytes(1 + (i % 5), 3) }));
    const layers = [
      tar([
        ...many,
        { name: 'gone/deep/er/file', data: bytes(1000, 5) },
        { name: 'gone/other', data: bytes(10, 7) },
        { name: 'w/sub/f', data: bytes(100, 11) },
        { name: 'w/.wh.q/.wh..wh..opq' },
        { name: 'm/.wh.n/x', data: bytes(5, 13) },
        { name: 'm/.wh.n/', type: '5' },
        { name: 'k/a', data: bytes(50, 17) },
        { name: 'k/b', type: '1', link: 'k/a' },
      ]),
      tar([
        { name: 'many/d3/.wh.f3' },
        { name: '.wh.gone' },
        { name: 'k/.wh.a' },
        { name: 'w/sub', data: bytes(7, 19) },
        { name: 'x/.wh..wh..opq' },
        { name: 'many/d5/', type: '5' },
      ]),
      tar([{ name: 'w/sub/', type: '5' }, { name: 'w/sub/g', data: bytes(3, 23) }, { name: '.wh.k' }, { name: '.wh.many' }]),
    ];
    const dir = dockerDir(path.join(work, 'many'), layers);
    const { trees, flat } = await bothWays(dir);
    expect(flat).toBe(trees);
    const a = JSON.parse(flat);
    expect(a.layers[0].files).toBeGreaterThan(5000);
    // Every file of the first layer but /m/.wh.n/x (5000 × 3 + 1000 + 10 + 100 + the link group's 50), and /w/sub of the second (7).
    expect(a.wasted.bytes).toBe(16_167);
    expect(a.wasted.paths.slice(0, 5).map((p: { path: string }) => p.path)).toEqual(['/gone/deep/er/file', '/w/sub/f', '/k/a', '/gone/other', '/w/sub']);
    expect(a.dive.wastedBytes).toBeGreaterThan(0);
    expect(cliJson(dir)).toBe(trees);
  });

  it.skipIf(!dockerWorks())('on a `docker save` of an image docker build made', async () => {
    const ctx = path.join(work, 'docker-ctx');
    mkdirSync(ctx, { recursive: true });
    // ADD of a tar extracts it: docker writes these shapes into its own layers.
    writeFileSync(path.join(ctx, 'base.tar'), AWKWARD[0]);
    writeFileSync(path.join(ctx, 'a.bin'), bytes(4000, 71));
    writeFileSync(path.join(ctx, 'Dockerfile'), ['FROM scratch', 'ADD base.tar /', 'COPY a.bin /bin/busybox', 'COPY a.bin /srv/g/h', ''].join('\n'));
    chmodSync(path.join(ctx, 'a.bin'), 0o644);
    const tag = `scratchyard-test/inspect-flat:${process.pid}`;
    const saved = path.join(work, 'docker-saved.tar');
    const env = { env: { ...process.env, DOCKER_BUILDKIT: '0' } };
    try {
      const b = sh(DOCKER, ['build', '-q', '-t', tag, ctx], env);
      expect(b.code, b.stderr).toBe(0);
      expect(sh(DOCKER, ['save', '-o', saved, tag]).code).toBe(0);
    } finally {
      sh(DOCKER, ['rmi', '-f', tag]);
    }
    const { trees, flat } = await bothWays(saved);
    expect(flat).toBe(trees);
    expect(JSON.parse(flat).wasted.paths.length).toBeGreaterThan(0);
    expect(cliJson(saved)).toBe(trees);
  });
});

describe('a broken layer fails as the trees fail', () => {
  const good = tar([{ name: 'a', data: 'x' }]);
  const cases: [string, Buffer[], string | undefined, RegExp][] = [
    ['a bad header checksum', [tar([{ name: 'a', data: 'x', corrupt: true }])], undefined, /bad header checksum at byte 0/],
    ['a hard link to nothing', [tar([{ name: 'b', type: '1', link: 'nowhere' }])], undefined, /hard link "b" points to "nowhere"/],
    ['an entry under a symlink', [tar([{ name: 'l', type: '2', link: '/etc' }, { name: 'l/x', data: 'y' }])], undefined, /cannot create \/l\/x: \/l is a symlink \(-> \/etc\)/],
    ['a size past the end', [tar([{ name: 'a', data: 'x', size: 5000 }])], undefined, /declares 5000 bytes of data/],
    ['a digest the bytes do not have', [good], `sha256:${'0'.repeat(64)}`, /hashes to sha256:[0-9a-f]{12}…, not sha256:000000000000…/],
  ];
  for (const [what, layers, diffId, culprit] of cases) {
    it(`${what}: the same message, named, refused by the CLI`, async () => {
      const a = arena('sy-inspect-flat-hostile-');
      const dir = dockerDir(path.join(a.dir, 'img'), layers, diffId ? [diffId] : undefined);
      const trees = await openImage(store, dir, { contents: false }).then(() => 'opened', (e: Error) => e.message);
      const flat = await inspectImageFile(dir).then(() => 'opened', (e: Error) => e.message);
      expect(trees).toMatch(culprit);
      expect(flat).toBe(trees);
      const r = expectContained(a, () => boundedCli(['inspect', dir, '--json', '--cache', a.cache]));
      expectRefused(r, 1, trees.slice(trees.indexOf('layer 0')));
    });
  }
});
