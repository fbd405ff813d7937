// Hostile images and tarballs, generated here: docker-save and OCI, folder and
// tar, with climbing digests and member names, digests that break their grammar
// or do not match the bytes, lying sizes, truncations, oversize JSON, symlinked
// blobs and a gzip bomb. Each is refused (exit 1 for an image, 2 for a recipe's
// tarball) with a message naming the file and the culprit, in bounded time and
// memory, and nothing changes outside the cache and the output.
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { arena, boundedCli, expectContained, expectRefused, type Arena } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';
import { lacks } from '../helpers/env';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

type Entry = Partial<Header> & { name: string; body?: Buffer | string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const { body, ...h } of entries) p.entry({ mode: 0o644, mtime: new Date(0), ...h } as Header, typeof body === 'string' ? Buffer.from(body) : (body ?? Buffer.alloc(0)));
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A ustar header with a valid checksum, fields as raw strings: what tar-stream will not write. */
function rawHeader(name: string, size: string, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(size, 124, 12, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}
const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
function paxSize(value: string, name: string): Buffer {
  const body = ` size=${value}\n`;
  const rec = Buffer.from(`${body.length + String(body.length + 2).length}${body}`);
  return Buffer.concat([rawHeader('PaxHeader', rec.length.toString(8).padStart(11, '0') + '\0', 'x'), pad(rec), rawHeader(name, '00000000000\0')]);
}

/** An image as members (name -> bytes), before it is written as a tar or a folder. */
type Members = Map<string, Buffer>;

interface Layer {
  blob: Buffer;
  diffId: string;
}

async function layerOf(entries: Entry[], gzip = false): Promise<Layer> {
  const tar = await tarOf(entries);
  return { blob: gzip ? gzipSync(tar) : tar, diffId: sha(tar) };
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

interface Spec {
  layers: Layer[];
  /** Rewrite the documents before they are stored (digests of what changes follow, unless `keep` says otherwise). */
  config?: (c: Record<string, unknown>) => void;
  layerDigests?: (i: number, real: string) => string;
  /** The layers' media type in an OCI manifest (default: a plain OCI tar layer). */
  layerMediaType?: string;
}

function dockerImage(spec: Spec): Members {
  const m: Members = new Map();
  const config: Record<string, unknown> = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => `sha256:${l.diffId}`) } };
  spec.config?.(config);
  const cfg = json(config);
  m.set(`blobs/sha256/${sha(cfg)}`, cfg);
  const names = spec.layers.map((l) => `blobs/sha256/${sha(l.blob)}`);
  spec.layers.forEach((l, i) => m.set(names[i], l.blob));
  m.set('manifest.json', json([{ Config: `blobs/sha256/${sha(cfg)}`, RepoTags: ['x:latest'], Layers: names }]));
  return m;
}

