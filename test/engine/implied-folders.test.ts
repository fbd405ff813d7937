// Folders a source puts only as the place for what goes under them — a
// tarball's parents that no entry of its own names, a copy's destination —
// leave what the image has there as it is, as tar and docker's COPY do: a
// sticky /tmp stays sticky, a merged-/usr /bin stays a symlink and the new
// file lands in /usr/bin. A folder an entry names still says what it is.
// An image's layer is read as docker shows it, which is another matter.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, cli, dockerWorks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = tempDir('sy-implied-');
const cache = path.join(work, 'cache');

const RECIPE = `name: implied
layers:
  - name: base
    sources:
      - kind: tarball
        src: base.tar
  - name: top
    sources:
      - kind: tarball
        src: app.tar
      - kind: copy
        src: stuff
        dest: /tmp/
      - kind: copy
        src: stuff
        dest: /srv/new/
`;

function listing(project: string): Map<string, string> {
  const r = sh('tar', ['-tvf', path.join(project, 'out/implied.rootfs.tar')]);
  expect(r.code, r.stderr).toBe(0);
  // "drwxrwxrwt 0/0 0 1970-01-01 00:00 tmp" -> tmp: drwxrwxrwt 0/0
  return new Map(r.stdout.split('\n').filter(Boolean).map((l) => {
    const f = l.split(/\s+/);
    return [f.slice(5).join(' '), `${f[0]} ${f[1]}`];
  }));
}

describe('implied folders', () => {
  let project: string;
  beforeAll(() => {
    project = writeProject(path.join(work, 'p'), RECIPE);
    const t = path.join(work, 't');
    // The base: a merged-/usr /bin, a sticky /tmp, a private /opt, each named by an entry.
    const script = [
      `mkdir -p ${t}/base/usr/bin ${t}/base/tmp ${t}/base/opt && ln -s usr/bin ${t}/base/bin && chmod 1777 ${t}/base/tmp && chmod 700 ${t}/base/opt`,
      `echo sh > ${t}/base/usr/bin/sh`,
      `tar --sort=name --owner=0 --group=0 --mtime=@0 -C ${t}/base -cf ${project}/base.tar .`,
      // The app: files only, no folder entries (as "tar -cf app.tar bin/app tmp/x opt/y/z" makes it)...
      `mkdir -p ${t}/app/bin ${t}/app/tmp ${t}/app/opt/y ${t}/app/etc && echo app > ${t}/app/bin/app && echo x > ${t}/app/tmp/x && echo z > ${t}/app/opt/y/z`,
      // ...and one folder it does name: /etc, 0750.
      `chmod 750 ${t}/app/etc && echo c > ${t}/app/etc/c`,
      `tar --owner=0 --group=0 --mtime=@0 -C ${t}/app -cf ${project}/app.tar bin/app tmp/x opt/y/z etc etc/c`,
    ];
    const r = sh('sh', ['-c', script.join(' && ')]);
    expect(r.code, r.stderr).toBe(0);
    mkdirSync(path.join(project, 'stuff'));
    writeFileSync(path.join(project, 'stuff/f'), 'f\n');
  });

  it('a tarball and a copy leave the folders and symlinks they only pass through as they are', () => {
    const r = cli(['build', project, '--cache', cache, '--format', 'rootfs', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const l = listing(project);
    expect(l.get('bin -> usr/bin')).toBe('lrwxrwxrwx 0/0');
    expect(l.get('usr/bin/app')).toMatch(/^-rw-r--r-- /);
    expect(l.get('usr/bin/sh')).toMatch(/^-rw-r--r-- /);
    expect([...l.keys()].some((k) => /^bin\//.test(k))).toBe(false);
    expect(l.get('tmp')).toBe('drwxrwxrwt 0/0');
    expect(l.get('tmp/x')).toBeDefined();
    expect(l.get('tmp/f')).toBeDefined();
    expect(l.get('opt')).toBe('drwx------ 0/0');
    // Folders that were not there are made, as tar and COPY make them.
    expect(l.get('opt/y')).toBe('drwxr-xr-x 0/0');
    expect(l.get('srv/new')).toBe('drwxr-xr-x 0/0');
    expect(l.get('srv/new/f')).toBeDefined();
    // A folder the tarball names is what its entry says.
    expect(l.get('etc')).toBe('drwxr-x--- 0/0');
    // From the cache, the same image.
    const again = cli(['build', project, '--cache', cache, '--format', 'rootfs', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).manifestDigest).toBe(JSON.parse(r.stdout).manifestDigest);
  });

  it('an image layer that names a file and not its folder reads as docker shows it: a plain folder over the one below', () => {
    const d = path.join(work, 'img');
    const script = [
      `mkdir -p ${d}/l1/tmp ${d}/l1/etc ${d}/l2/tmp ${d}/a && chmod 1777 ${d}/l1/tmp && echo a > ${d}/l1/etc/a && echo x > ${d}/l2/tmp/x`,
      `tar --sort=name --owner=0 --group=0 --mtime=@0 -C ${d}/l1 -cf ${d}/a/l1.tar .`,
      // Only the file: no "tmp/" entry.
      `tar --owner=0 --group=0 --mtime=@0 -C ${d}/l2 -cf ${d}/a/l2.tar tmp/x`,
    ];
    const r = sh('sh', ['-c', script.join(' && ')]);
    expect(r.code, r.stderr).toBe(0);
    const sha = (f: string) => createHash('sha256').update(readFileSync(path.join(d, 'a', f))).digest('hex');
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/x'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${sha('l1.tar')}`, `sha256:${sha('l2.tar')}`] } });
    writeFileSync(path.join(d, 'a', 'config.json'), config);
    writeFileSync(path.join(d, 'a', 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['sy-implied:1'], Layers: ['l1.tar', 'l2.tar'] }]));
    const archive = path.join(d, 'implied.tar');
    expect(sh('tar', ['-C', path.join(d, 'a'), '-cf', archive, 'manifest.json', 'config.json', 'l1.tar', 'l2.tar']).code).toBe(0);
    const ls = cli(['ls', archive, '--cache', cache]);
    expect(ls.code, ls.stderr).toBe(0);
    // docker applies the layer into a directory of its own, making tmp/ 0755 there, and overlayfs shows that one.
    expect(ls.stdout).toMatch(/^\.\/tmp 0040755-0-0-0$/m);
    expect(ls.stdout).toMatch(/^\.\/tmp\/x 0100644-0-0-/m);
    if (!dockerWorks()) return;
    // docker agrees.
    expect(sh(DOCKER, ['load', '-i', archive]).code).toBe(0);
    try {
      const id = sh(DOCKER, ['create', 'sy-implied:1']).stdout.trim();
      try {
        const exported = path.join(d, 'export.tar');
        expect(sh('sh', ['-c', `${DOCKER} export ${id} > ${exported}`]).code).toBe(0);
        expect(sh('tar', ['-tvf', exported]).stdout).toMatch(/^drwxr-xr-x \S+ +0 .* tmp\/$/m);
      } finally {
        sh(DOCKER, ['rm', id]);
      }
    } finally {
      sh(DOCKER, ['rmi', 'sy-implied:1']);
    }
  });
});
