// Hostile recipes: option-shaped values in every field that reaches a native
// tool, control characters in paths, ids past 2³²−2, forged /etc/passwd fields,
// bad tags, a 300 MB recipe and a billion-laughs document. Each is refused with
// exit 2 and file:line:column plus the field, in bounded time and memory, and
// nothing outside the cache and output changes (the canary among it).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SourceOf } from '../../shared/recipe';
import { usersSource } from '../../electron/engine/sources/users';
import type { SourceContext } from '../../electron/engine/sources/types';
import { BlobStore } from '../../electron/engine/store/blobs';
import { lacks } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused, outsideState, type BoundedResult } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';

// A temp folder of this file's own, for the CLI and for the containment check's
// look at scratchyard's temporaries: other suites' runs on this machine stay out of it.
const TMP = mkdtempSync(path.join(os.tmpdir(), 'sy-hostile-recipe-tmp-'));
process.env.TMPDIR = TMP;
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const a = arena('sy-hostile-recipe-');
const HOOK = `--setup-hook=touch ${a.canary}/x`;
let count = 0;

const recipe = (sources: string[], top = '') => `name: hostile\n${top}layers:\n  - name: base\n    sources:\n${sources.map((s) => `      - ${s}\n`).join('')}`;

function project(text: string): { dir: string; file: string } {
  const dir = writeProject(path.join(a.dir, `p${count++}`), text);
  return { dir, file: path.join(dir, 'scratchyard.yaml') };
}

