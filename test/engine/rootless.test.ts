// Scratchyard works as a normal user: build and chroot-run the example
// without root, and get the image digest root gets. As root, the test runs
// the CLI as a throwaway user (created when missing, as CI does).
import { chownSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, HELLO, cli, lacks, sh, tempDir } from '../helpers/env';
import { copyExample } from '../helpers/projects';

const USER = 'scratchyard-ci';
const isRoot = process.getuid?.() === 0;

function asUser(args: string[], home: string) {
  if (!isRoot) return cli(args, { env: { ...process.env, HOME: home } });
  return sh('runuser', ['-u', USER, '--', 'env', `HOME=${home}`, `PATH=${process.env.PATH}`, process.execPath, CLI, ...args]);
}

describe.skipIf(lacks('unshare'))('as a normal user', () => {
  // useradd also gives the user subordinate ids (/etc/subuid), which mmdebstrap's unshare mode needs.
  beforeAll(() => {
    if (isRoot && sh('id', ['-u', USER]).code !== 0) expect(sh('useradd', ['--create-home', USER]).code).toBe(0);
  });

  it('builds the example to the same digest as root and runs it in a chroot', () => {
    const work = tempDir('sy-rootless-');
    const home = path.join(work, 'home');
    const project = path.join(work, 'hello');
    mkdirSync(home);
    copyExample('hello', project);
    if (isRoot) {
      const uid = Number(sh('id', ['-u', USER]).stdout);
      const gid = Number(sh('id', ['-g', USER]).stdout);
      for (const p of [work, home, project, path.join(project, 'scratchyard.yaml')]) chownSync(p, uid, gid);
    }
    const mine = asUser(['build', project, '--json'], home);
    expect(mine.stderr).not.toMatch(/Error|EACCES|EPERM/);
    expect(mine.code).toBe(0);
    const rootDigest = JSON.parse(cli(['build', HELLO, '--json', '--cache', path.join(work, 'root-cache'), '--format', 'docker', '--out', path.join(work, 'root-out')]).stdout).manifestDigest;
    expect(JSON.parse(mine.stdout).manifestDigest).toBe(rootDigest);
    const run = asUser(['run', project], home);
    expect(run.stdout).toBe('Hello, world!\n');
    expect(run.code).toBe(0);
  });

  it.skipIf(lacks('mmdebstrap', 'newuidmap'))('builds the toolbox example: a Debian stage (mmdebstrap unshare mode) mounted into a build step', () => {
    const work = tempDir('sy-rootless-tb-');
    const home = path.join(work, 'home');
    const project = path.join(work, 'toolbox');
    mkdirSync(home);
    copyExample('toolbox', project);
    if (isRoot) {
      const uid = Number(sh('id', ['-u', USER]).stdout);
      const gid = Number(sh('id', ['-g', USER]).stdout);
      for (const p of [work, home, project, path.join(project, 'scratchyard.yaml')]) chownSync(p, uid, gid);
    }
    const run = asUser(['run', project], home);
    expect(run.stderr).toMatch(/mode: unshare|success/);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ name: 'toolbox', replicas: '3' });
  }, 600_000);
});
