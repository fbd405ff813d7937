// The bundled basebox, toolbox and python examples, built and run (the hello and
// debian examples have their own tests).
import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCKER, cli, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { copyExample } from '../helpers/projects';

const work = tempDir('sy-examples-');
const copy = (name: string) => copyExample(name, path.join(work, name));
const files = (out: string) => out.split('\n').filter(Boolean).map((l) => l.split(' ')[0]);

describe.skipIf(lacks('unshare'))('basebox', () => {
  const project = copy('basebox');
  const cache = path.join(work, 'cache-basebox');

  it('holds busybox, bash and only their libraries, and a non-root user', () => {
    const ls = cli(['ls', project, '--cache', cache]);
    expect(ls.code).toBe(0);
    const f = files(ls.stdout);
    expect(f).toEqual(expect.arrayContaining(['./bin/bash', './bin/busybox', './home/app', './lib/x86_64-linux-gnu/libc.so.6', './etc/passwd']));
    expect(f.filter((p) => p.endsWith('.so') || /\.so\.\d/.test(p)).length).toBeLessThan(8);
    expect(ls.stdout).toMatch(/^\.\/home\/app 0040755-1000-1000-0$/m);
  });

  it.skipIf(process.getuid?.() !== 0)('its init runs the service as that user (chroot, as real root)', () => {
    const r = cli(['run', project, '--cache', cache]);
    expect(r.stdout).toBe('service running as app (uid 1000) in /home/app with bash 5\n');
  });

  it.skipIf(!dockerWorks())('and in docker', () => {
    expect(cli(['build', project, '--cache', cache, '--format', 'docker']).code).toBe(0);
    expect(sh(DOCKER, ['load', '-i', path.join(project, 'out/basebox.docker.tar')]).code).toBe(0);
    expect(sh(DOCKER, ['run', '--rm', '--network', 'none', 'basebox:latest']).stdout).toBe('service running as app (uid 1000) in /home/app with bash 5\n');
  });
});

describe.skipIf(lacks('unshare', 'mmdebstrap'))('toolbox', () => {
  it('jq from a mounted Debian stage renders the config; the image has not a byte of the tools', () => {
    const project = copy('toolbox');
    const cache = path.join(work, 'cache-toolbox');
    const run = cli(['run', project, '--cache', cache]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ name: 'toolbox', replicas: '3' });
    const ls = cli(['ls', project, '--cache', cache]).stdout;
    const f = files(ls);
    expect(ls).toMatch(/^\.\/\.tools 0040755-0-0-0$/m);
    expect(f.filter((p) => p.startsWith('./.tools/'))).toEqual([]);
    expect(f.filter((p) => /jq|libonig|\/usr\/lib\//.test(p))).toEqual([]);
    // The only dpkg data is the status.d entry for the host's busybox (so scanners see it), none of the stage's packages.
    expect(f.filter((p) => p.startsWith('./var/lib/dpkg/'))).toEqual(['./var/lib/dpkg/status.d', './var/lib/dpkg/status.d/busybox-static', './var/lib/dpkg/status.d/busybox-static.md5sums']);
    expect(f.length).toBeLessThan(320); // busybox, its applet links, the config
  }, 600_000);
});

describe.skipIf(lacks('strace', 'bwrap') || process.getuid?.() !== 0)('python', () => {
  const project = copy('python');
  const cache = path.join(work, 'cache-python');

  it('builds from its traced list without tracing again, under 25 MB, and runs json, sqlite3 and ssl in the chroot', () => {
    const b = cli(['build', project, '--cache', cache, '--format', 'rootfs']);
    expect(b.code, b.stderr).toBe(0);
    // The bundled list was traced on a machine like this one; another python3 would trace again.
    expect(b.stdout + b.stderr).toMatch(/trace: scratchyard\.trace\/python3-[0-9a-f]{12}\.txt is current|trace: tracing/);
    const size = statSync(path.join(project, 'out/python.rootfs.tar')).size;
    expect(size).toBeLessThan(25 * 1024 * 1024);
    const run = cli(['run', project, '--cache', cache]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ rows: { a: 1, b: 2 }, tls: 'MINIMUM_SUPPORTED' });
  });

  it.skipIf(!dockerWorks())('and in docker', () => {
    expect(cli(['build', project, '--cache', cache, '--format', 'docker']).code).toBe(0);
    expect(sh(DOCKER, ['load', '-i', path.join(project, 'out/python.docker.tar')]).code).toBe(0);
    const r = sh(DOCKER, ['run', '--rm', '--network', 'none', 'python-example:latest']);
    expect(JSON.parse(r.stdout)).toEqual({ rows: { a: 1, b: 2 }, tls: 'MINIMUM_SUPPORTED' });
  });
});
