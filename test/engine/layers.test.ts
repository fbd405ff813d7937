// Layers as diffs: whiteouts and opaque folders as docker applies them, long
// and non-ASCII names through PAX, gzip layers, diffbase.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, cli, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = tempDir();
const cache = path.join(work, 'cache');
const tag = `scratchyard-test/whiteouts:${process.pid}`;
const longName = `/srv/${'deep/'.repeat(25)}naïve-ファイル.txt`;

const recipe = `name: whiteouts
tag: ${tag}
config:
  entrypoint: ["/bin/sh", "-c"]
  cmd: ["ls -A /data /cache; test -e /bin/bash && echo bash-present || echo bash-gone"]
layers:
  - name: base
    sources:
      - kind: busybox
      - kind: host
        paths: [/bin/bash]
      - kind: file
        path: /data/keep
        content: keep
      - kind: file
        path: /data/old/a
        content: a
      - kind: file
        path: /data/old/b
        content: b
      - kind: file
        path: /cache/x
        content: x
      - kind: file
        path: /cache/y
        content: y
      - kind: file
        path: "${longName}"
        content: long
  - name: trim
    sources:
      - kind: remove
        paths: [/data/old, /bin/bash, /cache/x, /cache/y]
      - kind: file
        path: /cache/z
        content: z
`;

let project: string;
beforeAll(() => {
  project = writeProject(path.join(work, 'p'), recipe);
});

describe('layer contents', () => {
  it('the upper layer holds whiteouts for removed paths and an opaque marker for an emptied folder', () => {
    const r = cli(['ls', project, '--cache', cache, '--layer', 'trim']);
    expect(r.code).toBe(0);
    const names = r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
    expect(names).toEqual(['./bin', './bin/.wh.bash', './cache', './cache/.wh..wh..opq', './cache/z', './data', './data/.wh.old']);
  });

  it('long and non-ASCII names survive the tar round trip (GNU tar reads our PAX records)', () => {
    const b = cli(['build', project, '--cache', cache, '--format', 'rootfs']);
    expect(b.code).toBe(0);
    const t = sh('tar', ['-tf', path.join(project, 'out', 'whiteouts.rootfs.tar')]);
    expect(t.stderr).toBe('');
    expect(t.stdout.split('\n')).toContain(longName.slice(1));
    expect(t.stdout).not.toMatch(/PaxHeaders/);
  });

  it('gzip layers are smaller, still valid, and do not change the diff ids', () => {
    const plain = JSON.parse(cli(['build', project, '--cache', cache, '--json', '--format', 'oci']).stdout);
    const gz = JSON.parse(cli(['build', project, '--cache', cache, '--json', '--format', 'oci', '--gzip', '--out', path.join(work, 'gz')]).stdout);
    expect(gz.layers.map((l: { diffId: string }) => l.diffId)).toEqual(plain.layers.map((l: { diffId: string }) => l.diffId));
    expect(gz.layers[0].size).toBeLessThan(plain.layers[0].size);
    const blob = path.join(work, 'gz', 'whiteouts.oci', 'blobs', 'sha256', gz.layers[0].digest.slice(7));
    expect(sh('tar', ['-tzf', blob]).code).toBe(0);
  });
});

describe('xattrs', () => {
  it.skipIf(lacks('python3'))('binary xattr values survive import and export byte for byte (GNU tar and the kernel agree)', () => {
    const d = path.join(work, 'xattr');
    const prep = sh('sh', ['-c', `mkdir -p ${d}/src ${d}/back && echo hi > ${d}/src/f && python3 -c "import os; os.setxattr('${d}/src/f', 'user.bin', bytes([1, 0, 255, 254, 128]))" && tar --xattrs --xattrs-include='*' -C ${d}/src -cf ${d}/in.tar .`]);
    expect(prep.stderr).toBe('');
    writeProject(d, 'name: xattr\nlayers:\n  - name: r\n    sources:\n      - kind: tarball\n        src: in.tar\n');
    expect(cli(['build', d, '--cache', cache, '--format', 'rootfs']).code).toBe(0);
    expect(sh('tar', ['--xattrs', '--xattrs-include=*', '-C', `${d}/back`, '-xf', `${d}/out/xattr.rootfs.tar`]).code).toBe(0);
    const got = sh('python3', ['-c', `import os; print(list(os.getxattr('${d}/back/f', 'user.bin')))`]);
    expect(got.stdout.trim()).toBe('[1, 0, 255, 254, 128]');
  });
});

