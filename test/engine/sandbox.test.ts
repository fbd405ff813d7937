// The sandbox holds against a hostile image: small static probes (test/probes,
// compiled here with gcc -static) try to leave it from a build step and from a
// chroot run, as root and as a normal user. The canary folder sits next to
// everything they can name; it must be untouched in every case.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO, lacks, sh, tempDir } from '../helpers/env';
import { portableCli } from '../helpers/portable';
import { arena, boundedCli, expectRefused, outsideState, type Arena, type BoundedResult } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';
import { EngineSession } from '../../electron/host/session';
import type { EngineEvent } from '../../shared/contract';

const USER = 'scratchyard-ci';
const isRoot = process.getuid?.() === 0;
/** As root: root itself and a throwaway normal user. Otherwise: this user. */
type Who = 'root' | 'user';
const WHO: Who[] = isRoot ? ['root', 'user'] : ['user'];
/** As the normal user, a readable copy of the bundle: the checkout may be a folder only root can enter. */
let userCli = CLI;
const cliOf = (who: Who) => (who === 'user' ? userCli : CLI);
const PROBES = path.join(REPO, 'test/probes');
/** docker's default capabilities, as a mask (what CapEff shows in `docker run`). */
const DOCKER_CAPS = 0xa80425fbn;

let a: Arena;
let probeDir: string;
let ids = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

const home = (who: Who) => path.join(a.out, who);
const cacheOf = (who: Who) => path.join(home(who), 'cache');
const tmpOf = (who: Who) => path.join(home(who), 'tmp');

function envOf(who: Who): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home(who), TMPDIR: tmpOf(who), LANG: 'C' };
}

/** The CLI as `who`, bounded, its own TMPDIR so its leftovers can be counted. */
function cliAs(who: Who, args: string[], timeoutMs = 120_000): BoundedResult {
  const as = who === 'user' && isRoot ? ids : {};
  return boundedCli([...args, '--cache', cacheOf(who)], { ...as, env: envOf(who), cwd: a.dir, timeoutMs, cli: cliOf(who) });
}

/** Everything outside cache and output, minus the machine-wide /tmp other test runs share. */
function hostState(): string[] {
  return outsideState(a).filter((r) => !r.startsWith('/tmp/'));
}

/** Run `fn`, then check the canary, the arena and that no work folder stayed behind. */
function contained<T>(who: Who, fn: () => T): T {
  const before = hostState();
  const r = fn();
  expect(hostState()).toEqual(before);
  expect(readdirSync(a.canary)).toEqual(['keep']);
  expect(readFileSync(path.join(a.canary, 'keep'), 'utf8')).toBe('canary\n');
  expect(readdirSync(tmpOf(who)).filter((n) => n.startsWith('scratchyard-'))).toEqual([]);
  return r;
}

function compile(name: string, out: string, defines: string[] = []): void {
  const r = sh('gcc', ['-static', '-O1', '-Wall', ...defines, '-o', out, path.join(PROBES, `${name}.c`)]);
  if (r.code !== 0) throw new Error(`gcc ${name}.c: ${r.stderr}`);
}

let projects = 0;
/** A project whose image holds busybox and `probe` at /probe (its entrypoint), plus `layers` after the base. */
function probeProject(probe: string, extraBase = '', layers = ''): string {
  const dir = path.join(a.dir, 'projects', `p${projects++}`);
  writeProject(
    dir,
    `name: probe
config: { entrypoint: ["/probe"] }
layers:
  - name: base
    sources:
      - kind: busybox
      - kind: copy
        src: probe
        dest: /probe
        mode: "0755"
${extraBase}${layers}`,
  );
  copyFileSync(path.join(probeDir, probe), path.join(dir, 'probe'));
  return dir;
}

const stepLayer = (argv: string[], extra = '') => `  - name: step
    sources:
      - kind: run
        command: ${JSON.stringify(argv)}
${extra}`;

