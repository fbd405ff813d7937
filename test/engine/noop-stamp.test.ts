// The no-op stamp (electron/cli/stamp.ts): a build that changed nothing leaves
// a record of every path it looked at, and the next identical command whose
// paths all answer the same is answered from it without loading the engine.
// Any change falls back to the engine and gets the engine's answer, even one
// that keeps a file's size and mtime; a stamp that is damaged, foreign or
// forged is ignored and nothing outside the cache and output is written.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, lacks } from '../helpers/env';
import { arena, boundedCli, expectContained } from '../helpers/hostile';

const MAGIC = Buffer.from('SYNOOP\0\x01');
/** Longer than the stamp's racy window: a path changed within it keeps a stamp from being written. */
const settle = () => new Promise((r) => setTimeout(r, 2_200));
const summary = (stderr: string) => stderr.trim().split('\n').at(-1) ?? '';
/** The progress lines without their timings, which differ between two runs of the engine, in order (the exports end in any order). */
const lines = (stderr: string) => stderr.replace(/ \d+ ms/g, '').trim().split('\n').sort();

describe.skipIf(lacks('busybox', 'strace'))('the no-op stamp', () => {
  const a = arena('sy-stamp-');
  const project = path.join(a.dir, 'p');
  const files = path.join(project, 'files');
  const stamps = path.join(a.cache, 'stamps');
  const v8 = path.join(a.cache, 'v8');
  mkdirSync(files, { recursive: true });
  writeFileSync(path.join(files, 'a.txt'), 'alpha\n');
  writeFileSync(
    path.join(project, 'scratchyard.yaml'),
    'name: stamp\nepoch: 0\nlayers:\n  - name: base\n    sources:\n      - kind: busybox\n  - name: app\n    sources:\n      - kind: copy\n        src: files\n        dest: /srv\n      - kind: file\n        path: /hello\n        content: "hi\\n"\n',
  );
  // A TMPDIR of the runs' own, inside the arena: the containment check sees any temporary they leave, and no other test file's.
  const tmp = path.join(a.dir, 'tmp');
  mkdirSync(tmp);
  const ENV = { ...process.env, TMPDIR: tmp };
  const build = (env: NodeJS.ProcessEnv = ENV) => {
    const r = boundedCli(['build', project, '--cache', a.cache, '--out', a.out, '--format', 'docker,rootfs'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.timedOut).toBe(false);
    return r;
  };
  const stampFiles = () => (existsSync(stamps) ? readdirSync(stamps) : []);
  /** A no-op run by the engine leaves a stamp; the next is answered from it (the engine not loaded, so no code cache is written). */
  const stamped = async () => {
    for (const f of stampFiles()) rmSync(path.join(stamps, f));
    await settle();
    const engine = build();
    expect(stampFiles()).toHaveLength(1);
    rmSync(v8, { recursive: true, force: true });
    const replay = build();
    expect(existsSync(v8), 'the engine was loaded').toBe(false);
    expect(replay.stderr).toBe(engine.stderr);
    expect(replay.stdout).toBe(engine.stdout);
    return replay;
  };
  const rootsTime = () => {
    const dir = path.join(a.cache, 'roots');
    return (JSON.parse(readFileSync(path.join(dir, readdirSync(dir)[0]), 'utf8')) as { time: number }).time;
  };

  it('answers a no-op build as the engine does, and refreshes the roots as the engine would', async () => {
    const first = build();
    expect(summary(first.stderr)).toContain('2 of 2 layers written');
    const before = rootsTime();
    const replay = await stamped();
    expect(summary(replay.stderr)).toMatch(/^stamp: no layer written \(all 2 cached\); outputs already up to date; manifest sha256:[0-9a-f]{64}$/);
    expect(rootsTime()).toBeGreaterThan(before);
    // The engine, made to run by a different environment, gives the same answer.
    const engine = build({ ...ENV, SY_STAMP_TEST: 'another key' });
    expect(existsSync(v8)).toBe(true);
    expect(lines(engine.stderr)).toEqual(lines(replay.stderr));
    // What a shell keeps about itself (the last folder) is no part of the key: still answered from the stamp.
    rmSync(v8, { recursive: true, force: true });
    expect(build({ ...ENV, OLDPWD: '/somewhere/else' }).stderr).toBe(replay.stderr);
    expect(existsSync(v8)).toBe(false);
    // Node flags that make deprecations fatal do not break the recording (process.binding is deprecated).
    const strict = build({ ...ENV, NODE_OPTIONS: '--pending-deprecation --throw-deprecation' });
    expect(strict.stderr).not.toMatch(/DEP0111|Deprecation/);
    // cache gc lets every stamp go (the next no-op writes its own again).
    const gc = boundedCli(['cache', 'gc', '--cache', a.cache]);
    expect(gc.code, gc.stderr).toBe(0);
    expect(existsSync(stamps)).toBe(false);
    await stamped();
  });

  it('falls back to the engine on any change, even one that keeps size and mtime', async () => {
    build();
    await stamped();
    const digestBefore = summary(build().stderr);
    // Same size, mtime set back: only ctime tells.
    const file = path.join(files, 'a.txt');
    const { atime, mtime } = statSync(file);
    writeFileSync(file, 'ALPHA\n');
    utimesSync(file, atime, mtime);
    const changed = build();
    expect(summary(changed.stderr)).toContain('1 of 2 layers written');
    expect(summary(changed.stderr)).not.toBe(digestBefore);
    // A no-op right after a change: a file changed within the racy window keeps a stamp from being written.
    for (const f of stampFiles()) rmSync(path.join(stamps, f));
    expect(summary(build().stderr)).toContain('no layer written');
    expect(stampFiles()).toHaveLength(0);

    // A file added to a folder the build listed.
    await stamped();
    writeFileSync(path.join(files, 'b.txt'), 'beta\n');
    expect(summary(build().stderr)).toContain('1 of 2 layers written');

    // An output removed: the engine writes it again.
    await stamped();
    rmSync(path.join(a.out, 'stamp.docker.tar'));
    expect(summary(build().stderr)).toContain('wrote docker');
    expect(existsSync(path.join(a.out, 'stamp.docker.tar'))).toBe(true);

    // A cached layer's blob gone from the cache.
    await stamped();
    for (const n of readdirSync(path.join(a.cache, 'nodes'))) rmSync(path.join(a.cache, 'nodes', n), { recursive: true });
    expect(summary(build().stderr)).toContain('2 of 2 layers written');

    // The recipe edited.
    await stamped();
    appendFileSync(path.join(project, 'scratchyard.yaml'), '      - kind: dir\n        path: /data\n');
    expect(summary(build().stderr)).toContain('1 of 2 layers written');
  });

  it('found by an audit: a change while the no-op runs, outputs among the bookkeeping, a live temporary', async () => {
    build();
    await stamped();
    // The recipe edited while a no-op runs (the engine's, the stamp removed; its last rename held back 5 s by strace):
    // the stamp it leaves must not take the new recipe for built.
    for (const f of stampFiles()) rmSync(path.join(stamps, f));
    const slow = spawn('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=rename', '-e', 'inject=rename:delay_enter=5000000', process.execPath, CLI, 'build', project, '--cache', a.cache, '--out', a.out, '--format', 'docker,rootfs'], { stdio: 'ignore', env: ENV });
    await new Promise((r) => setTimeout(r, 1_500));
    appendFileSync(path.join(project, 'scratchyard.yaml'), '      - kind: dir\n        path: /during\n');
    await new Promise((r) => slow.on('exit', r));
    await settle();
    const after = build();
    const engine = build({ ...ENV, SY_STAMP_TEST: 'the engine' });
    expect(summary(after.stderr).split('manifest ')[1]).toBe(summary(engine.stderr).split('manifest ')[1]);

    // Outputs kept inside the cache's roots/ folder are still outputs: an SBOM removed there is written again.
    const odd = ['build', project, '--cache', a.cache, '--out', path.join(a.cache, 'roots', 'out'), '--format', 'rootfs'];
    expect(boundedCli(odd).code).toBe(0);
    await settle();
    expect(boundedCli(odd).code).toBe(0);
    rmSync(path.join(a.cache, 'roots', 'out', 'stamp.cdx.json'));
    boundedCli(odd);
    expect(existsSync(path.join(a.cache, 'roots', 'out', 'stamp.cdx.json'))).toBe(true);

    // A temporary in the output folder whose writer is alive is left by the engine while that process lives: no stamp may say so for later.
    await stamped();
    const owner = spawn('sleep', ['60']);
    const temp = path.join(a.out, `.stamp.docker.tar.scratchyard-${owner.pid}-deadbeef.tmp`);
    writeFileSync(temp, 'half-written');
    for (const f of stampFiles()) rmSync(path.join(stamps, f));
    await settle();
    build();
    expect(stampFiles()).toHaveLength(0);
    owner.kill();
    await new Promise((r) => owner.on('exit', r));
    build();
    expect(existsSync(temp)).toBe(false);
  });

  it('ignores a damaged, shared-writable, linked or forged stamp, and writes nothing outside', async () => {
    build();
    await stamped();
    const [name] = stampFiles();
    const file = path.join(stamps, name);
    const good = readFileSync(file);
    const forge = (doc: unknown) => {
      const payload = Buffer.from(JSON.stringify(doc));
      return Buffer.concat([MAGIC, createHash('sha256').update(payload).digest(), payload]);
    };
    const cases: [string, () => void][] = [
      ['garbage', () => writeFileSync(file, 'garbage', { mode: 0o600 })],
      ['truncated', () => writeFileSync(file, good.subarray(0, good.length >> 1), { mode: 0o600 })],
      ['a flipped byte', () => writeFileSync(file, good.map((b, i) => (i === good.length - 10 ? b ^ 0x01 : b)), { mode: 0o600 })],
      ['writable by others', () => (writeFileSync(file, good), chmodSync(file, 0o666))],
      ['a symlink', () => (writeFileSync(path.join(a.canary, 'stamp'), good), symlinkSync(path.join(a.canary, 'stamp'), file))],
      ['roots that climb out', () => writeFileSync(file, forge({ deps: [], roots: { name: '../../canary/keep', text: '{"time":1}' }, stdout: '', stderr: 'forged\n' }), { mode: 0o600 })],
      ['a relative path', () => writeFileSync(file, forge({ deps: [['s', 'canary/keep', '!ENOENT']], stdout: '', stderr: 'forged\n' }), { mode: 0o600 })],
      ['a field too many', () => writeFileSync(file, forge({ deps: [], stdout: '', stderr: 'forged\n', exit: 3 }), { mode: 0o600 })],
    ];
    for (const [why, plant] of cases) {
      rmSync(file, { force: true });
      plant();
      rmSync(v8, { recursive: true, force: true });
      const r = expectContained(a, () => build(), true);
      expect(existsSync(v8), `${why}: the engine ran`).toBe(true);
      expect(r.stderr, why).not.toContain('forged');
      expect(summary(r.stderr), why).toMatch(/^stamp: no layer written/);
      rmSync(path.join(a.canary, 'stamp'), { force: true });
    }
  });
});
