// strace's output, as recorded (test/fixtures/strace/, `strace -f --seccomp-bpf -qq [-y]`
// inside the trace sandbox), read into the paths the traced processes used.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, straceCalls, tracedPaths } from '../../electron/engine/sources/strace-parse';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/strace', name), 'utf8');

describe('strace output', () => {
  const python = tracedPaths(fixture('python-json-sqlite-ssl.txt'));
  const threads = tracedPaths(fixture('shell-python-threads.y.txt'));
  const shell = tracedPaths(fixture('shell-cwd.no-y.txt'));

  it('takes execve, opens (the path as asked and the fd strace decoded) and successful stats of .py files', () => {
    expect(python[0]).toBe('/usr/bin/python3');
    expect(python).toContain('/lib/x86_64-linux-gnu/libc.so.6');
    expect(python).toContain('/usr/lib/x86_64-linux-gnu/libc.so.6'); // fstat(3</usr/lib/...>, "", AT_EMPTY_PATH)
    expect(python).toContain('/usr/lib/python3.11/encodings/__init__.py'); // stat'ed, never opened
    expect(python).toContain('/usr/lib/python3.11/encodings/__pycache__/__init__.cpython-311.pyc');
    expect(python).toContain('/usr/bin/python3'); // readlink that returned 10
  });

  it('leaves out calls that failed', () => {
    expect(python).not.toContain('/etc/ld.so.preload'); // access() = -1 ENOENT
    expect(python).not.toContain('/usr/lib/locale/locale-archive'); // openat() = -1 ENOENT
    expect(python).not.toContain('/usr/bin/pybuilddir.txt');
    expect(python.some((p) => p.endsWith('.cpython-311-x86_64-linux-gnu.so') && p.includes('/usr/lib/python3.11/lib-dynload/_json'))).toBe(true);
    const failed = straceCalls(fixture('python-json-sqlite-ssl.txt')).filter((c) => (c.ret ?? 0) < 0 && c.name === 'newfstatat');
    expect(failed.length).toBeGreaterThan(0);
    for (const c of failed) {
      const p = parseArgs(c.args)[1];
      if (p.kind === 'string' && p.value.startsWith('/')) expect(python).not.toContain(p.value);
    }
    expect(shell).not.toContain('/usr/share/missing-file');
  });

  it('joins <unfinished ...> lines with their <... resumed> halves, threads interleaved', () => {
    expect(threads).toContain('/etc/hostname');
    expect(threads).toContain('/etc/passwd'); // newfstatat( <unfinished ...> then resumed with = 0
    const calls = straceCalls(fixture('shell-python-threads.y.txt'));
    expect(calls.filter((c) => c.name === 'execve' && c.ret === 0).map((c) => parseArgs(c.args)[0])).toContainEqual({ kind: 'string', value: '/usr/bin/cat' });
    expect(calls.find((c) => c.name === 'vfork')?.ret).toBeGreaterThan(0);
  });

  it('decodes quoted paths with escapes, in strings and in fd decorations', () => {
    expect(threads).toContain('/tmp/we"ird\nname \\x');
    expect(parseArgs('AT_FDCWD</a\\x3eb>, "c\\303\\251\\t", O_RDONLY')).toEqual([
      { kind: 'fd', path: '/a>b' },
      { kind: 'string', value: 'cé\t' },
      { kind: 'other', text: 'O_RDONLY' },
    ]);
  });

  it('resolves AT_FDCWD-relative paths against the directory strace decoded, after chdir and fchdir', () => {
    expect(threads).toContain('/usr/share/common-licenses/GPL-3');
    expect(threads).toContain('/etc/os-release');
    expect(threads).toContain('/usr/share/common-licenses/Apache-2.0'); // after chdir /usr/lib, fchdir to /usr/share
  });

  it('without -y, tracks each process\'s cwd: chdir, and a child inherits its parent\'s at fork', () => {
    expect(shell).toContain('/usr/share/common-licenses/GPL-3');
    expect(shell).toContain('/etc/os-release'); // a subshell (clone) that did cd /etc
    expect(shell).not.toContain('/usr/share/os-release');
    expect(shell).not.toContain('/os-release');
  });
});