/** The probe as a build step (`ls` builds the layers) and as a chroot run, each contained; their output. */
function inStepAndRun(who: Who, probe: string, args: string[]): string[] {
  const [stepProject, runProject] = [probeProject(probe, '', stepLayer(['/probe', ...args])), probeProject(probe)];
  const step = contained(who, () => cliAs(who, ['ls', stepProject, '--layer', 'step']));
  expect(step.stderr).not.toMatch(/^\s+at /m);
  expect(step.code, step.stderr).toBe(0);
  const run = contained(who, () => cliAs(who, ['run', runProject, '--', ...args]));
  expect(run.code, run.stderr).toBe(0);
  return [step.stderr, run.stdout];
}

describe.skipIf(lacks('bwrap', 'gcc'))('the sandbox against hostile images', () => {
  beforeAll(() => {
    a = arena('sy-sandbox-');
    chmodSync(a.dir, 0o755);
    if (isRoot) userCli = portableCli().cli;
    // Writable by the normal user too, so an escape as that user would show here.
    chmodSync(a.canary, 0o777);
    if (isRoot) {
      if (sh('id', ['-u', USER]).code !== 0) expect(sh('useradd', ['--create-home', USER]).code).toBe(0);
      ids = { uid: Number(sh('id', ['-u', USER]).stdout), gid: Number(sh('id', ['-g', USER]).stdout) };
    }
    for (const who of WHO) {
      for (const d of [home(who), cacheOf(who), tmpOf(who)]) {
        mkdirSync(d, { recursive: true });
        if (who === 'user' && isRoot) chownSync(d, ids.uid, ids.gid);
      }
    }
    probeDir = tempDir('sy-probes-');
    chmodSync(probeDir, 0o755);
    for (const p of ['escape', 'mknod', 'mount', 'devices', 'rowrite', 'caps']) compile(p, path.join(probeDir, p));
  }, 300_000);

  it.each(WHO)('chroot("x"), climbing "..", chroot(".") cannot reach the host (%s)', (who) => {
    for (const out of inStepAndRun(who, 'escape', [path.join(a.canary, 'escaped')])) {
      expect(out).toMatch(/escape blocked: .*\/canary\/escaped: No such file or directory/);
      expect(out).not.toMatch(/ESCAPED/);
    }
  });

  it.each(WHO)('mknod of the host disk and mounting it fail (%s)', (who) => {
    const dev = statSync(a.dir).dev;
    const [major, minor] = [(dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00)];
    const fs = sh('findmnt', ['-n', '-o', 'FSTYPE,TARGET', '-T', a.dir]).stdout.trim().split(/\s+/);
    const below = path.join('/', path.relative(fs[1] ?? '/', path.join(a.canary, 'pwned')));
    for (const out of inStepAndRun(who, 'mknod', [String(major), String(minor), fs[0] || 'ext4', below])) {
      expect(out).toMatch(/mknod blk: Operation not permitted/);
      expect(out).toMatch(/mount blk: (Operation not permitted|No such file or directory)/);
      expect(out).not.toMatch(/MKNOD|MOUNTED/);
    }
  });

  it.each(WHO)('no mount of anything: tmpfs, proc, bind, remount, umount (%s)', (who) => {
    for (const out of inStepAndRun(who, 'mount', [])) {
      for (const what of ['tmpfs', 'proc', 'bind', 'remount', 'umount']) expect(out).toMatch(new RegExp(`${what}: Operation not permitted`));
    }
  });

  it.each(WHO)('/dev holds only safe nodes, mknod fails, and an image\'s /dev/null pointing at the host is not used (%s)', (who) => {
    // The image ships /dev with links into the canary; the sandbox's own /dev must cover them.
    const devLinks = `      - kind: symlink
        path: /dev/null
        target: ${path.join(a.canary, 'keep')}
      - kind: symlink
        path: /dev/zero
        target: ${path.join(a.canary, 'zero')}
`;
    const [stepProject, runProject] = [probeProject('devices', devLinks, stepLayer(['/probe'])), probeProject('devices', devLinks)];
    const step = contained(who, () => cliAs(who, ['ls', stepProject, '--layer', 'step']));
    const run = contained(who, () => cliAs(who, ['run', runProject]));
    expect(step.code, step.stderr).toBe(0);
    expect(run.code, run.stderr).toBe(0);
    const safe = ['c 1:3 /dev/null', 'c 1:5 /dev/zero', 'c 1:7 /dev/full', 'c 1:8 /dev/random', 'c 1:9 /dev/urandom', 'c 5:0 /dev/tty', 'c 5:2 /dev/pts/ptmx'];
    for (const out of [step.stderr, run.stdout]) {
      const nodes = [...out.matchAll(/^.*?node (. \d+:\d+ \S+)$/gm)].map((m) => m[1]);
      expect(nodes).toContain('c 1:3 /dev/null');
      for (const n of nodes) expect(safe).toContain(n);
      expect(out).toMatch(/mknod \/dev\/probe-blk: Operation not permitted/);
      expect(out).toMatch(/mknod \/dev\/probe-mem: Operation not permitted/);
      expect(out).not.toMatch(/OPEN blk/);
    }
  });

  it.each(WHO)('an image whose /dev or /mnt is a symlink to a host folder is refused, nothing made there (%s)', (who) => {
    const hostMount = path.join(a.dir, 'mounted');
    mkdirSync(hostMount, { recursive: true });
    const linkAt = (at: string) => `      - kind: symlink
        path: ${at}
        target: ${a.canary}
`;
    const projects = [
      probeProject('caps', linkAt('/dev'), stepLayer(['/probe'])),
      probeProject('caps', linkAt('/dev')),
      probeProject('caps', linkAt('/mnt'), stepLayer(['/probe'], `        mounts: [{ host: ${hostMount}, at: /mnt/x/y }]\n`)),
    ];
    const devStep = contained(who, () => cliAs(who, ['ls', projects[0], '--layer', 'step']));
    expectRefused(devStep, 2, /layers\[1\]\.sources\[0\]: cannot mount at \/dev: \/dev in the image is a symlink/);
    const devRun = contained(who, () => cliAs(who, ['run', projects[1]]));
    expectRefused(devRun, 1, /cannot mount at \/dev: \/dev in the image is a symlink/);
    const mnt = contained(who, () => cliAs(who, ['ls', projects[2], '--layer', 'step']));
    expectRefused(mnt, 2, /layers\[1\]\.sources\[0\]: cannot mount at \/mnt\/x\/y: \/mnt in the image is a symlink/);
  });

  // The submount exists only in a mount namespace of the test's own (unshare -m), where the CLI runs.
  it.skipIf(!isRoot).each(WHO)('nothing is written below a read-only mount or its submounts, not even from a nested namespace (%s)', (who) => {
    const top = path.join(a.dir, 'host', `ro-${who}`);
    const other = path.join(a.dir, 'host', `sub-${who}`);
    mkdirSync(path.join(top, 'sub'), { recursive: true });
    mkdirSync(other, { recursive: true });
    writeFileSync(path.join(other, 'inside'), 'submount\n');
    const p = probeProject('rowrite', '', stepLayer(['/probe', '/mnt/h'], `        mounts: [{ host: ${top}, at: /mnt/h }]\n`));
    const drop = who === 'user' ? ['setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups'] : [];
    const r = contained(who, () =>
      spawnSync(
        'unshare',
        ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'sh', other, path.join(top, 'sub'), ...drop, process.execPath, cliOf(who), 'ls', p, '--layer', 'step', '--cache', cacheOf(who)],
        { encoding: 'utf8', env: envOf(who), cwd: a.dir, timeout: 120_000 },
      ),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/top write \/mnt\/h\/probe: Read-only file system/);
    expect(r.stderr).toMatch(/sub write \/mnt\/h\/sub\/probe: Read-only file system/);
    expect(r.stderr).toMatch(/nested remount rw: (Operation not permitted|Invalid argument)/);
    expect(r.stderr).not.toMatch(/WROTE|nested umount: ok/);
    expect(readdirSync(other)).toEqual(['inside']);
  });

  it.each(WHO)('capabilities are docker\'s default set at most (%s)', (who) => {
    for (const out of inStepAndRun(who, 'caps', [])) {
      const sets = Object.fromEntries([...out.matchAll(/(Cap\w+):\s+([0-9a-f]{16})/g)].map((m) => [m[1], BigInt(`0x${m[2]}`)]));
      expect(Object.keys(sets).sort()).toEqual(['CapAmb', 'CapBnd', 'CapEff', 'CapInh', 'CapPrm']);
      for (const [name, mask] of Object.entries(sets)) expect(mask & ~DOCKER_CAPS, name).toBe(0n);
      expect(sets.CapEff).toBe(DOCKER_CAPS);
    }
  });

  it.each(WHO)('kill -9 of the CLI during a step leaves no process; the next build sweeps its folder (%s)', async (who) => {
    const marker = `sy-kill-${randomBytes(6).toString('hex')}`;
    const p = probeProject('caps', '', stepLayer(['/bin/sleep', '86399'], `        env: { SY_MARKER: ${marker} }\n`));
    const nextProject = probeProject('caps', '', stepLayer(['/probe']));
    const before = hostState();
    const as = who === 'user' && isRoot ? ids : {};
    const child = spawn(process.execPath, [cliOf(who), 'ls', p, '--layer', 'step', '--cache', cacheOf(who)], { ...as, env: envOf(who), cwd: a.dir, stdio: 'ignore' });
    const pid = child.pid!;
    const sandboxed = () => [...processesWith('environ', `SY_MARKER=${marker}`), ...processesWith('cmdline', `scratchyard-step-${pid}-`)];
    await until(() => processesWith('environ', `SY_MARKER=${marker}`).length > 0, 90_000);
    expect(processesWith('environ', `SY_MARKER=${marker}`)).not.toEqual([]);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(pid, 'SIGKILL');
    await exited;
    await until(() => sandboxed().length === 0, 20_000);
    expect(sandboxed()).toEqual([]);
    // The killed build's folder is still there; the next build (any build with a step) removes it.
    expect(readdirSync(tmpOf(who)).filter((n) => n.startsWith(`scratchyard-step-${pid}-`))).toHaveLength(1);
    const next = cliAs(who, ['ls', nextProject, '--layer', 'step']);
    expect(next.code, next.stderr).toBe(0);
    expect(readdirSync(tmpOf(who)).filter((n) => n.startsWith('scratchyard-'))).toEqual([]);
    expect(hostState()).toEqual(before);
  }, 180_000);
});