function build(dir: string): BoundedResult {
  return expectContained(a, () => boundedCli(['build', dir, '--cache', a.cache, '--out', a.out], { timeoutMs: 30_000 }));
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Refused with exit 2, the message "FILE:LINE:COL: FIELD: …why…", and the canary untouched. */
function expectFieldRefused(text: string, field: string, why: RegExp): BoundedResult {
  const p = project(text);
  const r = build(p.dir);
  expectRefused(r, 2, new RegExp(`^${esc(p.file)}:\\d+:\\d+: ${esc(field)}: .*${why.source}`, 'm'), 200);
  expect(existsSync(path.join(a.canary, 'x'))).toBe(false);
  return r;
}

describe('option-shaped values never reach a tool', () => {
  const src = 'layers[0].sources[0]';
  it.each([
    ['debian mirror', `{ kind: debian, mirror: "${HOOK}" }`, `${src}.mirror`, /expected "auto" or an http:\/\/, https:\/\/ or file:\/\/ URL/],
    ['debian mirror, hook after a URL', `{ kind: debian, mirror: "http://deb.debian.org/debian ${HOOK}" }`, `${src}.mirror`, /may not contain spaces/],
    ['debian mirror, a sources.list line', `{ kind: debian, mirror: "deb [trusted=yes] file:/srv bookworm main" }`, `${src}.mirror`, /expected "auto"/],
    ['debian suite', `{ kind: debian, suite: "${HOOK}" }`, `${src}.suite`, /expected a Debian suite name/],
    ['debian component', `{ kind: debian, components: ["main,${HOOK}"] }`, `${src}.components[0]`, /expected a Debian component name/],
    ['debian include', `{ kind: debian, include: ["${HOOK}"] }`, `${src}.include[0]`, /expected a Debian package name/],
    ['debian exclude (a shell hook word)', `{ kind: debian, exclude: ["x; touch ${a.canary}/x"] }`, `${src}.exclude[0]`, /expected a Debian package name/],
    ['host path', `{ kind: host, paths: ["${HOOK}"] }`, `${src}.paths[0]`, /expected an absolute host path/],
    ['run mount host', `{ kind: run, command: "true", mounts: [{ host: "-oremount,rw", at: /mnt }] }`, `${src}.mounts[0].host`, /expected an absolute host path/],
    // Not an option, but the build's own environment (tokens and all) copied into an image.
    ['host path under /proc', `{ kind: host, paths: [/proc/self/environ] }`, `${src}.paths[0]`, /is under \/proc: the kernel's live view/],
    ['host path under /sys', `{ kind: host, paths: [//sys/kernel] }`, `${src}.paths[0]`, /is under \/sys/],
    ['remove of the root', `{ kind: remove, paths: [/etc, /] }`, `${src}.paths[1]`, /the root folder cannot be removed/],
    ['run env name', `{ kind: run, command: "true", env: { "${HOOK}": "1" } }`, `${src}.env.${HOOK}`, /expected an environment variable name/],
    ['run workdir', `{ kind: run, command: "true", workdir: "--wd=/" }`, `${src}.workdir`, /expected an absolute path inside the image/],
  ])('%s', (_name, source, field, why) => {
    expectFieldRefused(recipe([source]), field, why);
  });

  it.each([
    ['tag', 'tag: "--help"\n', 'tag', /expected an image reference/],
    ['architecture', 'architecture: "--arch=x"\n', 'architecture', /expected an architecture name/],
    ['config.workdir', 'config: { workdir: "--wd=/" }\n', 'config.workdir', /expected an absolute path inside the image/],
    ['config.user', 'config: { user: "--privileged" }\n', 'config.user', /expected a user/],
    ['config.exposedPorts', 'config: { exposedPorts: ["-p 22"] }\n', 'config.exposedPorts[0]', /expected a port/],
  ])('%s', (_name, top, field, why) => {
    expectFieldRefused(recipe(['{ kind: dir, path: /etc }'], top), field, why);
  });

  it('the exact place: file, line and column of the mirror', () => {
    const p = project(recipe([`{ kind: dir, path: /etc }`, `kind: debian\n        mirror: "${HOOK}"`]));
    const r = build(p.dir);
    expectRefused(r, 2, `${p.file}:7:17: layers[0].sources[1].mirror: expected "auto" or an http://, https:// or file:// URL, got "--setup-hook=touch /`, 200);
  });
});

describe('paths reject NUL, newline and control characters', () => {
  const src = 'layers[0].sources[0]';
  it.each([
    ['file path, NUL', String.raw`{ kind: file, path: "/etc/x\0y", content: hi }`, `${src}.path`, /contains a NUL byte \(character 7\)/],
    ['dir path, newline', String.raw`{ kind: dir, path: "/etc\n/x" }`, `${src}.path`, /contains a newline/],
    ['symlink target, escape', String.raw`{ kind: symlink, path: /x, target: "/bin/sh\e[2J" }`, `${src}.target`, /contains the control character U\+001B/],
    ['copy dest, DEL', String.raw`{ kind: copy, src: a, dest: "/x\x7f" }`, `${src}.dest`, /contains the control character U\+007F/],
    ['copy src, newline', String.raw`{ kind: copy, src: "a\nb", dest: /x }`, `${src}.src`, /contains a newline/],
    ['tarball src, NUL', String.raw`{ kind: tarball, src: "x\0.tar" }`, `${src}.src`, /contains a NUL byte/],
    ['remove path, carriage return', String.raw`{ kind: remove, paths: ["/etc\r"] }`, `${src}.paths[0]`, /contains a carriage return/],
    ['host path, newline', String.raw`{ kind: host, paths: ["/bin/sh\n"] }`, `${src}.paths[0]`, /contains a newline/],
    ['host path, C1 control', String.raw`{ kind: host, paths: ["/bin/\x85sh"] }`, `${src}.paths[0]`, /contains the control character U\+0085/],
    ['mount target, NUL', String.raw`{ kind: run, command: "true", mounts: [{ host: /tmp, at: "/mnt\0" }] }`, `${src}.mounts[0].at`, /contains a NUL byte/],
    ['workdir, tab', String.raw`{ kind: run, command: "true", workdir: "/tmp\t" }`, `${src}.workdir`, /contains a tab/],
    ['command, NUL', String.raw`{ kind: run, command: "true\0" }`, `${src}.command`, /contains a NUL byte/],
    ['env value, NUL', String.raw`{ kind: run, command: "true", env: { A: "x\0y" } }`, `${src}.env.A`, /contains a NUL byte/],
  ])('%s', (_name, source, field, why) => {
    expectFieldRefused(recipe([source]), field, why);
  });
});

describe('ids are 0 to 2³²−2', () => {
  const users = 'layers[0].sources[0].users[0]';
  it.each([
    ['uid 2³²−1', '{ kind: users, users: [{ name: ava, uid: 4294967295 }] }', `${users}.uid`, /ids run from 0 to 4294967294/],
    ['uid 2³²', '{ kind: users, users: [{ name: ava, uid: 4294967296 }] }', `${users}.uid`, /ids run from 0 to 4294967294/],
    ['uid −1', '{ kind: users, users: [{ name: ava, uid: -1 }] }', `${users}.uid`, /ids are not negative/],
    ['uid 1.5', '{ kind: users, users: [{ name: ava, uid: 1.5 }] }', `${users}.uid`, /expected a whole number/],
    ['gid −1', '{ kind: users, users: [{ name: ava, uid: 1, gid: -1 }] }', `${users}.gid`, /ids are not negative/],
    ['group gid 2³²', '{ kind: users, groups: [{ name: staff, gid: 4294967296 }] }', 'layers[0].sources[0].groups[0].gid', /ids run from 0 to 4294967294/],
    ['file owner gid 2³²−1', '{ kind: file, path: /x, content: hi, owner: "0:4294967295" }', 'layers[0].sources[0].owner', /id 4294967295 is out of range/],
    ['dir owner uid 2³²', '{ kind: dir, path: /x, owner: "4294967296:0" }', 'layers[0].sources[0].owner', /id 4294967296 is out of range/],
    ['owner −1', '{ kind: dir, path: /x, owner: "-1:0" }', 'layers[0].sources[0].owner', /expected numeric "uid:gid"/],
  ])('%s', (_name, source, field, why) => {
    expectFieldRefused(recipe([source]), field, why);
  });
});

describe('user and group fields cannot forge /etc/passwd lines', () => {
  const u = 'layers[0].sources[0].users[0]';
  it.each([
    ['home with a newline and a root line', String.raw`{ name: ava, uid: 1000, home: "/home/a\nroot::0:0::/:/bin/sh" }`, `${u}.home`, /contains a newline/],
    ['shell with ":"', '{ name: ava, uid: 1000, shell: "/bin/sh:x" }', `${u}.shell`, /contains ":" \(character 8\)/],
    ['relative shell', '{ name: ava, uid: 1000, shell: "sh" }', `${u}.shell`, /expected an absolute path inside the image/],
    ['name with ":"', '{ name: "ava:x:0:0", uid: 1000 }', `${u}.name`, /contains ":"/],
    ['name with a newline', String.raw`{ name: "ava\nroot", uid: 1000 }`, `${u}.name`, /contains a newline/],
    ['upper-case name', '{ name: Ava, uid: 1000 }', `${u}.name`, /expected a user name like "ava"/],
    ['name of 33 characters', `{ name: ${'a'.repeat(33)}, uid: 1000 }`, `${u}.name`, /at most 32 characters/],
    ['gecos with ":"', '{ name: ava, uid: 1000, gecos: "x:0:0" }', `${u}.gecos`, /contains ":"/],
    ['supplementary group with a newline', String.raw`{ name: ava, uid: 1000, groups: ["staff\nroot"] }`, `${u}.groups[0]`, /contains a newline/],
  ])('%s', (_name, user, field, why) => {
    expectFieldRefused(recipe([`{ kind: users, users: [${user}] }`]), field, why);
  });

  it('a group name with ":"', () => {
    expectFieldRefused(recipe(['{ kind: users, groups: [{ name: "staff:x", gid: 50 }] }']), 'layers[0].sources[0].groups[0].name', /contains ":"/);
  });

  it('the writer refuses a forged field even when the schema is bypassed', async () => {
    const store = new BlobStore(path.join(a.cache, 'writer'));
    const ctx = { state: new Map(), store, epoch: 0, field: 'layers[0].sources[0]' } as unknown as SourceContext;
    const forged = { kind: 'users', groups: [], users: [{ name: 'ava', uid: 1000, home: '/home/ava', shell: '/bin/sh\nroot::0:0::/:/bin/sh', gecos: '', groups: [] }] } as SourceOf<'users'>;
    await expect(usersSource(forged, ctx)).rejects.toThrow(/refusing to write .* into the entry of "ava"/);
  });

  it('the largest ids and a gecos with commas build into exact lines', () => {
    const p = project(recipe(['{ kind: dir, path: /etc }', '{ kind: users, users: [{ name: ava, uid: 4294967294, gid: 4294967294, home: /home/ava, shell: /bin/sh, gecos: "Ava,,," }] }'], 'tag: localhost:5000/team/app_x:1.0-rc\n'));
    const r = boundedCli(['build', p.dir, '--cache', a.cache, '--out', path.join(a.out, 'ok'), '--format', 'rootfs']);
    expect(r.code, r.stderr).toBe(0);
    const passwd = execFileSync('tar', ['-xOf', path.join(a.out, 'ok', 'hostile.rootfs.tar'), 'etc/passwd'], { encoding: 'utf8' });
    expect(passwd).toBe('root:x:0:0:root:/root:/bin/sh\nava:x:4294967294:4294967294:Ava,,,:/home/ava:/bin/sh\n');
  });
});

describe('tags follow the image reference grammar', () => {
  it.each([
    ['upper case', 'Hello:latest', /repository names are lower-case/],
    ['a space', 'hello world:1', /contains a space/],
    ['a climbing component', '../hello:1', /no empty, "\." or "\.\." components/],
    ['a climbing inner component', 'team/../hello', /no empty, "\." or "\.\." components/],
    ['a short digest', 'hello@sha256:abc', /expected an image reference/],
    ['a digest', `hello@sha256:${'0'.repeat(64)}`, /cannot be tagged with a digest/],
  ])('%s', (_name, tag, why) => {
    expectFieldRefused(recipe(['{ kind: dir, path: /etc }'], `tag: "${tag}"\n`), 'tag', why);
  });
});

describe('size and expansion caps', () => {
  it('a 300 MB recipe is refused before it is read', () => {
    const dir = path.join(a.dir, 'huge');
    mkdirSync(dir);
    const file = path.join(dir, 'scratchyard.yaml');
    // Sparse: the size is what stat says, no disk is spent.
    execFileSync('truncate', ['-s', '300M', file]);
    const r = build(dir);
    expectRefused(r, 2, `${file}:0:0: the recipe is 314572800 bytes (300.0 MiB); a recipe may be at most 1048576 bytes (1.0 MiB)`, 200);
  });

  it('a recipe one byte over 1 MiB is refused, naming the size', () => {
    const text = recipe(['{ kind: dir, path: /etc }']);
    const p = project(text + '#'.repeat((1 << 20) + 1 - Buffer.byteLength(text)));
    const r = build(p.dir);
    expectRefused(r, 2, `${p.file}:0:0: the recipe is 1048577 bytes (1.0 MiB); a recipe may be at most 1048576 bytes`, 200);
  });

  it('a billion-laughs document is refused at its first alias', () => {
    let doc = 'name: laughs\nl0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]\n';
    for (let i = 1; i <= 9; i++) doc += `l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]\n`;
    const p = project(doc + 'layers: [{ name: base, sources: [{ kind: file, path: /x, content: *l9 }] }]\n');
    const r = build(p.dir);
    expectRefused(r, 2, `${p.file}:3:10: YAML: aliases expand past 100 nodes`, 200);
  });

  it('a document nested thousands deep is refused as too deep, not as a parser crash', () => {
    const p = project(`name: deep\nlayers: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    const r = build(p.dir);
    expectRefused(r, 2, `${p.file}:2:`, 200);
    expect(r.stderr).toContain('YAML: nested too deeply to read');
    expect(r.stderr).not.toMatch(/call stack/i);
  });

  it('a FIFO in place of the recipe is refused, not waited on', () => {
    const dir = path.join(a.dir, 'fifo');
    mkdirSync(dir);
    execFileSync('mkfifo', [path.join(dir, 'scratchyard.yaml')]);
    const r = build(dir);
    expectRefused(r, 2, `${path.join(dir, 'scratchyard.yaml')}:0:0: not a regular file`, 200);
  });

  it('a FIFO, a folder or a socket as a tarball source is refused, naming the field, not waited on', () => {
    const dir = path.join(a.dir, 'fifo-tarball');
    mkdirSync(dir);
    execFileSync('mkfifo', [path.join(dir, 'rootfs.tar')]);
    mkdirSync(path.join(dir, 'folder.tar'));
    execFileSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path.join(dir, 'socket.tar')]);
    for (const src of ['rootfs.tar', 'folder.tar', 'socket.tar']) {
      writeFileSync(path.join(dir, 'scratchyard.yaml'), `name: f\nlayers:\n  - name: a\n    sources:\n      - kind: tarball\n        src: ${src}\n`);
      expectRefused(build(dir), 2, `layers[0].sources[0].src: ${src} is not a regular file`, 200);
    }
  });

  it('a FIFO swapped in and out for the tarball while it is imported is never waited on', async () => {
    // The file flips between a tar and a FIFO every few microseconds. Each build either imports
    // the tar it opened or refuses the FIFO by name; none may open the FIFO by path after its
    // check, which would wait for a writer that never comes. A fresh cache per build, so every
    // one takes the import path.
    // An arena of its own: its canary and everything beside the caches and outputs must be as they were.
    const s = arena('sy-fifo-swap-');
    const dir = path.join(s.dir, 'fifo-swap');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'hello'), 'hi\n');
    execFileSync('tar', ['-C', dir, '-cf', path.join(dir, 'real.tar'), 'hello']);
    linkSync(path.join(dir, 'real.tar'), path.join(dir, 'rootfs.tar'));
    writeFileSync(path.join(dir, 'scratchyard.yaml'), 'name: f\nlayers:\n  - name: a\n    sources:\n      - kind: tarball\n        src: rootfs.tar\n');
    // FIFO first: renaming a link over another link of the same file does nothing (POSIX), and t1 would stay.
    const swap = 'import os\nwhile True:\n  os.mkfifo("t2"); os.rename("t2", "rootfs.tar")\n  os.link("real.tar", "t1"); os.rename("t1", "rootfs.tar")\n';
    const before = outsideState(s);
    const swapper = spawn('python3', ['-c', swap], { cwd: dir, stdio: 'ignore' });
    const codes: number[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const r = boundedCli(['build', dir, '--cache', path.join(s.cache, String(i)), '--out', path.join(s.out, String(i)), '--no-sbom'], { timeoutMs: 20_000 });
        expect(r.timedOut, `build ${i} waited (${Math.round(r.ms)} ms): ${r.stderr}`).toBe(false);
        if (r.code === 2) expect(r.stderr).toContain('layers[0].sources[0].src: rootfs.tar is not a regular file');
        else expect(r.code, r.stderr).toBe(0);
        codes.push(r.code);
      }
    } finally {
      // Gone before the next test looks at what changed outside its cache.
      const gone = new Promise((resolve) => swapper.once('exit', resolve));
      swapper.kill('SIGKILL');
      await gone;
    }
    expect(codes.length).toBe(8);
    // The swapper's own traces undone (it may have stopped between its steps), the project is as it was.
    for (const t of ['t1', 't2']) rmSync(path.join(dir, t), { force: true });
    rmSync(path.join(dir, 'rootfs.tar'), { force: true });
    linkSync(path.join(dir, 'real.tar'), path.join(dir, 'rootfs.tar'));
    expect(outsideState(s)).toEqual(before);
  });

  it('a ".wh." name from a project folder or a build step is refused at its source: docker would delete instead', () => {
    const copied = project(recipe(['{ kind: busybox, links: false }', '{ kind: copy, src: f, dest: /bin }']));
    mkdirSync(path.join(copied.dir, 'f'));
    writeFileSync(path.join(copied.dir, 'f', '.wh.busybox'), '');
    expectRefused(build(copied.dir), 2, /layers\[0\]\.sources\[1\]: \/bin\/\.wh\.busybox has a name beginning "\.wh\."/, 200);
    if (lacks('bwrap')) return;
    const stepped = project(recipe(['{ kind: busybox }', '{ kind: run, command: "touch /bin/.wh.busybox" }']));
    expectRefused(build(stepped.dir), 2, /layers\[0\]\.sources\[1\]: \/bin\/\.wh\.busybox has a name beginning "\.wh\."/, 200);
  });

  it("a project whose out/ or scratchyard.trace/ is a symlink out of it: refused, naming it, nothing written there", () => {
    const target = path.join(a.canary, 'planted');
    mkdirSync(target, { recursive: true });
    const withOut = project(recipe(['{ kind: file, path: /a, content: x }']));
    symlinkSync(target, path.join(withOut.dir, 'out'));
    // The default out folder: not the arena's --out.
    const r = expectContained(a, () => boundedCli(['build', withOut.dir, '--cache', a.cache], { timeoutMs: 30_000 }));
    expectRefused(r, 2, `${path.join(withOut.dir, 'out')}:0:0: is a symbolic link (to ${target})`, 200);
    expect(readdirSync(target)).toEqual([]);
    if (lacks('strace', 'bwrap')) return;
    const traced = project(recipe(['{ kind: host, paths: [/bin/true], trace: [["/bin/true"]] }']));
    symlinkSync(target, path.join(traced.dir, 'scratchyard.trace'));
    expectRefused(build(traced.dir), 2, /layers\[0\]\.sources\[0\]\.trace: .*scratchyard\.trace is a symbolic link/, 200);
    expect(readdirSync(target)).toEqual([]);
  });

  it('bytes that are not UTF-8 are refused', () => {
    const p = project('name: x\n');
    writeFileSync(p.file, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    expectRefused(build(p.dir), 2, `${p.file}:0:0: not UTF-8 text`, 200);
  });
});
