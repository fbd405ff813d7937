// The recording under the no-op stamp (electron/cli/fs-record.ts): every way
// of touching a path, through node:fs, fs/promises or a stream, is seen at
// Node's binding, with what the path answered just before its first use; a
// program run, a socket, a process looked for, a folder stream or watcher, a
// write the rules refuse or an unknown binding call taints it; stopping puts
// every call back.
import { execFileSync, spawn } from 'node:child_process';
import fs, { createReadStream, existsSync, mkdirSync, promises as fsp, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRecording, type RecordingRules } from '../../electron/cli/fs-record';
import { lookAt } from '../../electron/cli/stamp';

const dir = path.join(os.tmpdir(), `sy-fsrec-${process.pid}`);
mkdirSync(path.join(dir, 'sub'), { recursive: true });
writeFileSync(path.join(dir, 'a'), 'a');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const inDir = (p: string) => p.startsWith(dir + path.sep);
const rules = (mayWrite: (p: string) => boolean = inDir): RecordingRules => ({ mayWrite, ignore: () => false });

describe('recording what a build looked at', () => {
  it('sees reads made every way, with how each path was looked at and what it answered first', async () => {
    const rec = startRecording(rules())!;
    statSync(path.join(dir, 'a'));
    readFileSync(path.join(dir, 'a'));
    readdirSync(path.join(dir, 'sub'));
    realpathSync.native(path.join(dir, 'a'));
    existsSync(path.join(dir, 'missing'));
    await fsp.lstat(path.join(dir, 'sub'));
    await fsp.readFile(path.join(dir, 'a'), 'utf8');
    await new Promise<void>((resolve) => createReadStream(path.join(dir, 'a')).on('close', () => resolve()).resume());
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    const r = rec.stop();
    expect(r.tainted).toBeUndefined();
    expect(r.written.size).toBe(0);
    const looks = Object.fromEntries([...r.looked].map(([p, s]) => [path.relative(dir, p), [...s.keys()].sort().join('')]));
    expect(looks).toEqual({ a: 'rs', sub: 'kls', missing: 's' });
    // A realpath alone is a look at where the path leads, not at what it is.
    const only = startRecording(rules())!;
    realpathSync.native(dir);
    expect([...only.stop().looked.get(dir)!.keys()]).toEqual(['r']);
    expect(r.looked.get(path.join(dir, 'a'))!.get('s')).toBe(lookAt('s', path.join(dir, 'a')));
    expect(r.looked.get(path.join(dir, 'missing'))!.get('s')).toBe('!ENOENT');
  });

  it('keeps a path as it was named: `..` after a symlink is the kernel\'s to resolve, not the recording\'s', () => {
    mkdirSync(path.join(dir, 'real', 'deep', 'L'), { recursive: true });
    symlinkSync(path.join('real', 'deep', 'L'), path.join(dir, 'L'));
    writeFileSync(path.join(dir, 'real', 'deep', 'B'), 'through the link');
    const named = `${dir}/L/../B`;
    const rec = startRecording(rules())!;
    expect(existsSync(named)).toBe(true);
    const r = rec.stop();
    // path.resolve would say `${dir}/B`, which does not exist.
    expect([...r.looked.keys()]).toEqual([named]);
    expect(r.looked.get(named)!.get('s')).not.toBe('!ENOENT');
  });

  it('answers first as the path was before the build used it, so a change while it runs shows', () => {
    const file = path.join(dir, 'changing');
    writeFileSync(file, 'before');
    const rec = startRecording(rules())!;
    readFileSync(file);
    const r = rec.stop();
    writeFileSync(file, 'after!');
    expect(lookAt('s', file)).not.toBe(r.looked.get(file)!.get('s'));
  });

  it('keeps writes the rules allow, and is tainted by any other', () => {
    const rec = startRecording(rules((p) => inDir(p) && path.basename(p) !== 'forbidden'))!;
    writeFileSync(path.join(dir, 'b'), 'b');
    renameSync(path.join(dir, 'b'), path.join(dir, 'c'));
    rmSync(path.join(dir, 'c'));
    mkdirSync(path.join(dir, 'new'));
    let r = rec.stop();
    expect(r.tainted).toBeUndefined();
    expect([...r.written].map((p) => path.relative(dir, p)).sort()).toEqual(['b', 'c', 'new']);

    const again = startRecording(rules((p) => inDir(p) && path.basename(p) !== 'forbidden'))!;
    writeFileSync(path.join(dir, 'forbidden'), 'x');
    r = again.stop();
    expect(r.tainted).toContain(path.join(dir, 'forbidden'));
  });

  it('is tainted by a program run, a socket, a process looked for, a folder stream and a watcher', async () => {
    const taintOf = async (act: () => unknown) => {
      const rec = startRecording(rules())!;
      await Promise.resolve(act()).finally(() => undefined);
      return rec.stop().tainted;
    };
    expect(await taintOf(() => execFileSync('true'))).toBe('a program was run');
    expect(await taintOf(() => new Promise((resolve) => spawn('true').on('exit', resolve)))).toBe('a program was run');
    expect(await taintOf(() => new Promise((resolve) => net.connect(1, '127.0.0.1').on('error', resolve)))).toBe('a socket was opened');
    expect(await taintOf(() => process.kill(process.pid, 0))).toBe('a process was looked for');
    expect(await taintOf(() => fs.opendirSync(dir).closeSync())).toBe('fs.opendirSync');
    expect(await taintOf(async () => (await fs.promises.opendir(dir)).close())).toBe('fs.promises.opendir');
    expect(await taintOf(() => fs.watch(dir).close())).toBe('fs.watch');
  });

  it('puts every call back when stopped', () => {
    const binding = (name: string) => (process as unknown as { binding(n: string): Record<string, unknown> }).binding(name);
    const fsBefore = { ...binding('fs') };
    const spawnBefore = binding('spawn_sync').spawn;
    const [kill, opendir] = [process.kill, fs.opendir];
    const rec = startRecording(rules(() => false))!;
    expect(binding('fs').stat).not.toBe(fsBefore.stat);
    rec.stop();
    for (const k of Object.keys(fsBefore)) expect(binding('fs')[k], k).toBe(fsBefore[k]);
    expect(binding('spawn_sync').spawn).toBe(spawnBefore);
    expect([process.kill, fs.opendir]).toEqual([kill, opendir]);
  });
});
