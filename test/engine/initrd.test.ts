// `build --format initrd`: a newc cpio that GNU cpio lists and extracts, with
// the recipe's owners and modes, the VM wrapper, byte-identical from two caches.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, lacks, sh, tempDir } from '../helpers/env';
import { copyExample, writeProject } from '../helpers/projects';

const work = tempDir();

const OWNED = `name: owned
epoch: 1700000000
config:
  entrypoint: ["/init"]
layers:
  - name: app
    sources:
      - kind: busybox
        links: false
      - kind: users
        users: [{ name: ava, uid: 1000, gid: 1000, home: /home/ava, shell: /bin/busybox }]
      - kind: file
        path: /init
        mode: "0750"
        owner: "1000:1000"
        content: "#!/bin/busybox sh\\necho hi\\n"
`;

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe.skipIf(lacks('cpio', '/bin/busybox'))('initrd format', () => {
  const project = writeProject(path.join(work, 'owned'), OWNED);
  let gz: string;
  beforeAll(() => {
    const r = cli(['build', project, '--format', 'initrd', '--cache', path.join(work, 'c1'), '--out', path.join(work, 'o1'), '--json']);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    gz = JSON.parse(r.stdout).outputs.initrd;
  });

  it('is NAME.initrd.cpio.gz, a gzip newc archive cpio -t lists with the wrapper and its busybox', () => {
    expect(gz).toBe(path.join(work, 'o1', 'owned.initrd.cpio.gz'));
    const raw = gunzipSync(readFileSync(gz));
    expect(raw.subarray(0, 6).toString()).toBe('070701');
    const r = sh('cpio', ['-t', '--quiet'], { input: raw });
    expect(r.code).toBe(0);
    const names = r.stdout.trim().split('\n');
    expect(names).toEqual(expect.arrayContaining(['.', 'init', 'bin/busybox', 'etc/passwd', 'home/ava', '.scratchyard/rdinit', '.scratchyard/busybox', '.scratchyard/spec']));
  });

  it('keeps the recipe owners and modes and the epoch, with numbered inodes', () => {
    const r = sh('cpio', ['-tv', '--quiet', '--numeric-uid-gid'], { input: gunzipSync(readFileSync(gz)) });
    const init = r.stdout.split('\n').find((l) => / init$/.test(l))!;
    expect(init).toMatch(/^-rwxr-x---\s+1\s+1000\s+1000\s+/);
    expect(init).toContain('2023'); // epoch 1700000000 = Nov 14 2023
    const home = r.stdout.split('\n').find((l) => / home\/ava$/.test(l))!;
    expect(home).toMatch(/^d\S+\s+\d+\s+1000\s+1000\s/);
    // The wrapper's busybox is a hard link of the image's own (stored once; data on the last link).
    expect(r.stdout).toMatch(/^-rwxr-xr-x\s+2\s+0\s+0\s+0 .* \.scratchyard\/busybox$/m);
    expect(r.stdout).toMatch(/^-rwxr-xr-x\s+2\s+0\s+0\s+[1-9]\d+ .* bin\/busybox$/m);
  });

  it('cpio -i extracts it: the files are the image files', () => {
    const dest = path.join(work, 'x');
    const r = sh('sh', ['-c', `mkdir -p ${dest} && cd ${dest} && gzip -dc ${gz} | cpio -id --quiet`]);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dest, 'init'), 'utf8')).toBe('#!/bin/busybox sh\necho hi\n');
    expect(sha(path.join(dest, 'bin/busybox'))).toBe(sha('/bin/busybox'));
    expect(sha(path.join(dest, '.scratchyard/busybox'))).toBe(sha('/bin/busybox'));
    expect(readFileSync(path.join(dest, '.scratchyard/spec'), 'utf8')).toContain("set -- 'HOME=/root'");
    expect(statSync(path.join(dest, '.scratchyard/rdinit')).mode & 0o777).toBe(0o755);
  });

  it('is byte-identical from an empty cache in another folder, and plain with --no-gzip', () => {
    const other = copyExample('hello', path.join(work, 'hello-a'));
    const again = writeProject(path.join(work, 'owned-again'), OWNED);
    const r = cli(['build', again, '--format', 'initrd', '--cache', path.join(work, 'c2'), '--json']);
    expect(r.code).toBe(0);
    expect(sha(JSON.parse(r.stdout).outputs.initrd)).toBe(sha(gz));
    const plain = cli(['build', other, '--format', 'initrd', '--no-gzip', '--cache', path.join(work, 'c2'), '--json']);
    expect(plain.code).toBe(0);
    const file = JSON.parse(plain.stdout).outputs.initrd;
    expect(file).toBe(path.join(other, 'out', 'hello.initrd.cpio'));
    const listed = sh('cpio', ['-t', '--quiet', '-F', file]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('lib/x86_64-linux-gnu/libc.so.6\n');
  });

  it('an image that uses /.scratchyard is refused with the path named', () => {
    const p = writeProject(path.join(work, 'clash'), 'name: clash\nlayers:\n  - name: a\n    sources:\n      - kind: dir\n        path: /.scratchyard/x\n');
    const r = cli(['build', p, '--format', 'initrd', '--cache', path.join(work, 'c1')]);
    expect(r.code).toBe(2);
    // Located at the field, FILE:LINE:COLUMN, as a schema error is.
    expect(r.stderr).toContain(`${path.join(p, 'scratchyard.yaml')}:3:3: layers: the image has /.scratchyard, but /.scratchyard is where the initrd keeps its VM wrapper\n`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
