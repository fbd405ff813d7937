// A base image by reference (`kind: image`): an OCI layout we built and a
// `docker save` of an image docker built. Checked by tools nobody here wrote:
// the OCI output's bottom blobs are the base's own (digest, size, media type),
// docker load + run of the docker-archive runs a base binary and one of our
// files, skopeo reads the config, umoci unpacks the whole. Bad bases (a pin
// that does not match, a tampered blob) are refused, naming the culprit.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, cli, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { helloCopy, writeProject } from '../helpers/projects';

const work = tempDir('sy-imagebase-');
const cache = path.join(work, 'cache');
const pid = process.pid;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}
interface Manifest {
  config: Descriptor;
  layers: Descriptor[];
}

/** An OCI layout's first manifest and its digest, read as JSON files. */
function ociManifest(dir: string): { digest: string; manifest: Manifest } {
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
  const digest: string = index.manifests[0].digest;
  return { digest, manifest: JSON.parse(readFileSync(path.join(dir, 'blobs/sha256', digest.slice(7)), 'utf8')) };
}

function build(project: string, extra: string[] = [], cacheDir = cache) {
  const r = cli(['build', project, '--cache', cacheDir, '--json', ...extra]);
  expect(r.stderr, r.stderr).not.toMatch(/scratchyard: /);
  expect(r.code).toBe(0);
  return { ...r, json: JSON.parse(r.stdout) as { manifestDigest: string; base?: { ref: string; digest: string }; layers: { name: string; digest: string; cached: boolean }[]; outputs: Record<string, string> } };
}

/** A project on `ref` with one layer of ours above it. */
function onBase(dir: string, ref: string, more = ''): string {
  return writeProject(
    dir,
    `name: ${path.basename(dir)}
tag: scratchyard-test/${path.basename(dir)}:${pid}
config:
  env:
    GREETING: from-the-recipe
${more}layers:
  - name: base
    sources:
      - kind: image
        ref: ${JSON.stringify(ref)}
  - name: mine
    sources:
      - kind: file
        path: /etc/mine
        content: "mine\\n"
`,
  );
}

// Base 1: the hello example as an OCI layout (uncompressed layers); base 2: the same, gzip'd.
const hello = helloCopy(path.join(work, 'hello'), `scratchyard-test/ib-hello:${pid}`);
const helloOci = path.join(hello, 'out/hello.oci');
const helloGz = helloCopy(path.join(work, 'hellogz'), `scratchyard-test/ib-hellogz:${pid}`);
const helloGzOci = path.join(helloGz, 'out/hello.oci');

beforeAll(() => {
  build(hello, ['--format', 'oci']);
  build(helloGz, ['--format', 'oci', '--gzip']);
});

