// The rest of the command line: doctor, schema, usage errors, missing tools,
// users, hard links from the project.
import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli, lacks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = tempDir();
const cache = path.join(work, 'cache');

describe('doctor', () => {
  it('lists every native tool with its Debian package, and user namespaces', () => {
    const r = cli(['doctor', '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    const busybox = d.tools.find((t: { command: string }) => t.command === 'busybox');
    expect(busybox).toMatchObject({ debianPackage: 'busybox-static', path: '/bin/busybox' });
    expect(d.tools.find((t: { command: string }) => t.command === 'qemu-system-x86_64').debianPackage).toBe('qemu-system-x86');
    expect(d.userNamespaces.ok).toBe(true);
    expect(typeof d.kvm.present).toBe('boolean');
    const text = cli(['doctor']).stdout;
    expect(text).toMatch(/^unshare\s+found\s+unshare from util-linux/m);
    expect(text).toMatch(/^user namespaces: yes \(the sandbox works: \S*bwrap makes user, mount and PID namespaces\)/m);
  });

  // bubblewrap's --disable-userns blocks nested user namespaces the way a zero limit does.
  it.skipIf(lacks('bwrap'))('says which kernel setting blocks user namespaces', () => {
    const r = sh('bwrap', ['--dev-bind', '/', '/', '--unshare-user', '--disable-userns', '--', process.execPath, CLI, 'doctor', '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.userNamespaces.ok).toBe(false);
    expect(d.userNamespaces.detail).toMatch(/the sandbox \(bwrap\) could not create a user namespace: .*sysctl -w user\.max_user_namespaces=/);
  });
});

describe('schema and usage', () => {
  it('prints the recipe JSON Schema for editors', () => {
    const r = cli(['schema']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.required).toEqual(expect.arrayContaining(['name', 'layers']));
    expect(JSON.stringify(s.properties.layers)).toContain('tarball');
  });

  it('bad usage exits 2 with the usage text', () => {
    for (const args of [['frobnicate'], ['build', '--format', 'zip'], ['build', '--nope'], ['run', '.', '--runner', 'lxc']]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage: scratchyard');
    }
    // After a precise message, the command's own usage lines, not all forty.
    const r = cli(['build', '--format', 'zip']);
    expect(r.stderr).toMatch(/^scratchyard: unknown format "zip" .*\n\nusage: scratchyard build /);
    expect(r.stderr).not.toContain('scratchyard inspect');
  });
});

describe('missing native tools', () => {
  it('name the Debian package that provides them', () => {
    const d = writeProject(path.join(work, 'nobusybox'), 'name: nb\nlayers:\n  - name: a\n    sources:\n      - kind: busybox\n        path: /nonexistent/busybox\n');
    const r = cli(['build', d, '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('busybox not found: it is needed for the busybox source. Install it with: apt-get install busybox-static');
  });

  it.skipIf(lacks('xz'))('an .tar.xz import without xz on PATH says apt-get install xz-utils', () => {
    const d = writeProject(path.join(work, 'noxz'), 'name: nx\nlayers:\n  - name: a\n    sources:\n      - kind: tarball\n        src: root.tar.xz\n');
    writeFileSync(path.join(d, 'f'), 'x');
    expect(sh('sh', ['-c', `tar -C ${d} -cf - f | xz > ${d}/root.tar.xz`]).code).toBe(0);
    const r = cli(['build', d, '--cache', cache], { env: { ...process.env, PATH: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/xz not found: .*apt-get install xz-utils/);
    const ok = cli(['ls', d, '--cache', cache]);
    expect(ok.stdout).toMatch(/^\.\/f 0100644-0-0-/m);
  });
});

describe('sources', () => {
  it('users: passwd, group and shadow merged, a home owned by the user', () => {
    const d = writeProject(
      path.join(work, 'users'),
      `name: users
config: { cmd: ["/bin/sh", "-c", "cat /etc/passwd /etc/group; stat -c '%u:%g %a' /home/ava"] }
layers:
  - name: a
    sources:
      - kind: busybox
      - kind: users
        groups: [{ name: staff, gid: 50 }]
        users: [{ name: ava, uid: 1000, groups: [staff] }]
  - name: b
    sources:
      - kind: users
        users: [{ name: bo, uid: 1001, gid: 50, home: /srv/bo, shell: /bin/false }]
`,
    );
    const r = cli(['run', d, '--cache', cache]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'root:x:0:0:root:/root:/bin/sh',
        'ava:x:1000:1000::/home/ava:/bin/sh',
        'bo:x:1001:50::/srv/bo:/bin/false',
        'root:x:0:',
        'staff:x:50:ava',
        'ava:x:1000:',
        // As real root the recipe's owners are real in the chroot; in a user namespace only root is mapped.
        process.getuid?.() === 0 ? '1000:1000 755' : '0:0 755',
        '',
      ].join('\n'),
    );
    expect(cli(['ls', d, '--cache', cache]).stdout).toMatch(/^\.\/srv\/bo 0040755-1001-50-0$/m);
  });

  it('copy: hard links in the project stay hard links in the tars', () => {
    const d = path.join(work, 'links');
    mkdirSync(path.join(d, 'files'), { recursive: true });
    writeFileSync(path.join(d, 'files', 'a'), 'same inode');
    linkSync(path.join(d, 'files', 'a'), path.join(d, 'files', 'b'));
    writeProject(d, 'name: links\nlayers:\n  - name: a\n    sources:\n      - kind: copy\n        src: files\n        dest: /data\n');
    expect(cli(['build', d, '--cache', cache, '--format', 'rootfs']).code).toBe(0);
    const t = sh('tar', ['-tvf', path.join(d, 'out', 'links.rootfs.tar')]).stdout;
    expect(t).toMatch(/^-rw-r--r-- 0\/0 +10 .* data\/a$/m);
    expect(t).toMatch(/^hrw-r--r-- 0\/0 +0 .* data\/b link to data\/a$/m);
  });
});