function ociImage(spec: Spec): Members {
  const m: Members = new Map();
  const config: Record<string, unknown> = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => `sha256:${l.diffId}`) } };
  spec.config?.(config);
  const cfg = json(config);
  m.set(`blobs/sha256/${sha(cfg)}`, cfg);
  spec.layers.forEach((l) => m.set(`blobs/sha256/${sha(l.blob)}`, l.blob));
  const manifest = json({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(cfg)}`, size: cfg.length },
    layers: spec.layers.map((l, i) => ({ mediaType: spec.layerMediaType ?? 'application/vnd.oci.image.layer.v1.tar', digest: spec.layerDigests ? spec.layerDigests(i, `sha256:${sha(l.blob)}`) : `sha256:${sha(l.blob)}`, size: l.blob.length })),
  });
  m.set(`blobs/sha256/${sha(manifest)}`, manifest);
  m.set('index.json', json({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length }] }));
  m.set('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
  return m;
}

async function writeTar(file: string, m: Members): Promise<string> {
  writeFileSync(file, await tarOf([...m].map(([name, body]) => ({ name, body }))));
  return file;
}

function writeDir(dir: string, m: Members): string {
  for (const [name, body] of m) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), body);
  }
  return dir;
}

// A private TMPDIR for this file and the CLIs it starts: the containment check
// looks for scratchyard's temporaries there, not among other processes' in /tmp.
const privateTmp = mkdtempSync(path.join(os.tmpdir(), 'sy-hostile-tmp-'));
process.env.TMPDIR = privateTmp;
afterAll(() => rmSync(privateTmp, { recursive: true, force: true }));
const a: Arena = arena('sy-hostile-images-');
let n = 0;
const place = (ext = '') => path.join(a.dir, `img${++n}${ext}`);

/** `scratchyard <cmd> IMAGE`, contained, refused with exit 1 and a message naming the image and the culprit. */
function refused(cmd: 'ls' | 'inspect', image: string, culprit: string | RegExp, maxRssMiB?: number): void {
  const r = expectContained(a, () => boundedCli([cmd, image, '--cache', a.cache]));
  expectRefused(r, 1, culprit, maxRssMiB);
  expect(r.stderr).toContain(image);
}

const files: Entry[] = [
  { name: 'etc/', type: 'directory', mode: 0o755 },
  { name: 'etc/hostname', body: 'box\n' },
];

describe('climbing digests and names', () => {
  it('docker-save: a diff_id climbing out (the pack-name attack) is refused by its grammar, before it names anything', async () => {
    const l = await layerOf(files);
    const img = await writeTar(place('.tar'), dockerImage({ layers: [l], config: (c) => ((c.rootfs as { diff_ids: string[] }).diff_ids = ['sha256:../../canary/keep']) }));
    refused('ls', img, /rootfs\.diff_ids\[0\]: "sha256:\.\.\/\.\.\/canary\/keep" is not a digest/);
  });

  it('docker-save: a Layers member name climbing out is refused, naming the field', async () => {
    const m = dockerImage({ layers: [await layerOf(files)] });
    const man = JSON.parse(m.get('manifest.json')!.toString());
    man[0].Layers = ['../canary/keep'];
    m.set('manifest.json', json(man));
    refused('ls', writeDir(place(), m), /manifest\.json \[0\]\.Layers\[0\]: entry "\.\.\/canary\/keep" climbs out/);
  });

  it('OCI tar: a member named blobs/sha256/../../… is refused, naming the member', async () => {
    const m = ociImage({ layers: [await layerOf(files)] });
    m.set('blobs/sha256/../../canary/keep', Buffer.from('evil'));
    refused('ls', await writeTar(place('.tar'), m), /entry "blobs\/sha256\/\.\.\/\.\.\/canary\/keep" climbs out of the archive root/);
  });

  for (const [what, bad] of [
    ['climbing', 'sha256:../../canary/keep'],
    ['upper-case hex', 'sha256:' + 'A'.repeat(64)],
    ['short', 'sha256:abc'],
    ['another algorithm', 'sha512:' + 'a'.repeat(128)],
    ['not a string', 42],
  ] as const) {
    it(`OCI folder and tar: a layer digest that is ${what} is refused, naming the manifest field`, async () => {
      const m = ociImage({ layers: [await layerOf(files)], layerDigests: () => bad as string });
      for (const img of [writeDir(place(), m), await writeTar(place('.tar'), m)]) refused('ls', img, /manifest sha256:[0-9a-f]{12} layers\[0\]\.digest: .* is not a digest/);
    });
  }

  it('OCI: an index.json manifest digest breaking the grammar is refused', async () => {
    const m = ociImage({ layers: [await layerOf(files)] });
    m.set('index.json', json({ schemaVersion: 2, manifests: [{ digest: 'sha256:../../../../etc/passwd', size: 10 }] }));
    refused('inspect', writeDir(place(), m), /index\.json manifests\[0\]\.digest: "sha256:\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is not a digest/);
  });
});

describe('digests that do not match the bytes', () => {
  it('OCI: a layer blob whose bytes differ from its digest names the layer and both digests', async () => {
    const l = await layerOf(files);
    const m = ociImage({ layers: [l] });
    const other = await tarOf([{ name: 'etc/hostname', body: 'evil\n' }]);
    const padded = Buffer.concat([other, Buffer.alloc(l.blob.length - other.length)]);
    m.set(`blobs/sha256/${sha(l.blob)}`, padded);
    for (const img of [writeDir(place(), m), await writeTar(place('.tar'), m)]) {
      refused('ls', img, new RegExp(`layer 0 \\(sha256:${sha(l.blob).slice(0, 12)}, blobs/sha256/${sha(l.blob)}\\): the blob's bytes hash to sha256:${sha(padded).slice(0, 12)}`));
    }
  });

  it('docker-save: a wrong diff_id (good grammar) names the config field', async () => {
    const l = await layerOf(files, true);
    const img = await writeTar(place('.tar'), dockerImage({ layers: [l], config: (c) => ((c.rootfs as { diff_ids: string[] }).diff_ids = [`sha256:${'1'.repeat(64)}`]) }));
    refused('ls', img, /layer 0 \(sha256:111111111111, .*\): the uncompressed tar hashes to sha256:[0-9a-f]{12}…, not sha256:111111111111… as blobs\/sha256\/[0-9a-f]{64} rootfs\.diff_ids\[0\] says/);
    // Read without contents (gzip: every byte is read anyway), the same check holds.
    refused('inspect', img, /the uncompressed tar hashes to/);
  });

  it('a config whose bytes differ from its descriptor (OCI) or its name (docker) is refused', async () => {
    const l = await layerOf(files);
    const oci = ociImage({ layers: [l] });
    const docker = dockerImage({ layers: [l] });
    for (const m of [oci, docker]) {
      const name = [...m.keys()].find((k) => k.startsWith('blobs/') && m.get(k)!.toString().includes('"rootfs"'))!;
      m.set(name, Buffer.from(m.get(name)!.toString().replace('amd64', 'arm64')));
    }
    refused('inspect', writeDir(place(), oci), /manifest sha256:[0-9a-f]{12} config \(blobs\/sha256\/[0-9a-f]{64}\): the bytes hash to sha256:[0-9a-f]{12}…, its descriptor says/);
    refused('inspect', await writeTar(place('.tar'), docker), /config blobs\/sha256\/[0-9a-f]{64}: the bytes hash to .*, its name says/);
  });

  it('diff_ids and layers of different counts are refused', async () => {
    const l = await layerOf(files);
    const m = ociImage({ layers: [l], config: (c) => ((c.rootfs as { diff_ids: string[] }).diff_ids = []) });
    refused('inspect', writeDir(place(), m), /rootfs\.diff_ids lists 0 layers, manifest sha256:[0-9a-f]{12} layers lists 1/);
  });
});

