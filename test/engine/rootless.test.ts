// Scratchyard works as a normal user: build and chroot-run the example
// without root, and get the image digest root gets. As root, the test runs
// the CLI as a throwaway user (created when missing, as CI does), from a
// world-readable copy of the bundle and in its own folder: the checkout may
// sit where that user cannot read (CI clones into a mkdir -m 700 folder).
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HELLO, cli, lacks, sh, tempDir } from '../helpers/env';
import { asNormalUser, ensureNormalUser, portableCli } from '../helpers/portable';
import { copyExample, writeProject } from '../helpers/projects';

/** The Debian tool's whole output: the build shows a summary and names the file that holds the rest. */
function toolLog(stderr: string): string {
  const file = /full log: (\S+\.log)/.exec(stderr)?.[1];
  expect(file, stderr).toBeDefined();
  return readFileSync(file!, 'utf8');
}

const isRoot = process.getuid?.() === 0;
const userCli = isRoot ? portableCli().cli : '';

/** The CLI as the normal user, started beside `home` (never in the checkout). */
function asUser(args: string[], home: string) {
  if (!isRoot) return cli(args, { env: { ...process.env, HOME: home } });
  const [runuser, ...rest] = asNormalUser(home);
  return sh(runuser, [...rest, process.execPath, userCli, ...args], { cwd: path.dirname(home) });
}

describe.skipIf(lacks('unshare'))('as a normal user', () => {
  // useradd also gives the user subordinate ids (/etc/subuid), which mmdebstrap's unshare mode needs.
  beforeAll(() => {
    if (isRoot) ensureNormalUser();
  });

  it('builds the example to the same digest as root and runs it in a chroot', () => {
    const work = tempDir('sy-rootless-');
    const home = path.join(work, 'home');
    const project = path.join(work, 'hello');
    mkdirSync(home);
    copyExample('hello', project);
    if (isRoot) {
      const { uid, gid } = ensureNormalUser();
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
      const { uid, gid } = ensureNormalUser();
      for (const p of [work, home, project, path.join(project, 'scratchyard.yaml')]) chownSync(p, uid, gid);
    }
    const run = asUser(['run', project], home);
    expect(toolLog(run.stderr)).toMatch(/mode: unshare|success/);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ name: 'toolbox', replicas: '3' });
  }, 600_000);

  // A normal user goes the seed cookbook's way: debootstrap's first stage under fakeroot, the
  // second in a user-namespace chroot under the same fakeroot state, owners from that state.
  // Real root (CI) runs debootstrap plainly. Both give the same owners and package count.
  it.skipIf(lacks('debootstrap', 'fakeroot', 'dpkg-query')).each([
    ['a normal user, under fakeroot', true],
    ['the current user (real root in CI)', false],
  ])('builds a Debian base with debootstrap as %s, with exclude', (_who, normal) => {
    const as = (args: string[], home: string) => (normal ? asUser(args, home) : cli(args, { env: { ...process.env, HOME: home } }));
    const work = tempDir('sy-rootless-dbs-');
    const home = path.join(work, 'home');
    const project = path.join(work, 'debian');
    mkdirSync(home);
    copyExample('debian', project);
    const file = path.join(project, 'scratchyard.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('variant: minbase', 'variant: minbase\n        tool: debootstrap\n        exclude: [debian-archive-keyring]'));
    if (isRoot && normal) {
      const { uid, gid } = ensureNormalUser();
      for (const p of [work, home, project, file]) chownSync(p, uid, gid);
    }
    const built = as(['build', project, '--json', '--format', 'rootfs', '--out', path.join(work, 'out')], home);
    expect(built.stderr).toMatch(/downloading and installing \(debootstrap/);
    expect(toolLog(built.stderr)).toMatch(/I: Configuring dpkg/);
    expect(built.code).toBe(0);
    const root = path.join(work, 'rootfs');
    mkdirSync(root);
    expect(sh('tar', ['-xf', path.join(work, 'out/debian.rootfs.tar'), '-C', root]).code).toBe(0);
    const packages = sh('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-f', '${Package}\\n', '-W']).stdout.trim().split('\n');
    expect(packages).toContain('dpkg');
    expect(packages).not.toContain('debian-archive-keyring');
    // Owners other than root survive without real root: /var/mail is root:mail, setgid.
    const ls = as(['ls', project], home).stdout;
    expect(ls).toMatch(/^\.\/var\/mail 0042775-0-8-0$/m);
    expect(ls).toMatch(/^\.\/etc\/shadow 0100640-0-42-/m);
    // fakeroot's library, placed in the target for the second stage, is not in the image.
    expect(ls).not.toMatch(/libfakeroot/);
    expect(ls).not.toMatch(/^\.\/debootstrap/m);
    const run = as(['run', project], home);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${packages.length}\n`);
    if (normal) return;
    // The lock from another cache: the locked .debs are fetched and debootstrap installs them from a
    // local repository, yet dpkg's status and available come out as the unlocked build's: one image.
    const locked = as(['build', project, '--locked', '--json', '--cache', path.join(work, 'cache2'), '--format', 'rootfs', '--out', path.join(work, 'out2')], home);
    expect(locked.code, locked.stderr).toBe(0);
    expect(locked.stderr).toMatch(/installing the \d+ locked packages from the cache's pool \(debootstrap/);
    expect(JSON.parse(locked.stdout).manifestDigest).toBe(JSON.parse(built.stdout).manifestDigest);
  }, 900_000);

  // With /etc/subuid ranges (useradd wrote them), a step sees the recipe's owners and may chown.
  it.skipIf(lacks('newuidmap'))('runs a build step with subordinate ids: recipe owners inside, chown to any id', () => {
    const work = tempDir('sy-rootless-ids-');
    const home = path.join(work, 'home');
    mkdirSync(home);
    const project = writeProject(
      path.join(work, 'ids'),
      `name: ids
config: { cmd: ["/bin/cat", "/seen"] }
layers:
  - name: base
    sources:
      - kind: busybox
      - kind: dir
        path: /home/ava
        owner: "1000:1000"
  - name: step
    sources:
      - kind: run
        command: "stat -c %u:%g /home/ava > /seen && mkdir /srv && chown 42:43 /srv && touch /srv/f && chown 7:8 /srv/f && chmod 4755 /srv/f"
`,
    );
    if (isRoot) {
      const { uid, gid } = ensureNormalUser();
      for (const p of [work, home, project, path.join(project, 'scratchyard.yaml')]) chownSync(p, uid, gid);
    }
    const ls = asUser(['ls', project, '--layer', 'step'], home);
    expect(ls.stderr).not.toMatch(/Operation not permitted|Invalid argument/);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^\.\/srv 0040755-42-43-0$/m);
    expect(ls.stdout).toMatch(/^\.\/srv\/f 0104755-7-8-/m);
    expect(ls.stdout).toMatch(/^\.\/seen 0100644-0-0-/m);
    expect(asUser(['run', project], home).stdout).toBe('1000:1000\n');
  });
});