describe.skipIf(lacks('bwrap', 'gcc'))('the app\'s shell', () => {
  it('runs in the same sandbox, on a terminal, and its folder goes when it exits', async () => {
    const dir = tempDir('sy-sandbox-shell-');
    const p = writeProject(path.join(dir, 'p'), 'name: shell\nlayers:\n  - name: app\n    sources:\n      - kind: busybox\n');
    const events: EngineEvent[] = [];
    const session = new EngineSession({ project: p, cacheDir: path.join(dir, 'cache'), emit: (e) => events.push(e) });
    const mine = () => readdirSync(os.tmpdir()).filter((n) => n.startsWith(`scratchyard-run-${process.pid}-`));
    try {
      const { id } = (await session.handle({ cmd: 'shell.start', cols: 80, rows: 24 })) as { id: string };
      expect(mine()).toHaveLength(1);
      await session.handle({ cmd: 'term.write', id, data: 'grep CapEff /proc/self/status; [ -t 0 ] && echo on-a-tty; exit 3\n' });
      await until(() => events.some((e) => e.event === 'term.exit'), 30_000);
      const out = events.flatMap((e) => (e.event === 'term.data' ? [e.data] : [])).join('');
      expect(out).toMatch(/CapEff:\s+00000000a80425fb/);
      expect(out).toContain('on-a-tty');
      expect(events.find((e) => e.event === 'term.exit')).toMatchObject({ code: 3 });
      await until(() => mine().length === 0, 10_000);
      expect(mine()).toEqual([]);
    } finally {
      session.dispose();
    }
  });
});