describe('sizes, truncations, records', () => {
  const layerWith = async (raw: Buffer): Promise<Layer> => {
    const tar = Buffer.concat([raw, Buffer.alloc(1024)]);
    return { blob: tar, diffId: sha(tar) };
  };

  it.each([
    ['a PAX size=-1536 (the 2.5 KB tar that hung everything)', paxSize('-1536', 'f'), /PAX size "-1536" is not a non-negative integer/],
    ['a non-numeric size', rawHeader('f', '00000x00000\0'), /size field is not an octal number/],
    ['a huge size', rawHeader('f', '77777777777\0'), /truncated at byte \d+: .*declares 8589934591 bytes/],
  ])('in a layer, %s is refused, naming the layer', async (_, raw, culprit) => {
    const l = await layerWith(raw);
    for (const m of [ociImage({ layers: [l] }), dockerImage({ layers: [l] })]) {
      for (const cmd of ['ls', 'inspect'] as const) refused(cmd, writeDir(place(), m), new RegExp(`layer 0 \\(sha256:[0-9a-f]{12}, blobs/sha256/[0-9a-f]{64}\\): .*${culprit.source}`));
    }
  });

  it('in the image tar itself, a PAX size=-1536 and a negative base-256 size are refused', async () => {
    const good = await writeTar(place('.tar'), ociImage({ layers: [await layerOf(files)] }));
    const neg = rawHeader('oci-layout', '00000000000\0');
    neg.fill(0xff, 124, 136);
    neg.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of neg) sum += b;
    neg.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    for (const [head, culprit] of [
      [paxSize('-1536', 'index.json'), /PAX size "-1536"/],
      [neg, /negative size in the header at byte 0/],
    ] as const) {
      const img = place('.tar');
      writeFileSync(img, Buffer.concat([head, readFileSync(good)]));
      refused('inspect', img, culprit);
    }
  });

  it('a truncated image tar and a truncated layer say where', async () => {
    const l = await layerOf([...files, { name: 'big', body: Buffer.alloc(100_000, 3) }]);
    const whole = readFileSync(await writeTar(place('.tar'), dockerImage({ layers: [l] })));
    const cut = place('.tar');
    writeFileSync(cut, whole.subarray(0, whole.length - 1024 - 50_000));
    refused('inspect', cut, /truncated at byte \d+/);
    const oci = ociImage({ layers: [l] });
    oci.set(`blobs/sha256/${sha(l.blob)}`, l.blob.subarray(0, 60_000));
    refused('ls', writeDir(place(), oci), /manifest sha256:[0-9a-f]{12} layers\[0\] says 103424 bytes, blob sha256:[0-9a-f]{12} has 60000/);
    const docker = dockerImage({ layers: [l] });
    docker.set(`blobs/sha256/${sha(l.blob)}`, l.blob.subarray(0, 60_000));
    refused('ls', writeDir(place(), docker), /layer 0 \(sha256:[0-9a-f]{12}, blobs\/sha256\/[0-9a-f]{64}\): truncated at byte 60000: "big" declares 100000 bytes/);
  });

  it('an oversize manifest.json is refused before it is read', async () => {
    const m = dockerImage({ layers: [await layerOf(files)] });
    m.set('manifest.json', Buffer.alloc(5 << 20, 0x20));
    refused('inspect', await writeTar(place('.tar'), m), /manifest\.json: 5242880 bytes, more than the 4194304 a JSON document may have/);
  });
});

