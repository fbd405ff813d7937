// The registry as the build cache of many machines: one cache folder pushes
// its nodes (--cache-to), an empty one builds from them (--cache-from) to the
// same digest without recomputing, against a real registry (Debian's
// docker-registry) through skopeo. What a registry sends back is checked like
// any untrusted input: a tampered or mislabelled node is a miss, and the
// build computes it instead.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, cli, freePort, lacks, sh, tempDir } from '../helpers/env';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { arena, boundedCli, expectContained } from '../helpers/hostile';

// Our own temp folder: the containment check looks at scratchyard's temporaries there, not at other test files'.
const TMP = mkdtempSync(path.join(os.tmpdir(), 'sy-shared-cache-tmp-'));
process.env.TMPDIR = TMP;
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const work = tempDir('sy-shared-cache-');
const HELLO = path.join(REPO, 'assets/examples/hello');
const DEBIAN = path.join(REPO, 'assets/examples/debian');

const manifestOf = (r: { stdout: string; stderr: string }) => /manifest sha256:([0-9a-f]{64})/.exec(r.stdout + r.stderr)?.[1];

describe.skipIf(lacks('docker-registry', 'skopeo'))('build --cache-to / --cache-from a registry', () => {
  let reg: TestRegistry;
  let repo: string;
  let storage: string;

  beforeAll(async () => {
    reg = await startRegistry();
    storage = reg.storage;
    repo = `docker://${reg.host}/team/cache`;
  });
  afterAll(() => reg?.stop());

  it('an empty cache builds the hello example from the registry, to the same digest', () => {
    const a = cli(['build', HELLO, '--cache', path.join(work, 'a'), '--out', path.join(work, 'a-out'), '--cache-to', repo]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/cache-to: [1-9]\d* nodes pushed/);
    const b = cli(['build', HELLO, '--cache', path.join(work, 'b'), '--out', path.join(work, 'b-out'), '--cache-from', repo]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/cache-from: [1-9]\d* nodes fetched/);
    expect(b.stderr).toMatch(/no layer written \(all 2 cached\)/);
    expect(manifestOf(b)).toBe(manifestOf(a));
    // What skopeo sees in the registry: artifacts, one tag per node.
    const tags = JSON.parse(sh('skopeo', ['list-tags', '--tls-verify=false', repo]).stdout) as { Tags: string[] };
    expect(tags.Tags.length).toBeGreaterThan(0);
    expect(tags.Tags.every((t) => /^node-[0-9a-f]{64}$/.test(t))).toBe(true);
  });

  it.skipIf(lacks('mmdebstrap'))('the Debian example on a second machine: no mmdebstrap run, same digest', () => {
    const a = cli(['build', DEBIAN, '--cache', path.join(work, 'deb-a'), '--out', path.join(work, 'deb-a-out'), '--cache-to', repo], { timeout: 600_000 });
    expect(a.code, a.stderr).toBe(0);
    const b = cli(['build', DEBIAN, '--cache', path.join(work, 'deb-b'), '--out', path.join(work, 'deb-b-out'), '--cache-from', repo], { timeout: 600_000 });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).not.toMatch(/downloading and installing|installing from the cached download/);
    expect(b.stderr).toMatch(/= layer \S+ cached/);
    expect(manifestOf(b)).toBe(manifestOf(a));
  }, 900_000);

  it('a registry that is down: --cache-from builds without it (saying so), --cache-to fails naming the repository', async () => {
    const closed = `docker://127.0.0.1:${await freePort()}/team/cache`;
    const from = cli(['build', HELLO, '--cache', path.join(work, 'c'), '--out', path.join(work, 'c-out'), '--cache-from', closed]);
    expect(from.code, from.stderr).toBe(0);
    expect(from.stderr).toMatch(/cache-from: .*127\.0\.0\.1.* cannot be read/);
    const to = cli(['build', HELLO, '--cache', path.join(work, 'c'), '--out', path.join(work, 'c-out'), '--cache-to', closed]);
    expect(to.code).toBe(1);
    expect(to.stderr).toMatch(/cache-to docker:\/\/127\.0\.0\.1:\d+\/team\/cache/);
  });

  it('a flag that is not a registry repository is a usage error naming it', () => {
    for (const [flag, value] of [['--cache-from', 'oci:somewhere'], ['--cache-to', 'docker://Bad Name'], ['--tls-verify', 'maybe']]) {
      const r = cli(['build', HELLO, '--cache', path.join(work, 'd'), `${flag}=${value}`, ...(flag === '--tls-verify' ? ['--cache-from', repo] : [])]);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toContain(flag);
    }
  });

  describe('hostile registry content', () => {
    it('a node artifact tagged under another node\'s key is refused', () => {
      const other = repo.replace(/cache$/, 'swapped');
      const a = cli(['build', HELLO, '--cache', path.join(work, 'swap-src'), '--out', path.join(work, 'swap-out'), '--cache-to', other]);
      expect(a.code, a.stderr).toBe(0);
      // Point every tag at one artifact: each node then answers with someone else's result.
      const tags = (JSON.parse(sh('skopeo', ['list-tags', '--tls-verify=false', other]).stdout) as { Tags: string[] }).Tags;
      expect(tags.length).toBeGreaterThan(1);
      const tagDir = path.join(storage, 'docker/registry/v2/repositories/team/swapped/_manifests/tags');
      const one = readFileSync(path.join(tagDir, tags[0], 'current/link'), 'utf8');
      for (const t of tags.slice(1)) {
        writeFileSync(path.join(tagDir, t, 'current/link'), one);
        mkdirSync(path.join(tagDir, t, 'index/sha256', one.slice(7)), { recursive: true });
        writeFileSync(path.join(tagDir, t, 'index/sha256', one.slice(7), 'link'), one);
      }
      const h = arena('sy-shared-cache-swap-');
      const r = expectContained(h, () => boundedCli(['build', HELLO, '--cache', h.cache, '--out', h.out, '--cache-from', other], { timeoutMs: 120_000 }));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/refused: it is tagged for another node/);
      // The summary counts them as refused, not as absent from the registry.
      const summary = /cache-from: (\d+) nodes fetched, (\d+) not in the registry, (\d+) refused \(computed here\)/.exec(r.stderr);
      expect(summary, r.stderr).not.toBeNull();
      expect(Number(summary![3])).toBeGreaterThan(0);
    });
    // Last: the registry's blob storage is shared by its repositories, and this alters it.
    it('a node whose blob was altered in the registry is not used: the build computes it, same digest, nothing written outside', () => {
      const src = path.join(work, 'tamper-src');
      const a = cli(['build', HELLO, '--cache', src, '--out', path.join(work, 'tamper-out'), '--cache-to', repo]);
      expect(a.code, a.stderr).toBe(0);
      // Overwrite every blob the registry stores with other bytes of the same size.
      const blobs = path.join(storage, 'docker/registry/v2/blobs/sha256');
      let altered = 0;
      for (const d of readdirSync(blobs)) {
        for (const hex of readdirSync(path.join(blobs, d))) {
          const data = path.join(blobs, d, hex, 'data');
          if (!existsSync(data)) continue;
          const bytes = readFileSync(data);
          if (bytes.length < 64 || bytes[0] === 0x7b) continue; // keep manifests (JSON): alter contents
          bytes[bytes.length >> 1] ^= 0xff;
          writeFileSync(data, bytes);
          altered++;
        }
      }
      expect(altered).toBeGreaterThan(0);
      const h = arena('sy-shared-cache-hostile-');
      const r = expectContained(h, () => boundedCli(['build', HELLO, '--cache', h.cache, '--out', h.out, '--cache-from', repo], { timeoutMs: 120_000 }));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/cache-from: node [0-9a-f]{12} refused: .*(digest|match)/i);
      expect(r.stderr).not.toMatch(/cannot be read/);
      expect(manifestOf(r)).toBe(manifestOf(a));
    });

  });
});
