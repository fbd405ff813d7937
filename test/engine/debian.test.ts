// The debian source with the real mmdebstrap and the host's apt mirror: the
// bundled example builds, its /init in a chroot counts the same packages as
// dpkg-query on the tree, download and install are cached apart, and two
// builds from empty caches give one digest.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, cli, lacks, sh, tempDir } from '../helpers/env';
import { copyExample } from '../helpers/projects';

const EXAMPLE = path.join(REPO, 'assets/examples/debian');
const work = tempDir('sy-debian-');
const cache = path.join(work, 'cache');
const project = path.join(work, 'debian');
let first: { manifestDigest: string; layers: { name: string; cached: boolean }[] };

describe.skipIf(lacks('mmdebstrap', 'dpkg-query'))('debian source (mmdebstrap)', () => {
  beforeAll(() => {
    copyExample('debian', project);
    const r = cli(['build', project, '--cache', cache, '--json', '--format', 'rootfs']);
    expect(r.stderr).toMatch(/downloading and installing \(mmdebstrap/);
    expect(r.code).toBe(0);
    first = JSON.parse(r.stdout);
  }, 600_000);

  it('runs /init in a chroot and counts what dpkg-query counts on the tree', () => {
    const run = cli(['run', project, '--cache', cache]);
    expect(run.code).toBe(0);
    const root = path.join(work, 'rootfs');
    mkdirSync(root);
    expect(sh('tar', ['-xf', path.join(project, 'out/debian.rootfs.tar'), '-C', root]).code).toBe(0);
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
  });

  it('changing include (and exclude) re-runs the install from the cached download', () => {
    const file = path.join(project, 'scratchyard.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('variant: minbase', 'variant: minbase\n        include: [hello]\n        exclude: [debian-archive-keyring]'));
    const r = cli(['build', project, '--cache', cache, '--format', 'rootfs']);
    expect(r.code).toBe(0);
    // A new package set is a new install, fed from the pooled download: apt fetches only "hello".
    expect(r.stderr).toMatch(/installing from the cached download \(\d+ packages/);
    const ls = cli(['ls', project, '--cache', cache]).stdout;
    expect(ls).toMatch(/^\.\/usr\/bin\/hello 0100755-0-0-/m);
    // mmdebstrap has no --exclude: the package is purged after the install.
    expect(ls).not.toMatch(/debian-archive-keyring\.gpg /);
  });

  it('builds to the same digest from an empty cache', () => {
    const again = cli(['build', EXAMPLE, '--cache', path.join(work, 'cache2'), '--json', '--format', 'rootfs', '--out', path.join(work, 'out2')]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).manifestDigest).toBe(first.manifestDigest);
  }, 600_000);

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