describe('docker applies our whiteouts', () => {
  it.skipIf(!dockerWorks())('removed paths are gone and the opaque folder shows only the new file', () => {
    const b = cli(['build', project, '--cache', cache, '--format', 'docker']);
    expect(b.code).toBe(0);
    expect(sh(DOCKER, ['load', '-i', path.join(project, 'out', 'whiteouts.docker.tar')]).code).toBe(0);
    const r = sh(DOCKER, ['run', '--rm', '--network', 'none', tag]);
    expect(r.stderr).toBe('');
    // /data/old removed (whiteout), /cache emptied and refilled (opaque), /bin/bash removed.
    expect(r.stdout).toBe('/cache:\nz\n\n/data:\nkeep\nbash-gone\n');
    sh(DOCKER, ['rmi', '-f', tag]);
  });
});

describe('a diffbase below the layer under it', () => {
  // l3 is diffed against l1, as asked, but docker and umoci apply it over l2: what l2 added and l3
  // removes must be whited out, and what l2 changed and l3 set back must be written again.
  const text = `name: skipdiff
tag: scratchyard-test/skipdiff:${process.pid}
layers:
  - name: l1
    sources:
      - kind: busybox
        links: false
      - kind: file
        path: /etc/conf
        content: "original\\n"
  - name: l2
    sources:
      - kind: file
        path: /secret
        content: "should be gone\\n"
      - kind: file
        path: /etc/conf
        content: "changed\\n"
  - name: l3
    diffbase: l1
    sources:
      - kind: remove
        paths: [/secret]
      - kind: file
        path: /etc/conf
        content: "original\\n"
`;

  it('applied over the layer under it, the image is the recipe\'s: the removal takes, the setting back shows (ls, umoci, docker)', () => {
    const p = writeProject(path.join(work, 'skipdiff'), text);
    const b = cli(['build', p, '--cache', cache, '--format', 'docker,oci,rootfs']);
    expect(b.code, b.stderr).toBe(0);
    const own = cli(['ls', p, '--cache', cache, '--layer', 'l3']).stdout.split('\n').map((l) => l.split(' ')[0]);
    expect(own).toContain('./.wh.secret');
    expect(own).toContain('./etc/conf');
    const image = cli(['ls', p, '--cache', cache]).stdout;
    expect(image).not.toMatch(/^\.\/secret /m);
    if (!lacks('umoci')) {
      const u = path.join(work, 'skipdiff-unpacked');
      const r = sh('umoci', ['unpack', '--rootless', '--image', `${path.join(p, 'out', 'skipdiff.oci')}:${process.pid}`, u]);
      expect(r.code, r.stderr).toBe(0);
      expect(sh('test', ['-e', path.join(u, 'rootfs', 'secret')]).code).not.toBe(0);
      expect(sh('cat', [path.join(u, 'rootfs', 'etc', 'conf')]).stdout).toBe('original\n');
    }
    if (dockerWorks()) {
      expect(sh(DOCKER, ['load', '-i', path.join(p, 'out', 'skipdiff.docker.tar')]).code).toBe(0);
      const run = sh(DOCKER, ['run', '--rm', '--entrypoint', '/bin/busybox', `scratchyard-test/skipdiff:${process.pid}`, 'sh', '-c', 'cat /etc/conf; test -e /secret && echo secret-present || echo secret-gone']);
      sh(DOCKER, ['rmi', '-f', `scratchyard-test/skipdiff:${process.pid}`]);
      expect(run.stdout).toBe('original\nsecret-gone\n');
    }
  });
});
