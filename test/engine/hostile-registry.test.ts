// A registry that lies or stalls (test/helpers/fake-registry.mjs, a real HTTP
// server skopeo talks to): a blob that never ends is stopped once skopeo has
// written more than the manifest declares, and one that accepts and then says
// nothing is given up on after REGISTRY_IDLE_MS of silence. Each ends in
// bounded time and memory, names the reference, leaves no skopeo running and
// no temporary in the cache, and writes nothing outside it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_IDLE_MS } from '../../electron/engine/oci/transport';
import { CLI, lacks } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';

const a = arena('sy-hostile-registry-');

/** Bytes under `dir`, as du counts them. */
function du(dir: string): number {
  return Number(spawnSync('du', ['-sb', dir], { encoding: 'utf8' }).stdout.split('\t')[0]);
}

function skopeoFor(port: number): string {
  return spawnSync('pgrep', ['-af', `skopeo.*127.0.0.1:${port}`], { encoding: 'utf8' }).stdout.trim();
}

describe.skipIf(lacks('skopeo'))('a hostile registry', () => {
  let server: ChildProcess;
  let port = 0;

  beforeAll(async () => {
    server = spawn(process.execPath, [path.join(__dirname, '../helpers/fake-registry.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = await new Promise<number>((resolve) => server.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  });
  afterAll(() => {
    server.kill();
  });

  it('a blob that never ends is stopped past the bytes its manifest declares: named, nothing kept', () => {
    const cache = path.join(a.cache, 'endless');
    const ref = `docker://127.0.0.1:${port}/endless:1`;
    const r = expectContained(a, () => boundedCli(['inspect', ref, '--cache', cache], { timeoutMs: 60_000 }));
    expectRefused(r, 1, new RegExp(`${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the registry sent more than the \\d+ bytes its manifest declares`), 300);
    expect(readdirSync(path.join(cache, 'images')).filter((n) => n.startsWith('oci-put-blob'))).toEqual([]);
    expect(du(cache)).toBeLessThan(64 << 20);
    expect(skopeoFor(port)).toBe('');
  });

  it.each(['inspect', 'ls'])('%s: an image skopeo copies but our reader refuses (a layer larger than its manifest says) is named by its reference and leaves the cache', (command) => {
    const cache = path.join(a.cache, `wrongsize-${command}`);
    const ref = `docker://127.0.0.1:${port}/wrongsize:1`;
    for (const attempt of [1, 2]) {
      const r = expectContained(a, () => boundedCli([command, ref, '--cache', cache], { timeoutMs: 60_000 }));
      expectRefused(r, 1, new RegExp(`${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}@sha256:[0-9a-f]{12}: .*layers\\[0\\] says 100 bytes.*\\(refused and removed from the cache\\)`), 300);
      // Fetched again the second time, not found "in the cache already".
      expect(r.stderr, `attempt ${attempt}`).not.toMatch(/in the cache already/);
    }
    const index = JSON.parse(readFileSync(path.join(cache, 'images', 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(index.manifests).toEqual([]);
  });

  it('a server that answers a manifest with a web page: not taken for an image, named', () => {
    const ref = `docker://127.0.0.1:${port}/html:1`;
    const r = expectContained(a, () => boundedCli(['inspect', ref, '--cache', path.join(a.cache, 'html')], { timeoutMs: 60_000 }));
    expectRefused(r, 1, `${ref}: what came back is not an image manifest ("<html><body>Welcome</body></html>"): is this a registry?`, 300);
  });

  it('as a recipe\'s base: the same image is refused at its field and leaves the cache', () => {
    const cache = path.join(a.cache, 'wrongsize-build');
    const ref = `docker://127.0.0.1:${port}/wrongsize:1`;
    const proj = writeProject(path.join(a.dir, 'on-wrongsize'), `name: onwrong\nlayers:\n  - name: base\n    sources:\n      - kind: image\n        ref: ${ref}\n`);
    for (const attempt of [1, 2]) {
      const r = expectContained(a, () => boundedCli(['build', proj, '--cache', cache, '--out', a.out], { timeoutMs: 60_000 }));
      expectRefused(r, 1, /layers\[0\]\.sources\[0\]\.ref: base docker:\/\/.*wrongsize:1: .*says 100 bytes.*\(refused and removed from the cache; the next build fetches it again\)/, 300);
      expect(r.stderr, `attempt ${attempt}`).not.toMatch(/in the cache already/);
    }
  });

  it.each(['inspect', 'ls'])('%s cancelled (SIGTERM) while the registry stalls: exit 130, and its skopeo goes with it', async (command) => {
    const ref = `docker://127.0.0.1:${port}/silent:${command}`;
    const child = spawn(process.execPath, [CLI, command, ref, '--cache', path.join(a.cache, `cancel-${command}`)], { stdio: 'ignore' });
    const exited = new Promise<number>((resolve) => child.on('close', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
    // Until skopeo is asking.
    for (let i = 0; i < 100 && !skopeoFor(port).includes(`silent:${command}`); i++) await new Promise((r) => setTimeout(r, 100));
    expect(skopeoFor(port)).toContain(`silent:${command}`);
    child.kill('SIGTERM');
    expect(await exited).toBe(130);
    for (let i = 0; i < 20 && skopeoFor(port).includes(`silent:${command}`); i++) await new Promise((r) => setTimeout(r, 100));
    expect(skopeoFor(port)).not.toContain(`silent:${command}`);
  });

  it(`a registry that accepts and then says nothing is given up on after ${REGISTRY_IDLE_MS / 1000} s, named; no skopeo left behind`, () => {
    const cache = path.join(a.cache, 'silent');
    const ref = `docker://127.0.0.1:${port}/silent:1`;
    const r = expectContained(a, () => boundedCli(['inspect', ref, '--cache', cache], { timeoutMs: REGISTRY_IDLE_MS + 30_000 }));
    expectRefused(r, 1, `${ref}: the registry sent nothing for ${REGISTRY_IDLE_MS / 1000} s`, 300);
    expect(skopeoFor(port)).toBe('');
  }, 120_000);
});
