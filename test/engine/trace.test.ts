// Host sources' `trace:`: a command run on this machine under strace, in the
// sandbox with the host root read-only, and the files it used taken into the
// image, listed in the project so that later builds need not trace again.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, lacks, tempDir } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { copyExample, writeProject } from '../helpers/projects';

// Our own temp folder: the containment check looks at scratchyard's temporaries there.
const TMP = mkdtempSync(path.join(os.tmpdir(), 'sy-trace-tmp-'));
process.env.TMPDIR = TMP;
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const work = tempDir('sy-trace-');
const cache = path.join(work, 'cache');
const PY = '["/usr/bin/python3", "-c", "import json, sqlite3, ssl; ssl.create_default_context()"]';
const listFiles = (project: string) => readdirSync(path.join(project, 'scratchyard.trace')).sort();
const listPaths = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
const log = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr;

const recipe = (source: string, cmd = '["/usr/bin/python3", "/app/app.py"]') => `name: traced
tag: traced:latest
config:
  cmd: ${cmd}
  env:
    PATH: /usr/bin:/bin
layers:
  - name: app
    sources:
${source}
`;

describe.skipIf(lacks('strace', 'bwrap') || !existsSync('/usr/bin/python3'))('trace', () => {
  it('without trace, python3 and its libraries alone cannot start', () => {
    const p = writeProject(path.join(work, 'untraced'), recipe('      - kind: host\n        paths: [/usr/bin/python3]\n        libs: true', '["/usr/bin/python3", "-c", "import json"]'));
    const r = cli(['run', p, '--cache', cache]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/encodings/);
  });

  const project = copyExample('python', path.join(work, 'python'));
  rmSync(path.join(project, 'scratchyard.trace'), { recursive: true, force: true });

  it('traces, writes a sorted list of host files only, and the image runs the program and the traced command', () => {
    const b = cli(['build', project, '--cache', cache]);
    expect(b.code, b.stderr).toBe(0);
    expect(log(b)).toMatch(/trace: tracing \["\/usr\/bin\/python3".*\(no scratchyard\.trace\/python3-[0-9a-f]{12}\.txt yet\)/);
    const [name] = listFiles(project);
    const paths = listPaths(path.join(project, 'scratchyard.trace', name));
    expect(paths).toEqual([...paths].sort());
    expect(paths).toEqual(expect.arrayContaining(['/usr/bin/python3', '/usr/lib/python3.11/encodings/__init__.py', '/usr/lib/python3.11/json/__init__.py', '/usr/lib/python3.11/ssl.py', '/usr/lib64/ld-linux-x86-64.so.2']));
    expect(paths.some((p) => /lib-dynload\/_sqlite3\./.test(p))).toBe(true);
    expect(paths.filter((p) => /^\/(proc|sys|dev|tmp|run|home|root)\//.test(p) || p === '/etc/ld.so.cache')).toEqual([]);
    // Not the whole stdlib: modules the script never imports stay out.
    expect(paths.filter((p) => /curses|tkinter|readline/.test(p))).toEqual([]);

    const run = cli(['run', project, '--cache', cache]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ rows: { a: 1, b: 2 }, tls: 'MINIMUM_SUPPORTED' });
    const again = cli(['run', project, '--cache', cache, '--', ...(JSON.parse(PY) as string[])]);
    expect(again.code, again.stderr).toBe(0);
  });

  it('the example is a fraction of the stdlib (under 25 MB) and every runner agrees on its output', () => {
    const r = cli(['run', project, '--cache', cache, '--runner', 'all'], { timeout: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const runner of ['chroot', 'vm', 'docker']) expect(r.stdout).toMatch(new RegExp(`^${runner}\\s+0\\s+\\S+ s\\s+matches`, 'm'));
    const b = cli(['build', project, '--cache', cache, '--format', 'rootfs']);
    expect(b.code, b.stderr).toBe(0);
    const bytes = statSync(path.join(project, 'out', 'python.rootfs.tar')).size;
    expect(bytes).toBeGreaterThan(5 << 20);
    expect(bytes).toBeLessThan(25 << 20);
  }, 600_000);

  it('a second build uses the list and says so; a changed command or program traces again', () => {
    const b = cli(['build', project, '--cache', cache]);
    expect(b.code).toBe(0);
    expect(log(b)).toMatch(/trace: scratchyard\.trace\/python3-[0-9a-f]{12}\.txt is current \(command and \/usr\/bin\/python3 unchanged\), not traced again/);
    expect(log(b)).not.toMatch(/trace: tracing/);

    // The program's digest is in the key: a different one (here, a forged key) traces again.
    const [name] = listFiles(project);
    const file = path.join(project, 'scratchyard.trace', name);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^# key: .*$/m, '# key: sha256:0000'));
    const c = cli(['build', project, '--cache', cache]);
    expect(c.code).toBe(0);
    expect(log(c)).toContain(`trace: tracing ["/usr/bin/python3"`);
    expect(log(c)).toContain(`/usr/bin/python3 changed since scratchyard.trace/${name} was written`);

    const yaml = path.join(project, 'scratchyard.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('ssl.create_default_context()', 'ssl.create_default_context(); print(1)'));
    const d = cli(['build', project, '--cache', cache]);
    expect(d.code, d.stderr).toBe(0);
    expect(log(d)).toMatch(/trace: tracing .*print\(1\)/);
    expect(listFiles(project)).toHaveLength(2);
  });

  describe('hostile', () => {
    const a = arena('sy-trace-hostile-');
    const build = (dir: string) => expectContained(a, () => boundedCli(['build', dir, '--cache', a.cache, '--out', a.out], { timeoutMs: 60_000 }));

    it('a traced command cannot write outside: the host root is read-only (canary and /etc untouched)', () => {
      const cmd = `["/bin/sh", "-c", "echo pwned > ${a.canary}/keep; echo pwned > /etc/sy-trace-canary; echo pwned > ${a.canary}/new"]`;
      const p = writeProject(path.join(a.dir, 'writer'), recipe(`      - kind: host\n        paths: [/bin/sh]\n        trace:\n          - ${cmd}`));
      const r = build(p);
      expectRefused(r, 2, /trace: the traced command \["\/bin\/sh".* failed \(exit code 2\): .*Read-only file system/);
      expect(existsSync('/etc/sy-trace-canary')).toBe(false);
      expect(existsSync(path.join(p, 'scratchyard.trace'))).toBe(false);
    });

    it('files under /proc and /tmp that a command opens are not taken', () => {
      const p = writeProject(path.join(tempDir('sy-trace-proc-'), 'p'), recipe('      - kind: host\n        paths: [/bin/sh]\n        trace:\n          - ["/bin/sh", "-c", "cat /proc/self/status > /tmp/x; cat /tmp/x /etc/hostname > /dev/null"]'));
      const r = build(p);
      expect(r.code, r.stderr).toBe(0);
      const paths = listPaths(path.join(p, 'scratchyard.trace', listFiles(p)[0]));
      expect(paths).toEqual(expect.arrayContaining(['/etc/hostname', '/usr/bin/cat']));
      expect(paths.filter((x) => /^\/(proc|tmp|dev)\//.test(x))).toEqual([]);
    });

    it('a hand-edited list naming host state, or a path climbing through "..", is refused, naming the list and line', () => {
      const p = writeProject(path.join(tempDir('sy-trace-edit-'), 'p'), recipe('      - kind: host\n        paths: [/usr/bin/true]\n        trace:\n          - ["/usr/bin/true"]'));
      expect(build(p).code).toBe(0);
      const name = listFiles(p)[0];
      const file = path.join(p, 'scratchyard.trace', name);
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, `${text}/root/.bashrc\n`);
      expectRefused(build(p), 2, `scratchyard.trace/${name}: /root/.bashrc is host state`);
      writeFileSync(file, `${text}/usr/../root/.bashrc\n`);
      expectRefused(build(p), 2, new RegExp(`scratchyard\\.trace/${name}:\\d+: not a canonical path`));
    });

    it('a command path with a newline is refused by the recipe schema, with file:line:col', () => {
      const p = writeProject(path.join(a.dir, 'newline'), recipe('      - kind: host\n        paths: [/bin/sh]\n        trace:\n          - ["/bin/sh\\nx", "-c", "true"]'));
      const r = build(p);
      expectRefused(r, 2, /scratchyard\.yaml:\d+:\d+: layers\[0\]\.sources\[0\]\.trace\[0\]\[0\]/);
    });
  });
});
