// Same recipe, same digest: in any checkout path, with any umask and any
// source mtimes. And a build killed at any moment leaves a usable cache and no
// partial output.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli, lacks, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';

const work = tempDir();

const RECIPE_EXTRA = `
  - name: files
    sources:
      - kind: copy
        src: files/
        dest: /srv/
      - kind: users
        users: [{ name: ava, uid: 1000, home: /home/ava }]
`;

/** A clone of the example plus project files, written under `umask`, with mtimes set to `mtime`. */
function clone(dir: string, umask: string, mtime: number): string {
  helloCopy(dir, 'hello:latest');
  const r = spawnSync('sh', ['-c', `umask ${umask} && mkdir -p files/sub && echo data > files/sub/a.txt && printf '#!/bin/sh\\necho run\\n' > files/run && chmod u+x files/run && ln -sf sub/a.txt files/link`], { cwd: dir });
  expect(r.status).toBe(0);
  writeFileSync(path.join(dir, 'scratchyard.yaml'), readFileSync(path.join(dir, 'scratchyard.yaml'), 'utf8') + RECIPE_EXTRA);
  for (const f of ['files', 'files/sub', 'files/sub/a.txt', 'files/run', 'scratchyard.yaml']) utimesSync(path.join(dir, f), mtime, mtime);
  return dir;
}

function digestOf(dir: string, cache: string): string {
  const r = cli(['build', dir, '--cache', cache, '--json']);
  expect(r.stderr).not.toMatch(/Error/);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).manifestDigest;
}

describe('determinism', () => {
  it('two clones at different paths, umasks and mtimes give the same manifest digest', () => {
    const a = clone(path.join(work, 'a', 'deep', 'checkout'), '022', 1_000_000);
    const b = clone(path.join(work, 'elsewhere'), '077', 1_700_000_000);
    const da = digestOf(a, path.join(work, 'cache-a'));
    const db = digestOf(b, path.join(work, 'cache-b'));
    expect(da).toBe(db);
    // And the listing shows why: git-like modes, recipe ownership.
    const ls = cli(['ls', b, '--cache', path.join(work, 'cache-b')]).stdout;
    expect(ls).toMatch(/^\.\/srv\/run 0100755-0-0-/m);
    expect(ls).toMatch(/^\.\/srv\/sub\/a\.txt 0100644-0-0-/m);
    expect(ls).toMatch(/^\.\/home\/ava 0040755-1000-1000-0$/m);
  });

  it.skipIf(lacks('bwrap'))("a build step's new files have docker's umask (022), not the builder's", () => {
    const dir = path.join(work, 'step-umask');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'scratchyard.yaml'), 'name: stepumask\nlayers:\n  - name: base\n    sources:\n      - kind: busybox\n  - name: made\n    sources:\n      - kind: run\n        command: "mkdir /d && echo x > /d/x"\n');
    const digests = ['022', '077'].map((umask) => {
      const cache = path.join(work, `cache-step-${umask}`);
      const r = spawnSync('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, CLI, 'build', dir, '--cache', cache, '--out', path.join(work, `out-step-${umask}`), '--json', '--no-sbom'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const ls = cli(['ls', dir, '--cache', cache, '--layer', '2']).stdout;
      expect(ls).toMatch(/^\.\/d 0040755-0-0-0$/m);
      expect(ls).toMatch(/^\.\/d\/x 0100644-0-0-/m);
      return (JSON.parse(r.stdout) as { manifestDigest: string }).manifestDigest;
    });
    expect(digests[1]).toBe(digests[0]);
  });

  it('copying the project folder itself leaves out what builds write there (out/, the lock): every build the same', () => {
    const dir = path.join(work, 'copy-dot');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'app.txt'), 'hi\n');
    writeFileSync(path.join(dir, 'scratchyard.yaml'), 'name: copydot\nlayers:\n  - name: l\n    sources:\n      - kind: copy\n        src: .\n        dest: /app\n');
    const cache = path.join(work, 'cache-copy-dot');
    const digests = [1, 2, 3].map(() => digestOf(dir, cache));
    expect(new Set(digests).size).toBe(1);
    const paths = cli(['ls', dir, '--cache', cache]).stdout.split('\n').map((l) => l.split(' ')[0]);
    expect(paths).toContain('./app/app.txt');
    expect(paths).toContain('./app/scratchyard.yaml');
    expect(paths.filter((p) => p.startsWith('./app/out') || p === './app/scratchyard.lock')).toEqual([]);
  });

  it('a different epoch gives a different digest, the same epoch the same one', () => {
    const c = clone(path.join(work, 'epoch'), '022', 5);
    const before = digestOf(c, path.join(work, 'cache-c'));
    const text = readFileSync(path.join(c, 'scratchyard.yaml'), 'utf8');
    writeFileSync(path.join(c, 'scratchyard.yaml'), text.replace('epoch: 0', 'epoch: 1700000000'));
    expect(digestOf(c, path.join(work, 'cache-c'))).not.toBe(before);
  });
});

describe('killed builds', () => {
  it('a build killed midway leaves no partial output and a cache that rebuilds the same image', async () => {
    const dir = path.join(work, 'big');
    mkdirSync(path.join(dir, 'files'), { recursive: true });
    // Enough content that the build is still writing when it is killed.
    for (let i = 0; i < 40; i++) writeFileSync(path.join(dir, 'files', `blob${i}`), randomBytes(2 << 20));
    writeFileSync(
      path.join(dir, 'scratchyard.yaml'),
      'name: big\nlayers:\n  - name: data\n    sources:\n      - kind: copy\n        src: files/\n        dest: /data/\n  - name: more\n    sources:\n      - kind: file\n        path: /x\n        content: x\n',
    );
    const cache = path.join(work, 'cache-kill');
    for (const delay of [60, 250, 500]) {
      const child = spawn(process.execPath, [CLI, 'build', dir, '--cache', cache], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
      // Whatever was in out/ is whole: never a half-written archive under its real name.
      const names = (() => {
        try {
          return readdirSync(path.join(dir, 'out'));
        } catch {
          return [];
        }
      })();
      for (const n of names) expect(n.startsWith('big.') || n.startsWith('.')).toBe(true);
    }
    const rerun = digestOf(dir, cache);
    expect(readdirSync(path.join(dir, 'out')).sort()).toEqual(['big.cdx.json', 'big.docker.tar', 'big.oci', 'big.rootfs.tar', 'big.spdx.json']);
    expect(readdirSync(cache + '/blobs/sha256').some((n) => n.endsWith('.tmp'))).toBe(false);
    expect(rerun).toBe(digestOf(dir, path.join(work, 'cache-fresh')));
  });
});
