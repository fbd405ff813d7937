// Faults of the disk are errors, not crashes: a full, read-only or foreign
// output or cache folder ends the build with exit 1 and a message naming the
// folder and the cause, no stack trace, and nothing half-written left behind
// (no temporaries, no partial outputs). Real small tmpfs mounts as root; a
// throwaway user for EACCES.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh, tempDir } from '../helpers/env';
import { portableCli } from '../helpers/portable';
import { boundedCli, expectRefused } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';

const isRoot = process.getuid?.() === 0;
const USER = 'scratchyard-ci';

// Other suites on this machine leave /tmp/scratchyard-* too: this file watches a TMPDIR of its own.
const privateTmp = mkdtempSync(path.join(os.tmpdir(), 'sy-faults-tmp-'));
chmodSync(privateTmp, 0o755);
process.env.TMPDIR = privateTmp;

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts.reverse()) sh('umount', ['-l', m]);
  rmSync(privateTmp, { recursive: true, force: true });
});

function mountTmpfs(dir: string, size: string): string {
  mkdirSync(dir, { recursive: true });
  const r = sh('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  expect(r.code, r.stderr).toBe(0);
  mounts.push(dir);
  return dir;
}

function readOnly(dir: string): void {
  const r = sh('mount', ['-o', 'remount,ro', dir]);
  expect(r.code, r.stderr).toBe(0);
}

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const temps = (dir: string) => files(dir).filter((f) => /\.tmp$/.test(f) || /\.scratchyard-\d+-/.test(f));

/** A project whose every output is over 3 MB (a random file no compression shrinks). */
function bigProject(dir: string): string {
  writeProject(dir, 'name: big\nepoch: 0\nlayers:\n  - name: data\n    sources:\n      - kind: copy\n        src: files\n        dest: /data\n      - kind: file\n        path: /etc/motd\n        content: "hi\\n"\n');
  mkdirSync(path.join(dir, 'files'), { recursive: true });
  writeFileSync(path.join(dir, 'files', 'random.bin'), randomBytes(3 << 20));
  return dir;
}

describe.skipIf(!isRoot)('a full or read-only folder, as root', () => {
  let work: string;
  let proj: string;
  let warm: string;
  beforeAll(() => {
    work = tempDir('sy-faults-');
    proj = bigProject(path.join(work, 'proj'));
    warm = path.join(work, 'warm-cache');
    const r = boundedCli(['build', proj, '--cache', warm, '--out', path.join(work, 'warm-out')]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a full output folder: exit 1, the folder and ENOSPC named, no temporaries, no partial outputs', () => {
    const out = mountTmpfs(path.join(work, 'full-out'), '2m');
    const r = boundedCli(['build', proj, '--cache', warm, '--out', out]);
    expectRefused(r, 1, `the output folder ${out} is full (ENOSPC)`);
    expect(r.stderr).not.toMatch(/unhandled|Unhandled/);
    expect(files(out)).toEqual([]);
  });

  it('a cache folder filled to ENOSPC: exit 1, the cache named (not the recipe, not exit 2), no temporaries', () => {
    const cache = mountTmpfs(path.join(work, 'full-cache'), '4m');
    // Leave about a megabyte: the build starts writing the 3 MB file's blob and runs out mid-way.
    sh('dd', ['if=/dev/zero', `of=${path.join(cache, 'filler')}`, 'bs=1M', 'count=3']);
    const out = path.join(work, 'out-of-full-cache');
    const r = boundedCli(['build', proj, '--cache', cache, '--out', out]);
    expectRefused(r, 1, `the cache folder ${cache} is full (ENOSPC)`);
    expect(r.stderr).not.toMatch(/scratchyard\.yaml/);
    expect(temps(cache)).toEqual([]);
    expect(existsSync(out) ? files(out) : []).toEqual([]);
    // What the cache kept is whole.
    expect(boundedCli(['cache', 'verify', '--cache', cache]).code).toBe(0);
  });

  it('a big tarball into a full cache or output: the named fault, no temporaries, whatever write ran out', () => {
    // 20 MB of random bytes: the tarball's pack runs out of the cache, the docker archive out of the output, mid-way.
    const proj2 = path.join(work, 'bigtar');
    writeProject(proj2, 'name: bigtar\nepoch: 0\nlayers:\n  - name: data\n    sources:\n      - kind: tarball\n        src: data.tar\n');
    const tree = path.join(work, 'bigtar-tree');
    mkdirSync(tree, { recursive: true });
    writeFileSync(path.join(tree, 'random.bin'), randomBytes(20 << 20));
    sh('tar', ['-cf', path.join(proj2, 'data.tar'), '-C', tree, '.']);
    const cache = mountTmpfs(path.join(work, 'full-cache-big'), '8m');
    const r = boundedCli(['build', proj2, '--cache', cache, '--out', path.join(work, 'out-big')]);
    expectRefused(r, 1, `the cache folder ${cache} is full (ENOSPC)`);
    expect(temps(cache)).toEqual([]);
    expect(boundedCli(['cache', 'verify', '--cache', cache]).code).toBe(0);

    const out = mountTmpfs(path.join(work, 'full-out-big'), '12m');
    const r2 = boundedCli(['build', proj2, '--cache', path.join(work, 'cache-big'), '--out', out, '--format', 'docker']);
    expectRefused(r2, 1, `the output folder ${out} is full (ENOSPC)`);
    expect(files(out)).toEqual([]);
  });

  it('a read-only output folder: exit 1 with EROFS and the folder', () => {
    const out = mountTmpfs(path.join(work, 'ro-out'), '16m');
    readOnly(out);
    const r = boundedCli(['build', proj, '--cache', warm, '--out', out]);
    expectRefused(r, 1, `the output folder ${out} is on a read-only filesystem (EROFS)`);
    expect(files(out)).toEqual([]);
  });

  it('a read-only cache folder: exit 1 with EROFS and the folder', () => {
    const cache = mountTmpfs(path.join(work, 'ro-cache'), '16m');
    cpSync(warm, cache, { recursive: true });
    readOnly(cache);
    const before = files(cache);
    const r = boundedCli(['build', proj, '--cache', cache, '--out', path.join(work, 'out-of-ro-cache')]);
    expectRefused(r, 1, `the cache folder ${cache} is on a read-only filesystem (EROFS)`);
    expect(files(cache)).toEqual(before);
  });
});

describe.skipIf(!isRoot)('a folder this user may not write (EACCES), as a normal user', () => {
  let work: string;
  let proj: string;
  // A readable copy of the bundle: the checkout may be a folder only root can enter.
  let userCli: string;
  const asUser = (args: string[]) => sh('runuser', ['-u', USER, '--', 'env', `HOME=${path.join(work, 'home')}`, `TMPDIR=${path.join(work, 'home')}`, `PATH=${process.env.PATH}`, process.execPath, userCli, ...args]);
  beforeAll(() => {
    userCli = portableCli().cli;
    if (sh('id', ['-u', USER]).code !== 0) expect(sh('useradd', ['--create-home', USER]).code).toBe(0);
    work = tempDir('sy-eacces-');
    chmodSync(work, 0o755);
    proj = bigProject(path.join(work, 'proj'));
    mkdirSync(path.join(work, 'home'));
    chownSync(path.join(work, 'home'), Number(sh('id', ['-u', USER]).stdout), Number(sh('id', ['-g', USER]).stdout));
  });

  it('an output folder owned by root: exit 1, the folder named, nothing written', () => {
    const out = path.join(work, 'root-out');
    mkdirSync(out, { mode: 0o755 });
    const r = asUser(['build', proj, '--cache', path.join(work, 'home', 'cache'), '--out', out]);
    expect(r.stderr).toContain(`the output folder ${out} is not writable by this user (EACCES)`);
    expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(r.code).toBe(1);
    expect(files(out)).toEqual([]);
  });

  it('a cache folder owned by root: exit 1, the cache named', () => {
    const cache = path.join(work, 'root-cache');
    mkdirSync(cache, { mode: 0o755 });
    const r = asUser(['build', proj, '--cache', cache, '--out', path.join(work, 'home', 'out')]);
    expect(r.stderr).toContain(`the cache folder ${cache} is not writable by this user (EACCES)`);
    expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(r.code).toBe(1);
    expect(files(cache)).toEqual([]);
  });
});
