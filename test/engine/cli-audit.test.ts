// Found by an audit of the commands as a user and a script would drive them:
// places the user names that are no place to write (a build under /proc
// spun forever and ignored SIGTERM), diff --exit-code's trouble code, a
// reader that stops early, push destinations skopeo cannot take, sbom -o
// into a folder that is not there.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, lacks } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { copyExample, writeProject } from '../helpers/projects';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const a = arena('sy-cli-audit-');
const project = copyExample('hello', path.join(a.dir, 'hello'));
const bounded = (args: string[]) => expectContained(a, () => boundedCli([...args, ...(args.includes('--cache') ? [] : ['--cache', a.cache])], { timeoutMs: 30_000 }));

describe('the command line, found by an audit', () => {
  it('a folder to write under /proc or /sys, named or reached through a symlink, is refused at once, naming the flag', () => {
    symlinkSync('/proc', path.join(a.out + '-proc'));
    for (const [args, flag, where] of [
      [['build', project, '--out', '/proc/scratchyard-out'], '--out /proc/scratchyard-out', '/proc'],
      [['build', project, '--cache', '/proc/scratchyard-cache'], '--cache /proc/scratchyard-cache', '/proc'],
      [['build', project, '--out', `${a.out}-proc/x`], `--out ${a.out}-proc/x`, '/proc'],
      [['build', project, '--out', '/sys/kernel/scratchyard'], '--out /sys/kernel/scratchyard', '/sys'],
      [['init', '--from', 'docker://example.invalid/x:1', '/proc/scratchyard-project'], 'init /proc/scratchyard-project', '/proc'],
      [['sbom', project, '-o', '/proc/scratchyard.json'], '-o /proc/scratchyard.json', '/proc'],
    ] as const) {
      const r = bounded([...args]);
      expectRefused(r, 2, `scratchyard: ${flag}: is under ${where}`, 300);
    }
  });

  it('a bad option is named in our words, exit 2, with the command\'s usage', () => {
    for (const [args, says] of [
      [['build', '--bogus'], 'scratchyard: unknown option --bogus (a value that starts with "-" goes after --, as in -- --bogus)\n'],
      [['run', project, '-w'], 'scratchyard: -w expects a value, and the next word is an option (a value that starts with "-" is written --workdir=VALUE)\n'],
      [['run', project, '--cache', a.cache, '--workdir'], 'scratchyard: --workdir expects a value\n'],
      [['inspect', project, '--json=yes'], 'scratchyard: --json takes no value\n'],
    ] as const) {
      const r = bounded([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.startsWith(says), r.stderr).toBe(true);
      expect(r.stderr).toContain(`usage: scratchyard ${args[0]} `);
    }
  });

  it('sbom -o into a folder that is not there is refused before the work, naming the folder', () => {
    const r = bounded(['sbom', project, '-o', path.join(a.out, 'nowhere', 'x.json')]);
    expectRefused(r, 2, `the folder ${path.join(a.out, 'nowhere')} does not exist`);
    expect(r.stderr).not.toContain('.tmp');
  });

  it('diff --exit-code: 0 the same, 1 they differ, 2 on trouble', () => {
    expect(bounded(['diff', project, project, '--exit-code']).code).toBe(0);
    expect(bounded(['diff', `${project}#app`, `${project}#libs`, '--exit-code']).code).toBe(1);
    const trouble = bounded(['diff', project, path.join(a.dir, 'no-such-image.tar'), '--exit-code']);
    expect(trouble.code, trouble.stderr).toBe(2);
    // Without --exit-code a failure is the usual 1.
    expect(bounded(['diff', project, path.join(a.dir, 'no-such-image.tar')]).code).toBe(1);
  });

  it('a reader that stops early (here: one that reads nothing) ends the command quietly, not with a stack trace', () => {
    expect(bounded(['build', project, '--format', 'docker', '--out', a.out]).code).toBe(0);
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${CLI}" ls "${project}" --cache "${a.cache}" | true`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/EPIPE|at .*\(/);
    expect(r.status).toBe(0);
  });

  it('an append to a one-layer image\'s rootfs tar (a hard link of the OCI layout\'s layer blob) is undone in both on the next build', () => {
    const one = writeProject(path.join(a.dir, 'one'), 'name: one\nepoch: 0\nlayers:\n  - name: app\n    sources:\n      - kind: file\n        path: /hello\n        content: "hi\\n"\n');
    const out = path.join(a.out, 'one');
    const b = () => bounded(['build', one, '--format', 'oci,rootfs', '--out', out, '--no-sbom']);
    expect(b().code).toBe(0);
    appendFileSync(path.join(out, 'one.rootfs.tar'), 'junk');
    const r = b();
    expect(r.stderr).toMatch(/wrote (oci, rootfs|rootfs, oci)/);
    const blobs = path.join(out, 'one.oci', 'blobs', 'sha256');
    for (const hex of readdirSync(blobs)) expect(sha(readFileSync(path.join(blobs, hex))), hex).toBe(hex);
    expect(readFileSync(path.join(out, 'one.rootfs.tar')).subarray(-4).toString()).not.toBe('junk');
  });

  it.skipIf(lacks('bwrap'))('a workdir the image lacks is made for the run, as docker makes it, not a chdir failure', () => {
    // run writes the project's own out/: a copy under the arena's out/.
    const runnable = copyExample('hello', path.join(a.out, 'runnable'));
    const r = bounded(['run', runnable, '--runner', 'chroot', '--entrypoint', '/bin/sh', '--workdir', '/no/such/dir', '--', '-c', 'pwd; ls -ld /no/such/dir | cut -c1-10']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('/no/such/dir\ndrwxr-xr-x\n');
  });

  it('inspect of a project on a base image says which base and layer each base layer is', () => {
    const out = path.join(a.out, 'base-image');
    expect(bounded(['build', project, '--format', 'docker', '--out', out, '--no-sbom']).code).toBe(0);
    const dir = path.join(a.out, 'on-base');
    expect(bounded(['init', '--from', path.join(out, 'hello.docker.tar'), dir]).code).toBe(0);
    const r = bounded(['inspect', dir]);
    expect(r.code, r.stderr).toBe(0);
    // (the table cuts long commands short)
    expect(r.stdout).toMatch(/base~1: base \S+hello\.docker\.tar layer 1 o/);
    expect(r.stdout).toMatch(/base: base \S+hello\.docker\.tar layer 2 of 2/);
    expect(r.stdout).not.toContain('no sources');
  });

  it('push refuses a destination with a digest or a bracketed IPv6 registry before building', () => {
    const digest = `sha256:${'1'.repeat(64)}`;
    for (const [dest, says] of [
      [`docker://127.0.0.1:5000/hello@${digest}`, 'a destination takes a tag, not a digest'],
      [`docker://127.0.0.1:5000/hello:v1@${digest}`, 'a destination takes a tag, not a digest'],
      ['docker://[::1]:5000/hello:v1', 'bracketed IPv6'],
    ]) {
      const cache = path.join(a.cache, 'push');
      const r = bounded(['push', project, dest, '--cache', cache]);
      expectRefused(r, 2, says);
      expect(existsSync(cache), 'nothing was built').toBe(false);
    }
  });
});

// Keep the arena's out/ in place for the symlink above.
mkdirSync(a.out, { recursive: true });
writeFileSync(path.join(a.out, '.keep'), '');