describe('an OCI layout as the base', () => {
  const project = onBase(path.join(work, 'on-oci'), `oci:${helloOci}`);
  let built: ReturnType<typeof build>;
  beforeAll(() => {
    built = build(project);
  });

  it('puts the base blobs under ours byte for byte: same digests, sizes and media types', () => {
    const base = ociManifest(helloOci);
    const ours = ociManifest(built.json.outputs.oci);
    expect(ours.digest).toBe(built.json.manifestDigest);
    expect(ours.manifest.layers.slice(0, base.manifest.layers.length)).toEqual(base.manifest.layers);
    expect(ours.manifest.layers).toHaveLength(base.manifest.layers.length + 1);
    for (const l of ours.manifest.layers) expect(sha(readFileSync(path.join(built.json.outputs.oci, 'blobs/sha256', l.digest.slice(7))))).toBe(l.digest.slice(7));
    expect(built.json.layers.map((l) => l.name)).toEqual(['base~1', 'base', 'mine']);
  });

  it('prints the digest the reference resolved to', () => {
    const base = ociManifest(helloOci);
    expect(built.json.base).toEqual({ ref: `oci:${helloOci}`, digest: base.digest });
    expect(built.stderr).toContain(base.digest);
  });

  it.skipIf(lacks('skopeo', 'umoci'))('skopeo reads the base config under the recipe; umoci unpacks base and own files', () => {
    const oci = built.json.outputs.oci;
    const ins = JSON.parse(sh('skopeo', ['inspect', `oci:${oci}`]).stdout);
    expect(ins.Digest).toBe(built.json.manifestDigest);
    const cfg = JSON.parse(sh('skopeo', ['inspect', '--config', `oci:${oci}`]).stdout).config;
    expect(cfg.Entrypoint).toEqual(['/init']);
    expect(cfg.Env).toEqual(['PATH=/bin:/usr/bin:/sbin:/usr/sbin', 'GREETING=from-the-recipe']);
    const dest = path.join(work, 'unpacked');
    const u = sh('umoci', ['unpack', '--rootless', '--image', `${oci}:${pid}`, dest]);
    expect(u.code, u.stderr).toBe(0);
    expect(readFileSync(path.join(dest, 'rootfs/etc/mine'), 'utf8')).toBe('mine\n');
    expect(existsSync(path.join(dest, 'rootfs/bin/busybox'))).toBe(true);
  });

  it('the explorer and ls of our output show the base layers like any other', () => {
    const base = cli(['ls', helloOci, '--layer', '2', '--cache', cache]);
    const ours = cli(['ls', built.json.outputs.oci, '--layer', '2', '--cache', cache]);
    expect(ours.code).toBe(0);
    expect(ours.stdout).toBe(base.stdout);
    expect(cli(['ls', project, '--layer', 'base', '--cache', cache]).stdout).toBe(base.stdout);
    // The rootfs holds the base's files and ours.
    const names = sh('tar', ['-tf', built.json.outputs.rootfs]).stdout.split('\n');
    expect(names).toContain('init');
    expect(names).toContain('etc/mine');
  });

  it('is deterministic: another cache, the same manifest digest', () => {
    expect(build(project, [], path.join(work, 'cache2')).json.manifestDigest).toBe(built.json.manifestDigest);
  });

  it('a rebuild does not read the base layers again (their blobs are gone from the layout)', () => {
    const copy = path.join(work, 'copy.oci');
    cpSync(helloOci, copy, { recursive: true });
    const p = onBase(path.join(work, 'on-copy'), `oci:${copy}`);
    const first = build(p);
    for (const l of ociManifest(copy).manifest.layers) rmSync(path.join(copy, 'blobs/sha256', l.digest.slice(7)));
    const again = build(p);
    expect(again.json.manifestDigest).toBe(first.json.manifestDigest);
    // Without the cache, the missing blob is named.
    const fresh = cli(['build', p, '--cache', path.join(work, 'cache3')]);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toMatch(/layers\[0\]\.sources\[0\]\.ref: base oci:.*blobs\/sha256\/[0-9a-f]{64} is missing/);
  });

  it('a base blob gone bad in the cache is read again from the base', () => {
    const own = path.join(work, 'cache-heal');
    const first = build(project, [], own);
    const blob = path.join(own, 'blobs/sha256', ociManifest(helloOci).manifest.layers[0].digest.slice(7));
    const buf = readFileSync(blob);
    buf[1000] ^= 0xff;
    rmSync(blob);
    writeFileSync(blob, buf);
    rmSync(path.join(project, 'out'), { recursive: true });
    const r = build(project, [], own);
    expect(r.stderr).toMatch(/does not match its digest.*rebuilding what used it/);
    expect(r.json.manifestDigest).toBe(first.json.manifestDigest);
    expect(ociManifest(r.json.outputs.oci).manifest.layers[0].digest.slice(7)).toBe(sha(readFileSync(path.join(r.json.outputs.oci, 'blobs/sha256', ociManifest(helloOci).manifest.layers[0].digest.slice(7)))));
  });

  it('a reference that now names another image is reported as moved', () => {
    const moving = path.join(work, 'moving.oci');
    cpSync(helloOci, moving, { recursive: true });
    const p = onBase(path.join(work, 'on-moving'), `oci:${moving}`);
    build(p);
    rmSync(moving, { recursive: true });
    cpSync(helloGzOci, moving, { recursive: true });
    const r = build(p);
    expect(r.stderr).toContain(`base: oci:${moving} moved ${ociManifest(helloOci).digest} → ${ociManifest(helloGzOci).digest}`);
    expect(build(p).stderr).not.toContain('moved');
  });

  it('scratchyard.lock records the base by reference and digest; build --locked refuses a moved reference, naming the source and both digests', () => {
    const moving = path.join(work, 'locked-moving.oci');
    cpSync(helloOci, moving, { recursive: true });
    const p = onBase(path.join(work, 'on-locked'), `oci:${moving}`);
    const lockFile = path.join(p, 'scratchyard.lock');
    build(p);
    const was = ociManifest(helloOci).digest;
    const now = ociManifest(helloGzOci).digest;
    const entry = (JSON.parse(readFileSync(lockFile, 'utf8')) as { sources: { kind: string }[] }).sources.find((e) => e.kind === 'image');
    expect(entry).toEqual({ field: 'layers[0].sources[0]', kind: 'image', ref: `oci:${moving}`, manifest: was.slice(7) });
    expect(build(p, ['--locked']).json.base?.digest).toBe(was);
    // The reference now names another image.
    rmSync(moving, { recursive: true });
    cpSync(helloGzOci, moving, { recursive: true });
    const locked = readFileSync(lockFile, 'utf8');
    const r = cli(['build', p, '--cache', cache, '--locked']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`layers[0].sources[0] (image oci:${moving}): the lock has ${was}, the build resolved ${now}`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(readFileSync(lockFile, 'utf8')).toBe(locked);
    // Without --locked the change is reported and the lock takes the new digest.
    const w = build(p);
    expect(w.stderr).toContain(`the lock has ${was}, the build resolved ${now}`);
    expect(readFileSync(lockFile, 'utf8')).toContain(`"manifest": "${now.slice(7)}"`);
  });

  it('a lock whose image reference is not one, or not written as Scratchyard writes it, is refused naming the field (exit 2)', () => {
    const p = onBase(path.join(work, 'on-badlock'), `oci:${helloOci}`);
    build(p);
    const lockFile = path.join(p, 'scratchyard.lock');
    const good = readFileSync(lockFile, 'utf8');
    for (const [bad, says] of [['docker://Bad Name', 'docker://Bad Name'], ['docker://127.0.0.1:5000/base', 'expected it written as \\"docker://127.0.0.1:5000/base:latest\\"']]) {
      writeFileSync(lockFile, good.replace(`"ref": "oci:${helloOci}"`, `"ref": ${JSON.stringify(bad)}`));
      const r = cli(['build', p, '--cache', cache]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('sources[0].ref');
      expect(r.stderr).toContain(says.replace(/\\/g, ''));
    }
  });

  it.skipIf(!dockerWorks())('gzip base layers: reused compressed, and docker loads and runs the result', () => {
    const p = onBase(path.join(work, 'on-gz'), helloGzOci);
    const r = build(p);
    const base = ociManifest(helloGzOci).manifest.layers;
    expect(base.every((l) => l.mediaType.endsWith('+gzip'))).toBe(true);
    expect(ociManifest(r.json.outputs.oci).manifest.layers.slice(0, 2)).toEqual(base);
    const tag = `scratchyard-test/on-gz:${pid}`;
    expect(sh(DOCKER, ['load', '-i', r.json.outputs.docker]).code).toBe(0);
    try {
      expect(sh(DOCKER, ['run', '--rm', '--network', 'none', tag]).stdout).toBe('Hello, world!\n');
      expect(sh(DOCKER, ['run', '--rm', '--network', 'none', '--entrypoint', '/bin/busybox', tag, 'cat', '/etc/mine']).stdout).toBe('mine\n');
    } finally {
      sh(DOCKER, ['rmi', '-f', tag]);
    }
  });
});

describe.skipIf(!dockerWorks())('a docker save of a docker-built image as the base', () => {
  const ctx = path.join(work, 'dockerctx');
  const baseTag = `scratchyard-test/ib-dockerbase:${pid}`;
  const saved = path.join(work, 'dockerbase.tar');
  beforeAll(() => {
    writeProject(ctx, '');
    rmSync(path.join(ctx, 'scratchyard.yaml'));
    cpSync('/bin/busybox', path.join(ctx, 'busybox'));
    writeFileSync(
      path.join(ctx, 'Dockerfile'),
      'FROM scratch\nADD busybox /bin/busybox\nENV BASEVAR=from-docker\nENTRYPOINT ["/bin/busybox"]\nCMD ["echo", "the base says hi"]\n',
    );
    const b = sh(DOCKER, ['build', '-q', '-t', baseTag, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    expect(b.code, b.stderr).toBe(0);
    expect(sh(DOCKER, ['save', '-o', saved, baseTag]).code).toBe(0);
    sh(DOCKER, ['rmi', '-f', baseTag]);
  });

  const run = (tag: string, ...args: string[]) => sh(DOCKER, ['run', '--rm', '--network', 'none', tag, ...args]);

  it('docker loads our archive: the base entrypoint and cmd run the base binary; env merges; our file is there', () => {
    const p = onBase(path.join(work, 'on-docker'), `docker-archive:${saved}`);
    const r = build(p);
    // The docker-archive's digest is its config's (docker's image id).
    const manifest = JSON.parse(sh('tar', ['-xOf', saved, 'manifest.json']).stdout);
    expect(r.json.base?.digest).toBe(`sha256:${manifest[0].Config.replace(/^blobs\/sha256\//, '').replace(/\.json$/, '')}`);
    // The layer blob is the saved layer.tar, byte for byte.
    const unpacked = path.join(work, 'saved');
    writeProject(unpacked, '');
    expect(sh('tar', ['-xf', saved, '-C', unpacked]).code).toBe(0);
    expect(ociManifest(r.json.outputs.oci).manifest.layers[0].digest).toBe(`sha256:${sha(readFileSync(path.join(unpacked, manifest[0].Layers[0])))}`);
    const tag = `scratchyard-test/on-docker:${pid}`;
    expect(sh(DOCKER, ['load', '-i', r.json.outputs.docker]).code).toBe(0);
    try {
      expect(run(tag).stdout).toBe('the base says hi\n');
      expect(run(tag, 'cat', '/etc/mine').stdout).toBe('mine\n');
      expect(run(tag, 'sh', '-c', 'echo $BASEVAR $GREETING').stdout).toBe('from-docker from-the-recipe\n');
    } finally {
      sh(DOCKER, ['rmi', '-f', tag]);
    }
  });

  it('the recipe overrides the base config field by field: an entrypoint of its own drops the base cmd', () => {
    const p = onBase(path.join(work, 'on-docker-ep'), `docker-archive:${saved}`, '  entrypoint: ["/bin/busybox", "echo", "own"]\n');
    const r = build(p);
    const cfg = JSON.parse(sh('skopeo', ['inspect', '--config', `oci:${r.json.outputs.oci}`]).stdout).config;
    expect(cfg.Entrypoint).toEqual(['/bin/busybox', 'echo', 'own']);
    expect(cfg.Cmd).toBeUndefined();
    // docker's own PATH first, then the base's variable, then the recipe's.
    expect(cfg.Env.slice(-2)).toEqual(['BASEVAR=from-docker', 'GREETING=from-the-recipe']);
  });

  it('a tampered layer.tar is refused, naming the base and the layer', () => {
    const a = arena('sy-imagebase-bad-');
    const bad = path.join(a.dir, 'tampered.tar');
    const buf = readFileSync(saved);
    // Flip a byte inside busybox's contents (past the first headers).
    const at = buf.indexOf(Buffer.from('\x7fELF')) + 600;
    buf[at] ^= 0xff;
    writeFileSync(bad, buf);
    const p = onBase(path.join(a.dir, 'proj'), `docker-archive:${bad}`);
    const r = expectContained(a, () => boundedCli(['build', p, '--cache', a.cache, '--out', a.out]));
    expectRefused(r, 1, /layers\[0\]\.sources\[0\]\.ref: base docker-archive:.*tampered\.tar: .*layer 0 .*hashes to sha256:[0-9a-f]{12}…, not sha256:[0-9a-f]{12}…/);
    expect(existsSync(a.out) ? readdirSync(a.out) : []).toEqual([]);
  });
});

describe('refusals', () => {
  it('a pin that does not match is refused, naming the ref, the pin and the digest found', () => {
    const a = arena('sy-imagebase-pin-');
    const pin = `sha256:${'0'.repeat(64)}`;
    const p = writeProject(path.join(a.dir, 'proj'), `name: pinned\nlayers:\n  - name: base\n    sources:\n      - kind: image\n        ref: oci:${helloOci}\n        digest: ${pin}\n`);
    const r = expectContained(a, () => boundedCli(['build', p, '--cache', a.cache, '--out', a.out]));
    expectRefused(r, 1, `base oci:${helloOci} is ${ociManifest(helloOci).digest}, the recipe pins ${pin}`);
  });

  it('a tampered OCI blob is refused, naming the blob', () => {
    const a = arena('sy-imagebase-oci-');
    const copy = path.join(a.dir, 'bad.oci');
    cpSync(helloOci, copy, { recursive: true });
    const blob = path.join(copy, 'blobs/sha256', ociManifest(copy).manifest.layers[1].digest.slice(7));
    const buf = readFileSync(blob);
    buf[buf.length >> 1] ^= 0xff;
    rmSync(blob);
    writeFileSync(blob, buf);
    const p = onBase(path.join(a.dir, 'proj'), `oci:${copy}`);
    const r = expectContained(a, () => boundedCli(['build', p, '--cache', a.cache, '--out', a.out]));
    expectRefused(r, 1, /base oci:.*bad\.oci: .*layer 1 \(sha256:[0-9a-f]{12}.*the blob's bytes hash to/);
  });

  it('an image source anywhere but the bottom of a stack is a recipe error (exit 2)', () => {
    const p = writeProject(path.join(work, 'misplaced'), `name: misplaced\nlayers:\n  - name: a\n    sources:\n      - kind: dir\n        path: /x\n      - kind: image\n        ref: oci:${helloOci}\n`);
    const r = cli(['build', p, '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/scratchyard\.yaml:\d+:\d+: layers\[0\]\.sources\[1\]\.kind: an image source must be the first source of the first layer/);
  });
});

describe('stages and init', () => {
  it('a stage may start from an image: a file copied out of it', () => {
    const p = writeProject(
      path.join(work, 'staged'),
      `name: staged\nstages:\n  - name: tools\n    layers:\n      - name: base\n        sources:\n          - kind: image\n            ref: oci:${helloOci}\nlayers:\n  - name: app\n    sources:\n      - kind: copy\n        from: tools\n        src: /bin/busybox\n        dest: /bin/busybox\n`,
    );
    const r = build(p, ['--format', 'oci']);
    expect(r.json.layers.map((l) => l.name)).toEqual(['app']);
    expect(cli(['ls', p, '--cache', cache]).stdout).toMatch(/^\.\/bin\/busybox 0100755-0-0-[0-9a-f]{64}$/m);
  });

  it('init --from writes a recipe pinned by digest that builds the same filesystem', () => {
    const dir = path.join(work, 'inited');
    const r = cli(['init', '--from', `oci:${helloOci}`, dir, '--cache', cache]);
    expect(r.code, r.stderr).toBe(0);
    const recipe = readFileSync(path.join(dir, 'scratchyard.yaml'), 'utf8');
    expect(recipe).toContain(`ref: "oci:${helloOci}"`);
    expect(recipe).toContain(`digest: ${ociManifest(helloOci).digest}`);
    build(dir, ['--format', 'oci']);
    expect(cli(['ls', dir, '--cache', cache]).stdout).toBe(cli(['ls', helloOci, '--cache', cache]).stdout);
    // oci:PATH:TAG picks a manifest by its ref.name; an unknown one is named with those there are.
    const tagged = cli(['init', '--from', `oci:${helloOci}:${pid}`, path.join(work, 'inited-tag'), '--cache', cache]);
    expect(tagged.code, tagged.stderr).toBe(0);
    expect(readFileSync(path.join(work, 'inited-tag/scratchyard.yaml'), 'utf8')).toContain(`digest: ${ociManifest(helloOci).digest}`);
    const wrong = cli(['init', '--from', `oci:${helloOci}:nosuch`, path.join(work, 'inited-wrong'), '--cache', cache]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`index.json has no manifest named "nosuch" (names: ${pid})`);
    // Never over an existing recipe.
    const again = cli(['init', '--from', `oci:${helloOci}`, dir, '--cache', cache]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  });
});