describe.skipIf(lacks('bwrap', 'gcc', '/bin/busybox'))('a busybox from the recipe', () => {
  let fakebox: string;
  beforeAll(() => {
    a ??= arena('sy-sandbox-bb-');
    chmodSync(a.dir, 0o755);
    if (isRoot && userCli === CLI) userCli = portableCli().cli;
    chmodSync(a.canary, 0o777);
    for (const who of WHO) {
      for (const d of [home(who), cacheOf(who), tmpOf(who)]) {
        mkdirSync(d, { recursive: true });
        if (who === 'user' && isRoot) chownSync(d, ids.uid, ids.gid);
      }
    }
    fakebox = path.join(tempDir('sy-fakebox-'), 'fakebox');
    chmodSync(path.dirname(fakebox), 0o755);
    compile('fakebox', fakebox, [`-DCANARY="${path.join(a.canary, 'fakebox-ran')}"`, '-DAPPLETS="bin/fakeapplet\\nusr/bin/other\\n"']);
  }, 300_000);

  const bbProject = (file: string, content: Buffer | string, extra = '') => {
    const dir = path.join(a.dir, 'projects', `bb${projects++}`);
    writeProject(dir, `name: bb\nlayers:\n  - name: base\n    sources:\n      - kind: busybox\n        path: tools/${file}\n${extra}`);
    mkdirSync(path.join(dir, 'tools'));
    writeFileSync(path.join(dir, 'tools', file), content, { mode: 0o755 });
    return dir;
  };

  it.each(WHO)('lists the applets inside the sandbox, the path resolved against the project (%s)', (who) => {
    const p = bbProject('box', readFileSync(fakebox));
    const r = contained(who, () => cliAs(who, ['ls', p]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\.\/bin\/fakeapplet 0120777-0-0-/m);
    expect(r.stdout).toMatch(/^\.\/usr\/bin\/other 0120777-0-0-/m);
    expect(existsSync(path.join(a.canary, 'fakebox-ran'))).toBe(false);
  });

  it('refuses a path that is not an ELF executable of this machine, naming the field', () => {
    const who = WHO[WHO.length - 1];
    const script = bbProject('script', '#!/bin/sh\necho bin/x\n');
    const text = contained(who, () => cliAs(who, ['ls', script]));
    expectRefused(text, 2, /layers\[0\]\.sources\[0\]\.path: .*tools\/script is not an ELF executable/);
    const foreign = Buffer.from(readFileSync('/bin/busybox'));
    foreign.writeUInt16LE(foreign.readUInt16LE(18) === 62 ? 183 : 62, 18); // e_machine: another architecture
    const foreignProject = bbProject('foreign', foreign);
    const arch = contained(who, () => cliAs(who, ['ls', foreignProject]));
    expectRefused(arch, 2, /layers\[0\]\.sources\[0\]\.path: .*tools\/foreign is an executable for another architecture/);
  });

  it('refuses applet names that climb out of the image folders', () => {
    const who = WHO[WHO.length - 1];
    const climbing = path.join(path.dirname(fakebox), 'climbing');
    compile('fakebox', climbing, [`-DCANARY="${path.join(a.canary, 'fakebox-ran')}"`, '-DAPPLETS="bin/ok\\n../../etc/passwd\\n"']);
    const p = bbProject('climbing', readFileSync(climbing));
    const r = contained(who, () => cliAs(who, ['ls', p]));
    expectRefused(r, 2, /layers\[0\]\.sources\[0\]\.path: .*--list-full printed "\.\.\/\.\.\/etc\/passwd", which is not an applet path/);
  });
});

/** Processes whose /proc/PID/FILE (environ or cmdline) contains `needle`. */
function processesWith(file: 'environ' | 'cmdline', needle: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/${file}`).includes(needle)) out.push(Number(n));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** Poll `cond` every 100 ms until it holds or `ms` pass (the caller asserts afterwards). */
async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}
