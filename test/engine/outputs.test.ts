// The bundled example built by the CLI and checked by tools nobody here wrote:
// docker load + run, skopeo inspect, umoci unpack, tar -t, docker import.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, cli, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { fileListOfFolder, helloCopy } from '../helpers/projects';

const work = tempDir();
const cache = path.join(work, 'cache');
const tag = `scratchyard-test/hello:${process.pid}`;
const project = helloCopy(path.join(work, 'hello'), tag);
const out = path.join(project, 'out');
let built: { manifestDigest: string; layers: { name: string; digest: string; size: number; files: number; cached: boolean }[]; outputs: Record<string, string>; written: string[] };

beforeAll(() => {
  const r = cli(['build', project, '--cache', cache, '--json']);
  expect(r.stderr).not.toMatch(/Error/);
  expect(r.code).toBe(0);
  built = JSON.parse(r.stdout);
});

describe('build --json', () => {
  it('reports the manifest, both layers and the three outputs', () => {
    expect(built.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(built.layers.map((l) => l.name)).toEqual(['libs', 'app']);
    for (const l of built.layers) expect(l.files).toBeGreaterThan(0);
    expect(built.outputs).toEqual({
      docker: path.join(out, 'hello.docker.tar'),
      oci: path.join(out, 'hello.oci'),
      rootfs: path.join(out, 'hello.rootfs.tar'),
    });
    expect(built.written.sort()).toEqual(['docker', 'oci', 'rootfs']);
  });

  it('a second build of an unchanged project writes nothing and says so', () => {
    const r = cli(['build', project, '--cache', cache, '--json']);
    expect(r.code).toBe(0);
    const again = JSON.parse(r.stdout);
    expect(again.manifestDigest).toBe(built.manifestDigest);
    expect(again.layers.every((l: { cached: boolean }) => l.cached)).toBe(true);
    expect(again.written).toEqual([]);
    expect(r.stderr).toMatch(/no layer written/);
    expect(r.stderr).toMatch(/outputs already up to date/);
  });

  it('the libs layer holds exactly the libraries bash needs, as ldd sees them', () => {
    const r = cli(['ls', project, '--cache', cache, '--layer', 'libs']);
    expect(r.code).toBe(0);
    const files = r.stdout.split('\n').filter((l) => / 010/.test(l)).map((l) => l.split(' ')[0].slice(1));
    const ldd = sh('ldd', ['/bin/bash']).stdout;
    for (const m of ldd.matchAll(/(?:=> )?(\/\S+) \(0x/g)) {
      // The loader's path may be a symlink (soname link); the layer keeps it and adds its target.
      const listed = r.stdout.split('\n').some((l) => l.startsWith(`.${m[1]} `));
      expect(listed, `${m[1]} in libs layer`).toBe(true);
    }
    expect(files.length).toBeGreaterThan(0);
  });
});

describe('docker', () => {
  it.skipIf(!dockerWorks())('docker load + docker run prints the greeting', () => {
    const load = sh(DOCKER, ['load', '-i', built.outputs.docker]);
    expect(load.stderr).toBe('');
    expect(load.stdout).toContain(tag);
    const run = sh(DOCKER, ['run', '--rm', '--network', 'none', tag]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('Hello, world!\n');
    const inspect = JSON.parse(sh(DOCKER, ['image', 'inspect', tag]).stdout)[0];
    expect(inspect.RootFS.Layers).toHaveLength(2);
    expect(inspect.Created).toBe('1970-01-01T00:00:00Z');
    sh(DOCKER, ['rmi', '-f', tag]);
  });

  it.skipIf(!dockerWorks())('docker import of the rootfs tar runs too', () => {
    const ref = `scratchyard-test/hello-rootfs:${process.pid}`;
    expect(sh(DOCKER, ['import', '--change', 'ENTRYPOINT ["/init"]', built.outputs.rootfs, ref]).code).toBe(0);
    expect(sh(DOCKER, ['run', '--rm', '--network', 'none', ref]).stdout).toBe('Hello, world!\n');
    sh(DOCKER, ['rmi', '-f', ref]);
  });
});

describe('ls IMAGE', () => {
  it('reading our docker archive and OCI layout back gives the project\'s file list', () => {
    const ours = cli(['ls', project, '--cache', cache]).stdout;
    expect(cli(['ls', built.outputs.docker, '--cache', cache]).stdout).toBe(ours);
    expect(cli(['ls', built.outputs.oci, '--cache', cache]).stdout).toBe(ours);
    // Layers count from 1, as inspect, diff and the app count them.
    const layer = cli(['ls', built.outputs.oci, '--cache', cache, '--layer', '2']).stdout;
    expect(layer).toContain('./init 0100755-0-0-');
    expect(cli(['ls', project, '--cache', cache, '--layer', '2']).stdout).toBe(layer);
    const digest = (JSON.parse(cli(['build', project, '--cache', cache, '--format', 'oci', '--out', path.join(work, 'out-json'), '--json']).stdout) as { layers: { digest: string }[] }).layers[1].digest;
    expect(cli(['ls', built.outputs.oci, '--cache', cache, '--layer', digest.slice(0, 19)]).stdout).toBe(layer);
    expect(cli(['ls', built.outputs.oci, '--cache', cache, '--layer', '0']).code).toBe(2);
  });

  it.skipIf(!dockerWorks())('reading `docker save` of the loaded image gives the same file list', () => {
    expect(sh(DOCKER, ['load', '-i', built.outputs.docker]).code).toBe(0);
    const saved = path.join(work, 'saved.tar');
    expect(sh(DOCKER, ['save', '-o', saved, tag]).code).toBe(0);
    expect(cli(['ls', saved, '--cache', cache]).stdout).toBe(cli(['ls', project, '--cache', cache]).stdout);
    sh(DOCKER, ['rmi', '-f', tag]);
  });
});

describe('OCI layout', () => {
  it.skipIf(lacks('skopeo'))('skopeo inspects the layout and the docker archive by tag', () => {
    const oci = sh('skopeo', ['inspect', `oci:${built.outputs.oci}:${process.pid}`]);
    expect(oci.stderr).toBe('');
    const info = JSON.parse(oci.stdout);
    expect(info.Layers).toEqual(built.layers.map((l) => l.digest));
    expect(info.Architecture).toBe('amd64');
    const arch = JSON.parse(sh('skopeo', ['inspect', `docker-archive:${built.outputs.docker}`]).stdout);
    expect(arch.Digest).toBeDefined();
    expect(arch.Layers).toHaveLength(2);
  });

  it.skipIf(lacks('umoci'))('umoci unpacks a rootfs whose file list equals ours', () => {
    const bundle = path.join(work, 'bundle');
    const asRoot = process.getuid?.() === 0;
    const r = sh('umoci', ['unpack', ...(asRoot ? [] : ['--rootless']), '--image', `${built.outputs.oci}:${process.pid}`, bundle]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const theirs = fileListOfFolder(path.join(bundle, 'rootfs'), { ids: asRoot });
    const ours = cli(['ls', project, '--cache', cache]).stdout.split('\n').filter(Boolean);
    const normalize = (l: string) => (asRoot ? l : l.replace(/-\d+-\d+-/, '-x-x-'));
    // umoci gives the root folder its own mode; compare everything under it.
    expect(theirs.filter((l) => !l.startsWith('. ')).map(normalize)).toEqual(ours.filter((l) => !l.startsWith('. ')).map(normalize));
  });
});

describe('rootfs tar', () => {
  it('tar -t lists the flattened image, without whiteouts, in sorted order', () => {
    const r = sh('tar', ['-tvf', built.outputs.rootfs]);
    expect(r.code).toBe(0);
    const names = r.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[5]);
    expect(names).toContain('init');
    expect(names).toContain('bin/busybox');
    expect(names.some((n) => n.includes('.wh.'))).toBe(false);
    expect(r.stdout).toMatch(/^-rwxr-xr-x 0\/0 .* 1970-01-01 00:00 init$/m);
    expect(existsSync(path.join(out, '.hello.docker.tar.tmp'))).toBe(false);
  });

  it('the docker archive has no host user names and epoch mtimes', () => {
    const r = sh('tar', ['-tvf', built.outputs.docker]);
    for (const line of r.stdout.split('\n').filter(Boolean)) expect(line).toMatch(/ 0\/0 .* 1970-01-01 00:00 /);
    const manifest = JSON.parse(sh('tar', ['-xOf', built.outputs.docker, 'manifest.json']).stdout);
    expect(manifest[0].RepoTags).toEqual([tag]);
    expect(readFileSync(path.join(built.outputs.oci, 'oci-layout'), 'utf8')).toBe('{"imageLayoutVersion":"1.0.0"}');
  });
});
