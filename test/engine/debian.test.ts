// The debian source with the real mmdebstrap and the host's apt mirror: the
// bundled example builds with the security archive's versions, its /init in
// a chroot counts the same packages as dpkg-query on the tree, package-shipped
// folders stay, download and install are cached apart; scratchyard.lock is
// the same bytes each build, one lock gives one digest from two caches, and
// build --locked installs exactly the locked versions or names what it cannot.
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, lacks, sh, tempDir } from '../helpers/env';
import { copyExample } from '../helpers/projects';

const work = tempDir('sy-debian-');
const cache = path.join(work, 'cache');
const project = path.join(work, 'debian');
const root = path.join(work, 'rootfs');
let firstLock: string;
let firstLog: string;
const lockFile = (dir: string) => path.join(dir, 'scratchyard.lock');
type Pkg = { name: string; version: string; arch: string; sha256: string };
const packagesOf = (lockText: string): Pkg[] => JSON.parse(lockText).sources[0].packages;
/** The installed packages of an extracted root, as dpkg-query lists them. */
const dpkgList = (dir: string) => sh('dpkg-query', [`--admindir=${dir}/var/lib/dpkg`, '-f', '${Package} ${Version} ${Architecture}\\n', '-W']).stdout.trim().split('\n').sort();

describe.skipIf(lacks('mmdebstrap', 'dpkg-query'))('debian source (mmdebstrap)', () => {
  beforeAll(() => {
    copyExample('debian', project);
    const r = cli(['build', project, '--cache', cache, '--json', '--format', 'rootfs']);
    expect(r.stderr).toMatch(/downloading and installing \(mmdebstrap/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    firstLog = r.stderr;
    firstLock = readFileSync(lockFile(project), 'utf8');
    mkdirSync(root);
    expect(sh('tar', ['-xf', path.join(project, 'out/debian.rootfs.tar'), '-C', root]).code).toBe(0);
  }, 900_000);

  it("installs the security archive's versions, the ones the host's apt would", () => {
    // The short log on screen, the full one in the cache.
    expect(firstLog.split('\n').length).toBeLessThan(60);
    expect(firstLog).toMatch(/mmdebstrap's full log: \S+\/logs\/debian-[0-9a-f]{16}\.log/);
    const names = dpkgList(root).map((l) => l.split(' ')[0]);
    const policy = sh('apt-cache', ['policy', ...names]).stdout;
    // "NAME:\n  Installed: …\n  Candidate: V\n  Version table:\n     V 500\n        500 URI SUITE/main …"
    const fromSecurity = [...policy.matchAll(/^(\S+):\n(?:  .*\n)*?  Candidate: (\S+)\n  Version table:\n(?:.*\n)*?[ *]{5}\2 \d+\n\s+\d+ \S+ (\S+)\//gm)].filter((m) => m[3].endsWith('-security'));
    expect(fromSecurity.length).toBeGreaterThan(0);
    const installed = new Map(dpkgList(root).map((l) => [l.split(' ')[0], l.split(' ')[1]]));
    for (const m of fromSecurity) expect(`${m[1]} ${installed.get(m[1])}`).toBe(`${m[1]} ${m[2]}`);
    expect(JSON.parse(firstLock).sources[0].archives.map((a: { suite: string }) => a.suite)).toEqual(['bookworm', 'bookworm-updates', 'bookworm-security']);
  });

  it('the lock lists what dpkg-query lists, with the .debs\' digests, in install order', () => {
    const pkgs = packagesOf(firstLock);
    expect(pkgs.map((p) => `${p.name} ${p.version} ${p.arch}`).sort()).toEqual(dpkgList(root));
    // Install order, not alphabetical: dpkg sets up the essential libraries first.
    expect(pkgs.map((p) => p.name)).not.toEqual(pkgs.map((p) => p.name).sort());
    for (const p of pkgs) expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps the folders packages ship under /var/log and apt\'s caches', () => {
    const info = path.join(root, 'var/lib/dpkg/info');
    const shipped = readdirSync(info).filter((f) => f.endsWith('.list')).flatMap((f) => readFileSync(path.join(info, f), 'utf8').split('\n')).filter((p) => /^\/var\/(log|cache\/apt)\/./.test(p));
    expect(shipped).toContain('/var/log/apt');
    const ls = cli(['ls', project, '--cache', cache]).stdout;
    for (const p of shipped) expect(ls).toMatch(new RegExp(`^\\.${p.replace(/[.+]/g, '\\$&')} 0`, 'm'));
  });

  it('runs /init in a chroot and counts what dpkg-query counts on the tree', () => {
    const run = cli(['run', project, '--cache', cache]);
    expect(run.code).toBe(0);
    const count = sh('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-f', '${Package}\\n', '-W']).stdout.trim().split('\n').length;
    expect(count).toBeGreaterThan(50);
    expect(run.stdout).toBe(`${count}\n`);
  });

  it('drops what varies by host and time', () => {
    const ls = cli(['ls', project, '--cache', cache]).stdout;
    expect(ls).not.toMatch(/^\.\/var\/log\/dpkg\.log /m);
    expect(ls).not.toMatch(/^\.\/var\/cache\/apt\/pkgcache\.bin /m);
    expect(ls).not.toMatch(/^\.\/etc\/resolv\.conf /m);
    expect(ls).not.toMatch(/^\.\/etc\/hostname /m);
    // minbase has no systemd; where a machine-id exists it is kept empty.
    expect(ls).not.toMatch(/^\.\/etc\/machine-id 0100\d+-\d+-\d+-(?!e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)/m);
  });

  it('an edit above the base re-runs neither download nor install', () => {
    const file = path.join(project, 'scratchyard.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace("wc -l", 'wc -l; echo edited'));
    const r = cli(['build', project, '--cache', cache, '--json', '--format', 'rootfs']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/mmdebstrap/);
    const j = JSON.parse(r.stdout);
    expect(j.layers.find((l: { name: string }) => l.name === 'debian').cached).toBe(true);
    // The lock is the same bytes, and --locked rebuilds the same image.
    expect(readFileSync(lockFile(project), 'utf8')).toBe(firstLock);
    const locked = cli(['build', project, '--cache', cache, '--json', '--format', 'rootfs', '--locked']);
    expect(locked.code, locked.stderr).toBe(0);
    expect(JSON.parse(locked.stdout).manifestDigest).toBe(j.manifestDigest);
  });

  it('a Release digest that moved while the packages did not is kept: --locked builds, a plain build leaves the lock alone', () => {
    // The mirror re-signs its Release files daily: the lock keeps the digests its packages were resolved against.
    const lock = JSON.parse(firstLock);
    const security = lock.sources[0].archives.find((x: { suite: string }) => x.suite.endsWith('-security'));
    expect(security.release).toMatch(/^[0-9a-f]{64}$/);
    const edited = firstLock.replace(security.release, 'b'.repeat(64));
    writeFileSync(lockFile(project), edited);
    try {
      // Every package matches: the locked build succeeds (the packages decide, not the archive's index).
      const locked = cli(['build', project, '--cache', cache, '--format', 'rootfs', '--locked']);
      expect(locked.code, locked.stderr).toBe(0);
      expect(readFileSync(lockFile(project), 'utf8')).toBe(edited);
      const plain = cli(['build', project, '--cache', cache, '--format', 'rootfs']);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stderr).not.toContain('since the lock');
      expect(readFileSync(lockFile(project), 'utf8')).toBe(edited);
    } finally {
      writeFileSync(lockFile(project), firstLock);
    }
  });

  it('--locked after a lock edited to a version neither the pool nor the archives have fails naming it', () => {
    const perl = packagesOf(firstLock).find((p) => p.name === 'perl-base')!;
    writeFileSync(lockFile(project), firstLock.replace(`"name": "perl-base", "version": "${perl.version}"`, `"name": "perl-base", "version": "${perl.version}9"`));
    try {
      const r = cli(['build', project, '--cache', cache, '--format', 'rootfs', '--locked']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`perl-base=${perl.version.replace(/[.+]/g, '\\$&')}9 \\(amd64\\): not in the cache's \\.deb pool, nor in the archives \\(http`));
      expect(r.stderr).not.toMatch(/^\s+at /m);
    } finally {
      writeFileSync(lockFile(project), firstLock);
    }
  });

  it("--locked fetches an older locked version the pool lacks from the suite's main archive, checked against the lock", (t) => {
    // perl's -security version superseded the main suite's, which the main archive still serves.
    // perl, perl-base, libperl and perl-modules depend on each other's exact version: the four go together.
    const locked = packagesOf(firstLock);
    const base = locked.find((p) => p.name === 'perl-base')!;
    const older = /^\s*perl-base \| (\S+) \| \S+ bookworm\/main amd64 Packages$/m.exec(sh('apt-cache', ['madison', 'perl-base']).stdout)?.[1];
    if (!older || older === base.version) return t.skip();
    const group = locked.filter((p) => p.version === base.version && /perl/.test(p.name));
    let edited = firstLock;
    for (const p of group) {
      const sha256 = /^SHA256: ([0-9a-f]{64})$/m.exec(sh('apt-cache', ['show', `${p.name}=${older}`]).stdout)![1];
      edited = edited.replace(`"name": "${p.name}", "version": "${p.version}", "arch": "${p.arch}", "sha256": "${p.sha256}"`, `"name": "${p.name}", "version": "${older}", "arch": "${p.arch}", "sha256": "${sha256}"`);
    }
    expect(edited).not.toBe(firstLock);
    writeFileSync(lockFile(project), edited);
    try {
      const r = cli(['build', project, '--cache', cache, '--format', 'rootfs', '--locked']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`${group.length} locked package(s) not in the cache's pool: asking the archives for exactly those versions`);
      expect(r.stderr).toContain(`fetched ${group.length} locked .deb(s) from `);
      const olderRoot = path.join(work, 'older-perl-root');
      mkdirSync(olderRoot);
      expect(sh('tar', ['-xf', path.join(project, 'out/debian.rootfs.tar'), '-C', olderRoot]).code).toBe(0);
      expect(dpkgList(olderRoot)).toEqual(packagesOf(edited).map((p) => `${p.name} ${p.version} ${p.arch}`).sort());
      expect(readFileSync(lockFile(project), 'utf8')).toBe(edited);
    } finally {
      writeFileSync(lockFile(project), firstLock);
    }
  }, 900_000);

  it('two caches, one lock: one digest, the same lock bytes', () => {
    // Another clone of the project with its lock, another cache: the mirror still serves the locked packages.
    const clone = path.join(work, 'clone');
    cpSync(project, clone, { recursive: true, filter: (src) => !src.endsWith(`${path.sep}out`) });
    const again = cli(['build', clone, '--cache', path.join(work, 'cache2'), '--json', '--format', 'rootfs', '--locked']);
    expect(again.code, again.stderr).toBe(0);
    const here = cli(['build', project, '--cache', cache, '--json', '--format', 'rootfs']);
    expect(JSON.parse(again.stdout).manifestDigest).toBe(JSON.parse(here.stdout).manifestDigest);
    expect(cli(['build', clone, '--cache', path.join(work, 'cache2'), '--format', 'rootfs']).code).toBe(0);
    expect(readFileSync(lockFile(clone), 'utf8')).toBe(firstLock);
  }, 900_000);

  it('--locked installs exactly the locked versions from the pool: a lock of the main archive alone', () => {
    // The same base from the suite's archive alone (no security updates) fills the pool with older versions...
    const [main] = JSON.parse(firstLock).sources[0].archives as { uri: string }[];
    const older = path.join(work, 'older');
    cpSync(project, older, { recursive: true, filter: (src) => !src.endsWith(`${path.sep}out`) && !src.endsWith('scratchyard.lock') });
    const file = path.join(older, 'scratchyard.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('variant: minbase', `variant: minbase\n        mirror: [${main.uri}]`));
    expect(cli(['build', older, '--cache', cache, '--format', 'rootfs']).code).toBe(0);
    const olderLock = readFileSync(lockFile(older), 'utf8');
    const downgraded = packagesOf(olderLock).filter((p) => packagesOf(firstLock).find((q) => q.name === p.name)?.version !== p.version);
    expect(downgraded.map((p) => p.name)).toContain('perl-base');
    // ...and the security recipe, locked to that lock, installs them from the pool.
    const pinned = path.join(work, 'pinned');
    cpSync(project, pinned, { recursive: true, filter: (src) => !src.endsWith(`${path.sep}out`) });
    writeFileSync(lockFile(pinned), olderLock);
    const r = cli(['build', pinned, '--cache', cache, '--format', 'rootfs', '--locked']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/installing the \d+ locked packages from the cache's pool/);
    const pinnedRoot = path.join(work, 'pinned-root');
    mkdirSync(pinnedRoot);
    expect(sh('tar', ['-xf', path.join(pinned, 'out/debian.rootfs.tar'), '-C', pinnedRoot]).code).toBe(0);
    expect(dpkgList(pinnedRoot)).toEqual(packagesOf(olderLock).map((p) => `${p.name} ${p.version} ${p.arch}`).sort());
    expect(readFileSync(lockFile(pinned), 'utf8')).toBe(olderLock);
  }, 900_000);

  it('changing include (and exclude) re-runs the install from the cached download', () => {
    const file = path.join(project, 'scratchyard.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('variant: minbase', 'variant: minbase\n        include: [hello]\n        exclude: [debian-archive-keyring]'));
    const r = cli(['build', project, '--cache', cache, '--format', 'rootfs', '--json']);
    expect(r.code).toBe(0);
    // The drift against the lock, package by package.
    expect(r.stderr).toMatch(/^ {2}layers\[0\]\.sources\[0\]: \+ hello:amd64 \S+$/m);
    expect(r.stderr).toMatch(/^ {2}layers\[0\]\.sources\[0\]: - debian-archive-keyring:all \S+$/m);
    // A new package set is a new install, fed from the pooled download: apt fetches only "hello".
    expect(r.stderr).toMatch(/installing from the cached download \(\d+ packages/);
    const ls = cli(['ls', project, '--cache', cache]).stdout;
    expect(ls).toMatch(/^\.\/usr\/bin\/hello 0100755-0-0-/m);
    // mmdebstrap has no --exclude: the package is purged after the install.
    expect(ls).not.toMatch(/debian-archive-keyring\.gpg /);
    // The lock keeps the purged package apart (apt needs its .deb to resolve), so a locked install from
    // another cache (which lacks "hello": fetched) resolves, purges it again and makes the same image.
    const lock = JSON.parse(readFileSync(lockFile(project), 'utf8')).sources[0];
    expect(lock.purged.map((p: Pkg) => p.name)).toEqual(['debian-archive-keyring']);
    expect(lock.packages.map((p: Pkg) => p.name)).not.toContain('debian-archive-keyring');
    const locked = cli(['build', project, '--cache', path.join(work, 'cache2'), '--format', 'rootfs', '--locked', '--json', '--out', path.join(work, 'out-excluded')]);
    expect(locked.code, locked.stderr).toBe(0);
    expect(JSON.parse(locked.stdout).manifestDigest).toBe(JSON.parse(r.stdout).manifestDigest);
  }, 900_000);

  it.skipIf(lacks('qemu-system-x86_64'))('the chroot, a VM booting its initrd and docker count the same packages', () => {
    const r = cli(['run', project, '--runner', 'all', '--json', '--cache', cache]);
    const rows = JSON.parse(r.stdout) as { runner: string; code?: number; stdout?: string; skipped?: boolean; matches: boolean }[];
    const vm = rows.find((x) => x.runner === 'vm')!;
    expect(vm).toMatchObject({ code: 0, matches: true });
    expect(vm.stdout).toMatch(/^\d+\n/);
    for (const row of rows.filter((x) => !x.skipped)) expect(row, row.runner).toMatchObject({ code: 0, stdout: vm.stdout, matches: true });
    expect(r.code).toBe(0);
  }, 600_000);
});