describe('OCI folders: members are their own files', () => {
  it('a symlinked layer blob (to a file outside) is refused, naming it', async () => {
    const l = await layerOf(files);
    const dir = writeDir(place(), ociImage({ layers: [l] }));
    const blob = path.join(dir, 'blobs/sha256', sha(l.blob));
    const outside = path.join(a.dir, `outside-${n}`);
    writeFileSync(outside, l.blob);
    rmSync(blob);
    symlinkSync(outside, blob);
    refused('ls', dir, new RegExp(`blobs/sha256/${sha(l.blob)} is a symlink`));
  });

  it('a symlinked index.json is refused too', async () => {
    const dir = writeDir(place(), ociImage({ layers: [await layerOf(files)] }));
    renameSync(path.join(dir, 'index.json'), path.join(dir, 'real-index.json'));
    symlinkSync('real-index.json', path.join(dir, 'index.json'));
    refused('inspect', dir, /index\.json is a symlink/);
  });
});

describe('a gzip bomb', () => {
  // 4.25 GiB of zeros in one file: past what an octal size field and a 32-bit offset hold.
  const SIZE = 4.25 * 1024 ** 3;

  async function bomb(size = SIZE): Promise<string> {
    const gz = place('.layer.gz');
    const out = createWriteStream(gz);
    const gzip = createGzip({ level: 1 });
    gzip.pipe(out);
    const blobHash = createHash('sha256');
    const diffHash = createHash('sha256');
    gzip.on('data', (c: Buffer) => blobHash.update(c));
    const write = async (b: Buffer) => {
      diffHash.update(b);
      if (!gzip.write(b)) await new Promise<void>((r) => gzip.once('drain', () => r()));
    };
    const head = await tarOf([{ name: 'zeros', size: 0 }]);
    // tar-stream writes the header of an empty file: give it the real size (PAX, as GNU tar would).
    const pax = ` size=${size}\n`;
    const rec = Buffer.from(`${pax.length + 2}${pax}`);
    await write(Buffer.concat([rawHeader('PaxHeader', rec.length.toString(8).padStart(11, '0') + '\0', 'x'), pad(rec), head.subarray(0, 512)]));
    const mib = Buffer.alloc(1 << 20);
    for (let i = 0; i < size / mib.length; i++) await write(mib);
    await write(Buffer.alloc(1024));
    await new Promise<void>((r) => {
      out.on('close', () => r());
      gzip.end();
    });
    const blob = readFileSync(gz);
    expect(blob.length).toBeLessThan(size / 100);
    const l = { blob, diffId: diffHash.digest('hex') };
    expect(sha(blob)).toBe(blobHash.digest('hex'));
    return writeDir(place(), ociImage({ layers: [l] }));
  }

  it('streams through in bounded memory: inspect (contents dropped) and ls (a file over 4 GiB stored) both read it', async () => {
    const img = await bomb();
    const inspect = expectContained(a, () => boundedCli(['inspect', img, '--cache', a.cache, '--json'], { timeoutMs: 300_000 }));
    expect(inspect.stderr).toBe('');
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout).final).toBe(SIZE);
    expect(inspect.maxRssMiB).toBeLessThan(300);
    const ls = expectContained(a, () => boundedCli(['ls', img, '--cache', a.cache], { timeoutMs: 300_000 }));
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`^\\./zeros 0100644-0-0-[0-9a-f]{64}$`, 'm'));
    expect(ls.maxRssMiB).toBeLessThan(300);
    // Making and reading 4.25 GiB three times takes minutes on a loaded 2-core machine: the bound is the CLI's own timeout above.
  }, 900_000);

  it('as a base image, its rootfs tar is written in bounded memory: the large file streams, not queued whole', async () => {
    const img = await bomb(768 << 20);
    const proj = writeProject(place(), `name: onbomb\nlayers:\n  - name: base\n    sources:\n      - kind: image\n        ref: oci:${img}\n`);
    const r = expectContained(a, () => boundedCli(['build', proj, '--cache', a.cache, '--out', a.out, '--format', 'rootfs', '--no-sbom'], { timeoutMs: 300_000 }));
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(path.join(a.out, 'onbomb.rootfs.tar')).size).toBeGreaterThan(768 << 20);
    expect(r.maxRssMiB).toBeLessThan(300);
    rmSync(path.join(a.out, 'onbomb.rootfs.tar'));
  }, 600_000);
});

