// Registries and engines through skopeo (issue 14, references and push), against
// real parts: Debian's docker-registry started here (plain HTTP, and TLS with a
// CA made here plus htpasswd auth), real skopeo as the oracle of what a registry
// holds, docker pull/run of what we pushed, docker save of a docker-built image.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, DOCKER, cli, dockerWorks, lacks, sh, tempDir, type CliResult } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { helloCopy, writeProject } from '../helpers/projects';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { sessionBridge } from '../helpers/session';
import { fetchImage } from '../../electron/engine/oci/transport';

const missing = lacks('skopeo', 'docker-registry', 'htpasswd', 'openssl');
const dir = tempDir('sy-registry-test-');
const cache = path.join(dir, 'cache');
const hello = helloCopy(path.join(dir, 'hello'), 'hello:latest');

/** The manifest digest and layer blob digests our build wrote (the OCI layout's, read without our reader). */
function built(project: string): { manifest: string; layers: string[] } {
  const r = cli(['build', project, '--format', 'oci', '--cache', cache, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const manifest = JSON.parse(r.stdout).manifestDigest as string;
  const oci = path.join(project, 'out', readdirSync(path.join(project, 'out')).find((n) => n.endsWith('.oci'))!);
  const m = JSON.parse(readFileSync(path.join(oci, 'blobs', 'sha256', manifest.slice(7)), 'utf8'));
  return { manifest, layers: m.layers.map((l: { digest: string }) => l.digest) };
}

const skopeoInspect = (ref: string, ...flags: string[]) => sh('skopeo', ['inspect', ...flags, ref]);
const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};

describe.skipIf(missing)('a plain-HTTP registry on 127.0.0.1', () => {
  let reg: TestRegistry;
  let ours: { manifest: string; layers: string[] };
  beforeAll(async () => {
    reg = await startRegistry();
    ours = built(hello);
  });
  afterAll(() => reg?.stop());

  it('push prints the built manifest digest, and the registry holds exactly that manifest', () => {
    const r = ok(cli(['push', hello, `docker://${reg.host}/sy/hello:1`, '--cache', cache]));
    expect(r.stdout.trim()).toBe(ours.manifest);
    // Every blob went up: two layers and the config.
    expect(r.stderr.match(/^ {2}uploaded {3}sha256:[0-9a-f]{64}$/gm)).toHaveLength(3);
    const oracle = JSON.parse(ok(skopeoInspect(`docker://${reg.host}/sy/hello:1`, '--tls-verify=false')).stdout);
    expect(oracle.Digest).toBe(ours.manifest);
    expect(oracle.Layers).toEqual(ours.layers);
  });

  it('a second push uploads nothing and says each blob was there already', () => {
    const r = ok(cli(['push', hello, `docker://${reg.host}/sy/hello:1`, '--cache', cache]));
    expect(r.stdout.trim()).toBe(ours.manifest);
    expect(r.stderr.match(/^ {2}skipped {4}sha256:/gm)).toHaveLength(3);
    expect(r.stderr).toContain('0 uploaded, 3 already in the registry');
  });

  it('a push to another repository of the registry mounts the layers instead of uploading them', () => {
    const r = ok(cli(['push', hello, `docker://${reg.host}/sy/other:1`, '--cache', cache, '--json']));
    const j = JSON.parse(r.stdout);
    expect(j.manifestDigest).toBe(ours.manifest);
    const layers = j.blobs.filter((b: { role: string }) => b.role === 'layer');
    expect(layers.map((b: { status: string }) => b.status)).toEqual(['mounted', 'mounted']);
  });

  it.skipIf(!dockerWorks())('docker pulls what we pushed and runs it', () => {
    const name = `${reg.host}/sy/hello:1`;
    try {
      ok(sh(DOCKER, ['pull', name]));
      const run = sh(DOCKER, ['run', '--rm', '--network', 'none', name]);
      expect(run.stdout).toBe('Hello, world!\n');
      expect(JSON.parse(sh(DOCKER, ['image', 'inspect', name]).stdout)[0].RepoDigests).toContain(`${reg.host}/sy/hello@${ours.manifest}`);
    } finally {
      sh(DOCKER, ['rmi', '-f', name]);
    }
  });

  it('inspect and ls read the pushed image from the registry, once into the cache', () => {
    const ref = `docker://${reg.host}/sy/hello:1`;
    const r = ok(cli(['inspect', ref, '--json', '--cache', cache]));
    expect(JSON.parse(r.stdout).layers.map((l: { digest: string }) => l.digest)).toEqual(ours.layers);
    expect(r.stderr).toContain(`${ref}: ${ours.manifest}`);
    expect(r.stderr).toMatch(/downloaded/);
    // The same file list as the project's own build, read back from the registry.
    const listed = ok(cli(['ls', ref, '--cache', cache]));
    expect(listed.stderr).toContain('is in the cache already');
    expect(listed.stderr).not.toMatch(/downloaded/);
    expect(listed.stdout).toBe(ok(cli(['ls', hello, '--cache', cache])).stdout);
    // diff takes references on both sides.
    const d = ok(cli(['diff', `${ref}#1`, ref, '--cache', cache]));
    expect(d.stdout).toMatch(/^A {2}\/bin\/busybox {2}\d+ B$/m);
  });

  it("the app's Open image… and Compare take a registry reference", async () => {
    const ref = `docker://${reg.host}/sy/hello:1`;
    const { session, bridge } = sessionBridge(hello, cache);
    try {
      const opened = await bridge.request({ cmd: 'image.open', path: ref });
      expect(opened.image).toBe(ref);
      expect(opened.build.layers.map((l) => l.digest)).toEqual(ours.layers);
      const oci = path.join(hello, 'out', 'hello.oci');
      const cmp = await bridge.request({ cmd: 'image.compare', a: { image: ref }, b: { image: `oci:${oci}:latest` } });
      expect([cmp.added.count, cmp.removed.count, cmp.changed.count]).toEqual([0, 0, 0]);
    } finally {
      await session.close();
    }
  });

  it("the app's Push: progress per blob as events, the built digest, the destination remembered", async () => {
    const project = helloCopy(path.join(dir, 'app-push'), 'hello:latest');
    const { session, bridge } = sessionBridge(project, cache);
    const events: string[] = [];
    const off = bridge.onEvent((e) => {
      if (e.event === 'push.blob') events.push(`${e.status} ${e.digest}`);
    });
    try {
      const b = await bridge.request({ cmd: 'build.start' });
      expect(b.ok).toBe(true);
      expect((await bridge.request({ cmd: 'image.pushDestination' })).dest).toBe('docker://hello:latest');
      const dest = `docker://${reg.host}/sy/app:1`;
      const r = await bridge.request({ cmd: 'image.push', dest });
      expect(r.manifestDigest).toBe(ours.manifest);
      expect(r.blobs).toHaveLength(3);
      expect(events).toContain(`copying ${ours.layers[0]}`);
      expect(events.some((e) => /^(uploaded|mounted) /.test(e))).toBe(true);
      expect((await bridge.request({ cmd: 'image.pushDestination' })).dest).toBe(dest);
      // Without a destination it pushes where it pushed last: everything is there now.
      const again = await bridge.request({ cmd: 'image.push' });
      expect(again.destination).toBe(dest);
      expect(again.blobs.map((x) => x.status)).toEqual(['skipped', 'skipped', 'skipped']);
    } finally {
      off();
      await session.close();
    }
  });

  it('a recipe based on the pushed image by reference: init --from pins it, the build reuses its blobs, a push mounts them', () => {
    const dir = path.join(cache, '..', 'on-registry');
    const init = ok(cli(['init', '--from', `docker://${reg.host}/sy/hello:1`, dir, '--cache', cache]));
    expect(init.stderr + init.stdout).toContain(ours.manifest);
    const yaml = readFileSync(path.join(dir, 'scratchyard.yaml'), 'utf8');
    expect(yaml).toContain(`digest: ${ours.manifest}`);
    // One layer of our own above the base.
    writeFileSync(path.join(dir, 'scratchyard.yaml'), yaml + '  - name: extra\n    sources:\n      - kind: file\n        path: /etc/extra\n        content: "on top\\n"\n');
    const mine = built(dir);
    expect(mine.layers.slice(0, ours.layers.length)).toEqual(ours.layers);
    const push = ok(cli(['push', dir, `docker://${reg.host}/sy/on-hello:1`, '--cache', cache]));
    expect(push.stdout.trim()).toBe(mine.manifest);
    // The base's layers were in the registry already (mounted or skipped); only ours and the config went up.
    expect(push.stderr.match(/^ {2}uploaded {3}sha256:/gm)).toHaveLength(2);
  });

  it('fetchImage: files in place with their manifest digest, a registry image once into the shared layout', async () => {
    const oci = path.join(hello, 'out', 'hello.oci');
    const local = await fetchImage({ transport: 'oci', path: oci, tag: 'latest' }, { cacheDir: cache });
    expect(local).toEqual({ path: oci, manifestDigest: ours.manifest.slice(7), ref: { transport: 'oci', path: oci, tag: 'latest' } });
    const plain = await fetchImage({ transport: 'path', path: oci }, { cacheDir: cache });
    expect(plain.manifestDigest).toBe(ours.manifest.slice(7));
    const fresh = path.join(dir, 'fetch-cache');
    const ref = { transport: 'docker', ref: { name: `${reg.host}/sy/hello`, domain: reg.host, path: 'sy/hello', tag: '1' } } as const;
    const seen: string[] = [];
    const twice = await Promise.all([1, 2].map(() => fetchImage(ref, { cacheDir: fresh, onProgress: (p) => seen.push(p.kind === 'blob' ? `${p.kind} ${p.status}` : p.kind) })));
    for (const f of twice) expect(f).toEqual({ path: path.join(fresh, 'images'), manifestDigest: ours.manifest.slice(7), ref: { transport: 'oci', path: path.join(fresh, 'images'), tag: ours.manifest.slice(7) } });
    // Two at once: one copy (three blobs downloaded), the other found it there.
    expect(seen.filter((s) => s === 'blob downloaded')).toHaveLength(3);
    const index = JSON.parse(readFileSync(path.join(fresh, 'images', 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual([ours.manifest]);
    const again: string[] = [];
    await fetchImage(ref, { cacheDir: fresh, onProgress: (p) => again.push(p.kind) });
    expect(again).toEqual(['resolved', 'cached']);
  });

  it('two processes inspecting one reference into one empty cache: both succeed, one copies, the layout holds it once', async () => {
    const fresh = path.join(dir, 'two-process-cache');
    const ref = `docker://${reg.host}/sy/hello:1`;
    const run = () =>
      new Promise<CliResult>((resolve) => {
        execFile(process.execPath, [CLI, 'inspect', ref, '--json', '--cache', fresh], { timeout: 120_000, maxBuffer: 64 << 20 }, (e, stdout, stderr) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }));
      });
    const both = await Promise.all([run(), run()]);
    for (const r of both) expect(JSON.parse(ok(r).stdout).layers.map((l: { digest: string }) => l.digest)).toEqual(ours.layers);
    // Three blobs copied in all (two layers and the config): by one of them; the other waited, then found it.
    const downloaded = both.map((r) => (r.stderr.match(/^ {2}downloaded /gm) ?? []).length).sort();
    expect(downloaded).toEqual([0, 3]);
    expect(both.some((r) => /is in the cache already/.test(r.stderr))).toBe(true);
    const index = JSON.parse(readFileSync(path.join(fresh, 'images', 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual([ours.manifest]);
    expect(existsSync(path.join(fresh, 'images.lock'))).toBe(false);
  });

  it('a lock left by a process that died does not stop a fetch', () => {
    const fresh = path.join(dir, 'stale-lock-cache');
    mkdirSync(fresh, { recursive: true });
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8', timeout: 30_000 });
    writeFileSync(path.join(fresh, 'images.lock'), JSON.stringify({ pid: Number(gone.stdout), host: hostname(), nonce: 'left-behind' }));
    const r = ok(cli(['inspect', `docker://${reg.host}/sy/hello:1`, '--cache', fresh], { timeout: 120_000 }));
    expect(r.stderr).toMatch(/downloaded/);
    expect(existsSync(path.join(fresh, 'images.lock'))).toBe(false);
  });

  it('reports a tag that moved since it was last fetched', () => {
    const other = writeProject(path.join(dir, 'moved'), readFileSync(path.join(hello, 'scratchyard.yaml'), 'utf8').replace('Hello, world!', 'Moved!'));
    const ref = `docker://${reg.host}/sy/moving:1`;
    ok(cli(['push', hello, ref, '--cache', cache]));
    ok(cli(['inspect', ref, '--cache', cache]));
    const second = built(other);
    ok(cli(['push', other, ref, '--cache', cache]));
    const r = ok(cli(['inspect', ref, '--cache', cache]));
    expect(r.stderr).toContain(`${ref}: the tag moved: it named ${ours.manifest} when last fetched, now ${second.manifest}`);
  });

  it('an unknown repository is a sentence naming the reference, exit 1', () => {
    const ref = `docker://${reg.host}/sy/nothere:1`;
    const r = cli(['inspect', ref, '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${ref}: no such image in ${reg.host}`);
  });

  it('a registry that is down: connection refused, named', async () => {
    const gone = await startRegistry();
    await gone.stop();
    const ref = `docker://${gone.host}/sy/hello:1`;
    const r = cli(['ls', ref, '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${ref}: cannot connect to ${gone.host} (connection refused)`);
  });

  it('a registry that went down: a base by tag builds from what the tag named last (said), a base by digest without asking', async () => {
    const off = await startRegistry();
    const ref = `docker://${off.host}/sy/off:1`;
    ok(cli(['push', hello, ref, '--cache', cache]));
    const recipe = (r: string) => `name: off\nlayers:\n  - name: base\n    sources:\n      - kind: image\n        ref: ${JSON.stringify(r)}\n  - name: extra\n    sources:\n      - kind: file\n        path: /etc/extra\n        content: "x\\n"\n`;
    const byTag = writeProject(path.join(dir, 'off-tag'), recipe(ref));
    const byDigest = writeProject(path.join(dir, 'off-digest'), recipe(`docker://${off.host}/sy/off@${ours.manifest}`));
    const up = built(byTag);
    expect(built(byDigest).manifest).toBe(up.manifest);
    await off.stop();
    const r = ok(cli(['build', byTag, '--format', 'oci', '--cache', cache, '--json']));
    expect(JSON.parse(r.stdout).manifestDigest).toBe(up.manifest);
    expect(r.stderr).toContain(`layers[0].sources[0].ref: ${ref}: cannot connect to ${off.host} (connection refused): using ${ours.manifest}, what it named when last fetched (in the cache)`);
    const d = ok(cli(['build', byDigest, '--format', 'oci', '--cache', cache, '--json']));
    expect(JSON.parse(d.stdout).manifestDigest).toBe(up.manifest);
    expect(d.stderr).not.toContain('cannot connect');
    // Another cache never fetched it: the registry being down is the error, named.
    const elsewhere = cli(['build', byTag, '--format', 'oci', '--cache', path.join(dir, 'cache-never')]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain(`layers[0].sources[0].ref: ${ref}: cannot connect to ${off.host} (connection refused)`);
  });

  it('a bare name that is no file gets the transports it could mean', () => {
    const r = cli(['inspect', 'nginx:latest', '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('docker-daemon:nginx:latest');
    expect(r.stderr).toContain('docker://nginx:latest');
  });

  it('hostile: a registry serving a layer whose bytes do not match its digest is refused, nothing kept', () => {
    const ref = `docker://${reg.host}/sy/hello:1`;
    const blob = path.join(reg.storage, 'docker/registry/v2/blobs/sha256', ours.layers[0].slice(7, 9), ours.layers[0].slice(7), 'data');
    const good = readFileSync(blob);
    const bad = Buffer.from(good);
    bad[bad.length >> 1] ^= 0xff;
    writeFileSync(blob, bad);
    // A private TMPDIR for the CLI: the containment check looks for scratchyard's temporaries there, not among other processes' in /tmp.
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = tempDir('sy-registry-tmp-');
    try {
      const a = arena('sy-registry-hostile-');
      const r = expectContained(a, () => boundedCli(['ls', ref, '--cache', a.cache]));
      expectRefused(r, 1, `${ref}: the blob ${ours.layers[0]} it sent does not match its digest`);
      const index = path.join(a.cache, 'images', 'index.json');
      expect(existsSync(index) ? readFileSync(index, 'utf8') : '').not.toContain(ours.manifest.slice(7));
    } finally {
      writeFileSync(blob, good);
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
  });
});

describe.skipIf(missing)('a TLS registry with its own CA and htpasswd (bcrypt) accounts', () => {
  let reg: TestRegistry;
  let ours: { manifest: string; layers: string[] };
  beforeAll(async () => {
    reg = await startRegistry({ tls: true });
    ours = built(hello);
  });
  afterAll(() => reg?.stop());

  it('push with --creds and the CA in --cert-dir: TLS verified, the digest ours', () => {
    const ref = `docker://${reg.host}/sy/hello:1`;
    const r = ok(cli(['push', hello, ref, '--creds', reg.creds!, '--cert-dir', reg.certDir!, '--cache', cache]));
    expect(r.stdout.trim()).toBe(ours.manifest);
    const oracle = JSON.parse(ok(skopeoInspect(`docker://${reg.host}/sy/hello:1`, `--cert-dir=${reg.certDir}`, `--creds=${reg.creds}`)).stdout);
    expect(oracle.Digest).toBe(ours.manifest);
    const back = ok(cli(['inspect', ref, '--json', '--creds', reg.creds!, '--cert-dir', reg.certDir!, '--cache', cache]));
    expect(JSON.parse(back.stdout).layers.map((l: { digest: string }) => l.digest)).toEqual(ours.layers);
  });

  it("a base image behind auth: build's --creds and --cert-dir reach the base's fetch; without them the source is named", () => {
    const ref = `docker://${reg.host}/sy/hello:1`;
    ok(cli(['push', hello, ref, '--creds', reg.creds!, '--cert-dir', reg.certDir!, '--cache', cache]));
    const proj = writeProject(path.join(dir, 'on-tls'), `name: on-tls\ntag: on-tls:1\nlayers:\n  - name: base\n    sources:\n      - kind: image\n        ref: ${ref}\n`);
    const own = path.join(dir, 'on-tls-cache');
    const denied = cli(['build', proj, '--format', 'oci', '--cache', own, '--cert-dir', reg.certDir!]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('layers[0].sources[0].ref');
    expect(denied.stderr).toContain('401 unauthorized');
    const r = ok(cli(['build', proj, '--format', 'oci', '--cache', own, '--json', '--creds', reg.creds!, '--cert-dir', reg.certDir!]));
    // An image that is only its base is the base, manifest and all.
    expect(JSON.parse(r.stdout).manifestDigest).toBe(ours.manifest);
    // ls, inspect and push of the project pass the flags to its base's fetch too (each into a cache of its own).
    const flags = ['--creds', reg.creds!, '--cert-dir', reg.certDir!];
    expect(ok(cli(['ls', proj, '--cache', path.join(dir, 'on-tls-ls'), ...flags])).stdout).toMatch(/^\.\/bin\/busybox /m);
    ok(cli(['inspect', proj, '--cache', path.join(dir, 'on-tls-inspect'), ...flags]));
    expect(ok(cli(['push', proj, `docker://${reg.host}/sy/on-tls:1`, '--cache', path.join(dir, 'on-tls-push'), ...flags])).stdout.trim()).toBe(ours.manifest);
  });

  it("--creds' password never reaches skopeo's command line (any user's ps shows it): an auth file of its own, removed after", async () => {
    const ref = `docker://${reg.host}/sy/hello:ps`;
    const password = reg.creds!.slice(reg.creds!.indexOf(':') + 1);
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('scratchyard-auth-')));
    // Every process's command line is read while the push runs.
    const child = spawn(process.execPath, [CLI, 'push', hello, ref, '--creds', reg.creds!, '--cert-dir', reg.certDir!, '--cache', cache], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c));
    const seen: string[] = [];
    let done = false;
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 128))).finally(() => (done = true));
    while (!done) {
      for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(n) !== child.pid)) {
        const argv = (() => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
          } catch {
            return '';
          }
        })();
        if (argv.includes(password) && argv.includes('skopeo')) seen.push(argv.replace(/\0/g, ' '));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await exited, stderr).toBe(0);
    expect(seen).toEqual([]);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('scratchyard-auth-') && !before.has(n))).toEqual([]);
  });

  it('a wrong password: 401 in words, exit 1', () => {
    const ref = `docker://${reg.host}/sy/hello:1`;
    const r = cli(['push', hello, ref, '--creds', 'tester:wrong', '--cert-dir', reg.certDir!, '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${ref}: ${reg.host} refused the credentials (401 unauthorized)`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('no credentials at all: 401 too', () => {
    const r = cli(['inspect', `docker://${reg.host}/sy/hello:1`, '--cert-dir', reg.certDir!, '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused the credentials (401 unauthorized)');
  });

  it('TLS verified against the system CAs fails, and says how to pass the CA', () => {
    const ref = `docker://${reg.host}/sy/hello:1`;
    const r = cli(['inspect', ref, '--tls-verify=true', '--creds', reg.creds!, '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${ref}: TLS with ${reg.host} failed`);
    expect(r.stderr).toContain('--cert-dir');
    // Alone, as skopeo takes it, --tls-verify is true: the reference after it stays the reference.
    const bare = cli(['inspect', '--tls-verify', ref, '--creds', reg.creds!, '--cache', cache]);
    expect(bare.code, bare.stderr).toBe(1);
    expect(bare.stderr).toContain(`${ref}: TLS with ${reg.host} failed`);
  });

  it('an unknown repository behind auth: no such image', () => {
    const ref = `docker://${reg.host}/sy/nothere:1`;
    const r = cli(['inspect', ref, '--creds', reg.creds!, '--cert-dir', reg.certDir!, '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${ref}: no such image in ${reg.host}`);
  });

  it('bad --creds is a usage error before anything runs', () => {
    const r = cli(['push', hello, `docker://${reg.host}/sy/hello:1`, '--creds', 'nocolon', '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--creds: expected USER:PASSWORD');
  });
});

describe.skipIf(missing || !dockerWorks())('docker-daemon: the local docker engine', () => {
  const tag = `scratchyard-test/daemon-ref:${process.pid}`;
  const ctx = writeProject(path.join(dir, 'dockerfile'), '', {
    Dockerfile: 'FROM scratch\nCOPY a.txt /etc/a.txt\nCOPY tree/ /opt/tree/\nCOPY b.txt /etc/a.txt\n',
    'a.txt': 'first\n',
    'b.txt': 'second, longer\n',
    'tree/x/y.txt': 'y\n',
  });
  beforeAll(() => {
    ok(sh(DOCKER, ['build', '-q', '-t', tag, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' } }));
  });
  afterAll(() => {
    sh(DOCKER, ['rmi', '-f', tag]);
  });

  it('reads the same layers and trees through docker-daemon: as from docker save', () => {
    const saved = path.join(dir, 'daemon-ref.tar');
    ok(sh(DOCKER, ['save', '-o', saved, tag]));
    const fromSave = JSON.parse(ok(cli(['inspect', saved, '--json', '--cache', cache])).stdout);
    const fromDaemon = JSON.parse(ok(cli(['inspect', `docker-daemon:${tag}`, '--json', '--cache', cache])).stdout);
    expect(fromDaemon.layers.map((l: { digest: string }) => l.digest)).toEqual(fromSave.layers.map((l: { digest: string }) => l.digest));
    expect(fromDaemon.layers).toHaveLength(3);
    expect(ok(cli(['ls', `docker-daemon:${tag}`, '--cache', cache])).stdout).toBe(ok(cli(['ls', saved, '--cache', cache])).stdout);
    for (const n of [1, 2, 3]) {
      expect(ok(cli(['ls', `docker-daemon:${tag}`, '--layer', String(n), '--cache', cache])).stdout).toBe(ok(cli(['ls', saved, '--layer', String(n), '--cache', cache])).stdout);
    }
  });

  it('a name the engine does not have: no such image, named', () => {
    const r = cli(['inspect', 'docker-daemon:scratchyard-test/never-built:1', '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('docker-daemon:scratchyard-test/never-built:1: no such image in that store');
  });
});
