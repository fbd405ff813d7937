// Bad recipes and hostile tarballs: a clear error naming the file, line, field
// or entry at fault, exit code 2, and nothing written outside out/ and the cache.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pack, type Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { REPO, cli, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = tempDir();
const cache = path.join(work, 'cache');

async function makeTar(file: string, entries: (Partial<Header> & { name: string; body?: string })[]): Promise<void> {
  const p = pack();
  for (const { body, ...h } of entries) p.entry({ mode: 0o644, mtime: new Date(0), ...h } as Header, body ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(c);
  writeFileSync(file, Buffer.concat(chunks));
}

function build(dir: string) {
  return cli(['build', dir, '--cache', cache]);
}

const app = (sources: string) => `name: bad
layers:
  - name: base
    sources:
      - kind: dir
        path: /etc
  - name: app
    sources:
${sources}`;

describe('bad recipes', () => {
  it('names file, line, column and field of a bad mode', () => {
    const d = writeProject(path.join(work, 'mode'), app('      - kind: dir\n        path: /tmp\n      - kind: file\n        path: /x\n        content: hi\n        mode: "rwx"\n'));
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(d, 'scratchyard.yaml')}:14:15: layers[1].sources[1].mode: expected an octal string`);
    expect(existsSync(path.join(d, 'out'))).toBe(false);
  });

  it('an unknown kind lists the known ones', () => {
    const d = writeProject(path.join(work, 'kind'), app('      - kind: teleport\n'));
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/scratchyard\.yaml:9:\d+: layers\[1\]\.sources\[0\]\.kind: .*busybox, host/);
  });

  it('a path climbing out of the image is refused', () => {
    const d = writeProject(path.join(work, 'climb'), app('      - kind: file\n        path: /../etc/passwd\n        content: x\n'));
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layers\[1\]\.sources\[0\]\.path: a path inside the image may not contain "\.\."/);
  });

  it('a copy source outside the project folder is refused', () => {
    const d = writeProject(path.join(work, 'outside'), app('      - kind: copy\n        src: ../../etc/hostname\n        dest: /etc/hostname\n'));
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layers\[1\]\.sources\[0\]\.src: \.\.\/\.\.\/etc\/hostname resolves outside the project folder/);
  });

  it('a missing source file is named', () => {
    const d = writeProject(path.join(work, 'missing'), app('      - kind: copy\n        src: files/nothing.txt\n        dest: /srv/\n'));
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layers\[1\]\.sources\[0\]\.src: files\/nothing\.txt: no such file or folder in the project/);
  });

  it('YAML syntax errors point at the line', () => {
    const d = writeProject(path.join(work, 'yaml'), 'name: x\nlayers: [\n  - {name: a\n');
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/scratchyard\.yaml:\d+:\d+: YAML:/);
  });

  it('a second YAML document is named as such, not with the parser library\'s advice', () => {
    const r = build(writeProject(path.join(work, 'yaml-two'), 'name: a\nlayers: []\n---\nname: b\n'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/scratchyard\.yaml:3:1: YAML: a recipe is one YAML document: this "---" starts a second one/);
    expect(r.stderr).not.toContain('parseAllDocuments');
  });

  it('one unclosed bracket is one problem, at its first error, not the dozens the parser finds after it', () => {
    const hello = readFileSync(path.join(REPO, 'assets/examples/hello/scratchyard.yaml'), 'utf8');
    const d = writeProject(path.join(work, 'yaml-cascade'), hello.replace('layers:\n', 'layers: [oops\n'));
    const r = build(d);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => / YAML: /.test(l));
    expect(lines.length, r.stderr).toBe(1);
    expect(lines[0]).toMatch(/scratchyard\.yaml:\d+:\d+: YAML: .* \(\d+ more errors after it may follow from this one\)$/);
  });

  it('unknown fields, duplicate layers and bad diffbases are caught', () => {
    const d = writeProject(path.join(work, 'dup'), 'name: x\nlayers:\n  - name: a\n  - name: a\n    diffbase: zz\n    colour: red\n');
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layers\[1\]: unknown field "colour"/);
    expect(r.stderr).toMatch(/layers\[1\]\.name: duplicate layer name "a"/);
    expect(r.stderr).toMatch(/layers\[1\]\.diffbase: "zz" is not a layer below this one/);
  });

  it('a source that fails as it runs is located like a schema error: FILE:LINE:COLUMN of its field', () => {
    const d = writeProject(path.join(work, 'runtime-at'), 'name: x\nlayers:\n  - name: l\n    sources:\n      - kind: copy\n        src: nothere\n        dest: /x\n');
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(d, 'scratchyard.yaml')}:6:14: layers[0].sources[0].src: nothere: no such file or folder in the project`);
  });

  it('removing a path that is not there says so', () => {
    const d = writeProject(path.join(work, 'rm'), app('      - kind: remove\n        paths: [/bin/bash]\n'));
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layers\[1\]\.sources\[0\]\.paths\[0\]: \/bin\/bash is not in the image/);
  });
});

describe('hostile tarballs', () => {
  const tarProject = async (name: string, entries: Parameters<typeof makeTar>[1]) => {
    const d = writeProject(path.join(work, name), `name: ${name}\nlayers:\n  - name: root\n    sources:\n      - kind: tarball\n        src: rootfs.tar\n`);
    await makeTar(path.join(d, 'rootfs.tar'), entries);
    return d;
  };

  it('an entry climbing out with .. is refused and nothing lands outside', async () => {
    const d = await tarProject('dotdot', [{ name: 'ok/file', body: 'x' }, { name: '../../escaped', body: 'evil' }]);
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layers\[0\]\.sources\[0\]\.src: rootfs\.tar: entry "\.\.\/\.\.\/escaped" climbs out/);
    expect(existsSync(path.join(work, 'escaped'))).toBe(false);
    expect(existsSync(path.join(d, 'out'))).toBe(false);
  });

  it('an entry written through a symlink (absolute or not) is refused', async () => {
    const d = await tarProject('through', [
      { name: 'etc', type: 'symlink', linkname: '/etc' },
      { name: 'etc/passwd', body: 'root::0:0::/:/bin/sh\n' },
    ]);
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/entry "etc\/passwd": cannot create \/etc\/passwd: \/etc is a symlink \(-> \/etc\)/);
  });

  it('a hard link pointing outside the archive is refused', async () => {
    const d = await tarProject('hardlink', [{ name: 'shadow', type: 'link', linkname: '../../../etc/shadow' }]);
    const r = build(d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/hard link "shadow" points out of the archive/);
  });

  it('absolute symlinks and device nodes are kept as data, contained in the image', async () => {
    const d = await tarProject('devices', [
      { name: 'dev/', type: 'directory', mode: 0o755 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC' },
      { name: 'bin/a', body: 'A', mode: 0o755 },
      { name: 'bin/b', type: 'link', linkname: 'bin/a' },
    ]);
    const r = cli(['ls', d, '--cache', cache]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('./dev/null 0020666-0-0-1,3\n');
    expect(r.stdout).toMatch(/^\.\/etc\/localtime 0120777-0-0-[0-9a-f]{64}$/m);
    const b = cli(['build', d, '--cache', cache, '--format', 'rootfs']);
    expect(b.code).toBe(0);
    expect(readdirSync(path.join(d, 'out')).sort()).toEqual(['devices.cdx.json', 'devices.rootfs.tar', 'devices.spdx.json']);
  });
});