describe('hostile tarball sources through scratchyard build', () => {
  const project = (name: string, tar: Buffer) => {
    const d = writeProject(path.join(a.dir, name), `name: ${name}\nlayers:\n  - name: root\n    sources:\n      - kind: tarball\n        src: rootfs.tar\n`);
    writeFileSync(path.join(d, 'rootfs.tar'), tar);
    return d;
  };

  it.each([
    ['a PAX size=-1536', () => Buffer.concat([paxSize('-1536', 'f'), Buffer.alloc(1024)]), /PAX size "-1536" is not a non-negative integer/],
    ['a non-numeric size', () => Buffer.concat([rawHeader('f', '0000000z000\0'), Buffer.alloc(1024)]), /size field is not an octal number/],
    ['a truncated entry', () => Buffer.concat([rawHeader('f', '00000010000\0'), Buffer.alloc(100)]), /truncated at byte 612: "f" declares 4096 bytes/],
    ['a GNU long name climbing out', () => Buffer.concat([rawHeader('././@LongLink', '00000000020\0', 'L'), pad(Buffer.from('../../canary/x\0\0')), rawHeader('x', '00000000000\0'), Buffer.alloc(1024)]), /entry "\.\.\/\.\.\/canary\/x" climbs out/],
    ['a gzip stream cut short', () => gzipSync(Buffer.concat([rawHeader('f', '00000000004\0'), pad(Buffer.from('abcd')), Buffer.alloc(1024)])).subarray(0, 40), /not a readable tar archive \(unexpected end of file\)/],
  ])('%s is refused with exit 2, naming the field and the entry', (_, tar, culprit) => {
    const d = project(`tarball-${++n}`, tar());
    const r = expectContained(a, () => boundedCli(['build', d, '--cache', a.cache, '--out', a.out]));
    expectRefused(r, 2, new RegExp(`layers\\[0\\]\\.sources\\[0\\]\\.src: rootfs\\.tar: .*${culprit.source}`));
  });
});

describe('found by a hostile-input audit: FIFOs, names a rootfs cannot hold, a history of nulls, names that forge lines', () => {
  const fifo = () => {
    const f = place('.tar');
    execFileSync('mkfifo', [f]);
    return f;
  };
  const tarballProject = (tar: Buffer) => {
    const dir = path.join(a.dir, `p${++n}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'x.tar'), tar);
    return writeProject(dir, 'name: t\nlayers:\n  - name: a\n    sources:\n      - kind: tarball\n        src: x.tar\n');
  };
  const build = (dir: string) => expectContained(a, () => boundedCli(['build', dir, '--cache', a.cache, '--out', a.out, '--no-sbom'], { timeoutMs: 30_000 }));

  it('a FIFO in an image file\'s place is refused, not waited on: ls, init --from, and a recipe\'s image source', () => {
    const f = fifo();
    expectRefused(expectContained(a, () => boundedCli(['ls', `docker-archive:${f}`, '--cache', a.cache], { timeoutMs: 20_000 })), 1, `${f}: not a regular file`);
    expectRefused(expectContained(a, () => boundedCli(['init', '--from', f, path.join(a.out, 'init'), '--cache', a.cache], { timeoutMs: 20_000 })), 1, 'not a regular file');
    const dir = path.join(a.dir, `p${++n}`);
    mkdirSync(dir);
    execFileSync('mkfifo', [path.join(dir, 'base.tar')]);
    writeProject(dir, 'name: t\nlayers:\n  - name: a\n    sources:\n      - kind: image\n        ref: base.tar\n');
    const r = build(dir);
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain('not a regular file');
  });

  it('a FIFO or a device given as the image or project is named as neither, not read as a recipe: inspect, ls, diff', () => {
    const f = fifo();
    for (const args of [['inspect', f], ['ls', f], ['diff', f, f], ['inspect', '/dev/zero']]) {
      const r = expectContained(a, () => boundedCli([...args, '--cache', a.cache], { timeoutMs: 20_000 }));
      expectRefused(r, 2, `${args[1]}: ${args[1] === f ? 'a FIFO' : 'a device'} is neither an image (a file or an OCI layout folder) nor a project folder`);
      expect(r.stderr).not.toContain(':0:0:');
    }
  });

  it('a FIFO in a pack\'s place in the cache is refused, not waited on: the tarball is imported again', async () => {
    const dir = tarballProject(await tarOf(files));
    expect(build(dir).code).toBe(0);
    const packs = path.join(a.cache, 'packs');
    const pack = readdirSync(packs).find((f) => /^[0-9a-f]{64}$/.test(f))!;
    rmSync(path.join(packs, pack));
    execFileSync('mkfifo', [path.join(packs, pack)]);
    rmSync(a.out, { recursive: true, force: true });
    const r = build(dir);
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a rootfs tarball\'s whiteout names, names past NAME_MAX or PATH_MAX, trees past 512 deep and sparse entries are refused, naming the entry', async () => {
    const deep = `${'a/'.repeat(600)}f`;
    const cases: [string, Buffer, RegExp][] = [
      ['a whiteout', await tarOf([{ name: 'etc/', type: 'directory' }, { name: '.wh.etc' }]), /entry "\.wh\.etc": the path has a name beginning "\.wh\." .*whiteout/],
      ['an opaque marker', await tarOf([{ name: 'etc/.wh..wh..opq' }]), /entry "etc\/\.wh\.\.wh\.\.opq": .*whiteout/],
      ['a 300-byte name', await tarOf([{ name: 'b'.repeat(300) }]), /the path has a name of 300 bytes .*NAME_MAX/],
      ['a 4 KiB path', await tarOf([{ name: `${'c'.repeat(200)}/`.repeat(21) + 'f' }]), /the path is \d+ bytes long: at most 4095 \(PATH_MAX\)/],
      ['a tree 601 deep', await tarOf([{ name: deep, body: 'x' }]), /the path is 601 folders deep: at most 512/],
      ['a GNU sparse entry', Buffer.concat([rawHeader('sp', '00000000012\0', 'S'), Buffer.alloc(512), Buffer.alloc(1024)]), /entry "sp" is of a type a rootfs cannot hold/],
    ];
    for (const [what, tar, says] of cases) {
      const r = build(tarballProject(tar));
      expectRefused(r, 2, says, 400);
      expect(r.ms, what).toBeLessThan(20_000);
      expect(r.stderr, what).toContain('layers[0].sources[0].src');
    }
  });

  it('an SBOM of more files than it lists one by one is refused in bounded memory, naming the count and the way out', async () => {
    const many = await tarOf(Array.from({ length: 50_001 }, (_, i) => ({ name: `f${i}`, body: '' })));
    const dir = tarballProject(many);
    const r = expectContained(a, () => boundedCli(['build', dir, '--cache', a.cache, '--out', a.out], { timeoutMs: 120_000 }));
    expectRefused(r, 1, /50001 files to describe one by one; an SBOM lists at most 50000 \(build with --no-sbom/, 400);
    expect(build(dir).code).toBe(0);
  });

  it('init --from refuses an image whose layers would not build, and writes no project', async () => {
    const l = await layerOf(files);
    const wrongDiff = await writeTar(place('.tar'), dockerImage({ layers: [l], config: (c) => ((c.rootfs as { diff_ids: string[] }).diff_ids = [`sha256:${'1'.repeat(64)}`]) }));
    const missing = dockerImage({ layers: [l] });
    for (const k of [...missing.keys()]) if (k.startsWith('blobs/') && missing.get(k) === l.blob) missing.delete(k);
    const noLayer = await writeTar(place('.tar'), missing);
    for (const [img, says] of [[wrongDiff, /the uncompressed tar hashes to/], [noLayer, /no blobs\/sha256\/[0-9a-f]{64} in the archive/]] as const) {
      const dir = path.join(a.out, `init${++n}`);
      const r = expectContained(a, () => boundedCli(['init', '--from', img, dir, '--cache', a.cache], { timeoutMs: 30_000 }));
      expectRefused(r, 1, says);
      expect(r.stderr).toContain('--from');
      expect(existsSync(path.join(dir, 'scratchyard.yaml'))).toBe(false);
    }
  });

  it('a compressed tarball is read to its end-of-archive blocks, not through the zeros after them', () => {
    // 64 MiB of zero blocks after the end squeeze to kilobytes: decompressing them all was the amplification (4 MB took 28 s).
    for (const [ext, mod] of [['tar.gz', 'gzip'], ['tar.xz', 'lzma']] as const) {
      const dir = path.join(a.dir, `p${++n}`);
      mkdirSync(dir);
      const script = `import ${mod}, io, tarfile, sys\nb = io.BytesIO()\nwith tarfile.open(fileobj=b, mode="w") as t:\n  i = tarfile.TarInfo("hello"); i.size = 3; t.addfile(i, io.BytesIO(b"hi\\n"))\nopen(sys.argv[1], "wb").write(${mod}.compress(b.getvalue() + bytes(64 << 20)))\n`;
      execFileSync('python3', ['-c', script, path.join(dir, `x.${ext}`)]);
      writeProject(dir, `name: t\nlayers:\n  - name: a\n    sources:\n      - kind: tarball\n        src: x.${ext}\n`);
      const cache = path.join(a.cache, ext);
      const r = expectContained(a, () => boundedCli(['build', dir, '--cache', cache, '--out', path.join(a.out, ext), '--no-sbom'], { timeoutMs: 60_000 }));
      expect(r.code, r.stderr).toBe(0);
      const packs = path.join(cache, 'packs');
      const pack = readdirSync(packs).find((f) => /^[0-9a-f]{64}$/.test(f))!;
      // The one header and its data block: nothing of the zeros after the end.
      expect(statSync(path.join(packs, pack)).size, ext).toBe(1024);
    }
  });

  it('a name that is not UTF-8 is refused, naming its bytes, not merged with another into U+FFFD: a tarball source, a copied folder, an image', async () => {
    // a\xff and a\xfe (the second as a GNU long name) would both decode to "a\ufffd": one file would silently replace the other.
    const script = 'import io, sys, tarfile\nwith tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape") as t:\n  for n in ["a\\udcff", "a\\udcfe" + "x" * 120]:\n    i = tarfile.TarInfo(n); i.size = 2; t.addfile(i, io.BytesIO(b"hi"))\n';
    const dir = path.join(a.dir, `p${++n}`);
    mkdirSync(dir);
    execFileSync('python3', ['-c', script, path.join(dir, 'x.tar')]);
    writeProject(dir, 'name: t\nlayers:\n  - name: a\n    sources:\n      - kind: tarball\n        src: x.tar\n');
    const r = build(dir);
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain('the name "a\\xff" is not UTF-8 text');
    expect(r.stderr).toContain('x.tar');

    // The same two names as files of a project folder, for a copy source (under out/, which the containment check does not list).
    const copier = path.join(a.out, `p${++n}`);
    mkdirSync(path.join(copier, 'files'), { recursive: true });
    for (const b of [0xff, 0xfe]) writeFileSync(Buffer.concat([Buffer.from(path.join(copier, 'files', 'a')), Buffer.from([b])]), 'x');
    writeProject(copier, 'name: t\nlayers:\n  - name: a\n    sources:\n      - kind: copy\n        src: files\n        dest: /f\n');
    // The project's fault, at its field: exit 2, as the tarball's.
    expectRefused(build(copier), 2, /layers\[0\]\.sources\[0\]\.src: .*files\/a\\xf[ef]: the name is not UTF-8 text/);

    const tar = readFileSync(path.join(dir, 'x.tar'));
    const img = await writeTar(place('.tar'), dockerImage({ layers: [{ blob: tar, diffId: sha(tar) }] }));
    const i = expectContained(a, () => boundedCli(['inspect', img, '--cache', a.cache], { timeoutMs: 30_000 }));
    expectRefused(i, 1, 'the name "a\\xff" is not UTF-8 text');
  });

  it('a layer path no tool can extract (past PATH_MAX, NAME_MAX or 512 deep) is refused at its entry, fast, by inspect, ls and a build on it', async () => {
    // 3000 deep: the names alone are 9 MB, and a tree of them cost time and memory quadratic in the depth.
    const deepTree = Array.from({ length: 3000 }, (_, i) => ({ name: `${'a/'.repeat(i + 1)}`, type: 'directory' as const }));
    const cases: [string, Entry[], RegExp][] = [
      ['3000 folders deep', deepTree, /entry "(a\/){100}.*…": the path is \d+ bytes long: at most 4095 \(PATH_MAX\)|the path is 513 folders deep: at most 512/],
      ['a 300-byte name', [{ name: 'b'.repeat(300) }], /entry "b+…": the path has a name of 300 bytes .*NAME_MAX/],
    ];
    for (const [what, entries, says] of cases) {
      const img = await writeTar(place('.tar'), dockerImage({ layers: [await layerOf(entries)] }));
      for (const cmd of ['inspect', 'ls'] as const) {
        const r = expectContained(a, () => boundedCli([cmd, img, '--cache', a.cache], { timeoutMs: 30_000 }));
        expectRefused(r, 1, says, 400);
        expect(r.stderr, `${cmd} ${what}`).toContain('layer 0');
      }
      const dir = writeProject(path.join(a.dir, `p${++n}`), `name: t\nlayers:\n  - name: base\n    sources:\n      - kind: image\n        ref: ${img}\n`);
      const r = expectContained(a, () => boundedCli(['build', dir, '--cache', a.cache, '--out', a.out, '--no-sbom'], { timeoutMs: 30_000 }));
      expectRefused(r, 1, says, 400);
    }
  });

  it('a plain layer its descriptor calls gzip (as skopeo\'s docker-daemon source writes) is typed by its bytes in what we write: umoci unpacks it', async () => {
    const l = await layerOf(files);
    const base = writeDir(place(), ociImage({ layers: [l], layerMediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }));
    const dir = writeProject(path.join(a.dir, `p${++n}`), `name: t\nlayers:\n  - name: base\n    sources:\n      - kind: image\n        ref: ${base}\n  - name: app\n    sources:\n      - kind: file\n        path: /x\n        content: x\n`);
    const out = path.join(a.out, `typed${n}`);
    const r = expectContained(a, () => boundedCli(['build', dir, '--cache', a.cache, '--out', out, '--format', 'oci', '--no-sbom'], { timeoutMs: 60_000 }));
    expect(r.code, r.stderr).toBe(0);
    const layout = path.join(out, 't.oci');
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(readFileSync(path.join(layout, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8')) as { layers: { mediaType: string }[] };
    expect(manifest.layers.map((x) => x.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar', 'application/vnd.oci.image.layer.v1.tar']);
    if (!lacks('umoci')) {
      const u = spawnSync('umoci', ['unpack', '--rootless', '--image', `${layout}:latest`, path.join(out, 'unpacked')], { encoding: 'utf8' });
      expect(u.status, u.stderr).toBe(0);
    }
  });

  it('a recipe path with a whiteout name or past NAME_MAX is refused at its field', () => {
    for (const [p, says] of [['/etc/.wh.passwd', /whiteout/], [`/${'n'.repeat(256)}`, /NAME_MAX/]] as const) {
      const dir = writeProject(path.join(a.dir, `p${++n}`), `name: t\nlayers:\n  - name: a\n    sources:\n      - kind: file\n        path: ${p}\n        content: x\n`);
      expectRefused(build(dir), 2, says, 400);
    }
  });

  it('a history of nulls and numbers says nothing, and is no crash; a config\'s control characters and a name\'s newline do not reach the terminal raw', async () => {
    const layer = await layerOf([{ name: 'bin/sh', body: 'real' }, { name: 'zz\n./bin/sh 0100755-0-0-forged', body: 'x' }]);
    const history = [{ created_by: '\u001b[2J\u001b]0;title\u0007\nforged', empty_layer: false }, null, { created_by: 123, empty_layer: 'yes' }];
    const img = await writeTar(place('.tar'), dockerImage({ layers: [layer], config: (c) => (c.history = history) }));
    const inspect = expectContained(a, () => boundedCli(['inspect', img, '--cache', a.cache]));
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stderr).not.toMatch(/Cannot read properties/);
    const ls = expectContained(a, () => boundedCli(['ls', img, '--cache', a.cache]));
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).not.toMatch(/^\.\/bin\/sh 0100755-0-0-forged/m);
    expect(ls.stdout).toContain('./zz\\x0a./bin/sh 0100755-0-0-forged 0100644-');
    // A history whose entries are objects: the escape sequences are shown as text.
    const good = await writeTar(place('.tar'), dockerImage({ layers: [layer], config: (c) => (c.history = [history[0]]) }));
    const shown = expectContained(a, () => boundedCli(['inspect', good, '--cache', a.cache]));
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).not.toContain('\u001b');
    expect(shown.stdout).toContain('\\x1b[2J');
  });
});
