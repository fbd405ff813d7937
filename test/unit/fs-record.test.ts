// The recording under the no-op stamp (electron/cli/fs-record.ts): every way
// of touching a path, through node:fs, fs/promises or a stream, is seen at
// Node's binding; a program run, a socket, a write the caller refuses or an
// unknown binding call taints it; stopping puts every call back.
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, promises as fsp, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRecording } from '../../electron/cli/fs-record';

const dir = path.join(os.tmpdir(), `sy-fsrec-${process.pid}`);
mkdirSync(path.join(dir, 'sub'), { recursive: true });
writeFileSync(path.join(dir, 'a'), 'a');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const inDir = (p: string) => p.startsWith(dir + path.sep);

describe('recording what a build looked at', () => {
  it('sees reads made every way, with how each path was looked at', async () => {
    const rec = startRecording(inDir)!;
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
    const looks = Object.fromEntries([...r.looked].map(([p, s]) => [path.relative(dir, p), [...s].sort().join('')]));
    expect(looks).toEqual({ a: 'rs', sub: 'kls', missing: 's' });
  });

  it('keeps writes the caller allows, and is tainted by any other', () => {
    const rec = startRecording((p) => inDir(p) && path.basename(p) !== 'forbidden')!;
    writeFileSync(path.join(dir, 'b'), 'b');
    renameSync(path.join(dir, 'b'), path.join(dir, 'c'));
    rmSync(path.join(dir, 'c'));
    mkdirSync(path.join(dir, 'new'));
    let r = rec.stop();
    expect(r.tainted).toBeUndefined();
    expect([...r.written].map((p) => path.relative(dir, p)).sort()).toEqual(['b', 'c', 'new']);

    const again = startRecording((p) => inDir(p) && path.basename(p) !== 'forbidden')!;
    writeFileSync(path.join(dir, 'forbidden'), 'x');
    r = again.stop();
    expect(r.tainted).toContain(path.join(dir, 'forbidden'));
  });

  it('is tainted by a program run, synchronously or not, and by a socket', async () => {
    let rec = startRecording(inDir)!;
    execFileSync('true');
    expect(rec.stop().tainted).toBe('a program was run');

    rec = startRecording(inDir)!;
    await new Promise((resolve) => spawn('true').on('exit', resolve));
    expect(rec.stop().tainted).toBe('a program was run');

    rec = startRecording(inDir)!;
    await new Promise((resolve) => net.connect(1, '127.0.0.1').on('error', resolve));
    expect(rec.stop().tainted).toBe('a socket was opened');
  });

  it('puts every call back when stopped', () => {
    const binding = (name: string) => (process as unknown as { binding(n: string): Record<string, unknown> }).binding(name);
    const fsBefore = { ...binding('fs') };
    const spawnBefore = binding('spawn_sync').spawn;
    const rec = startRecording(() => false)!;
    expect(binding('fs').stat).not.toBe(fsBefore.stat);
    rec.stop();
    expect({ ...binding('fs') }).toEqual(fsBefore);
    for (const k of Object.keys(fsBefore)) expect(binding('fs')[k], k).toBe(fsBefore[k]);
    expect(binding('spawn_sync').spawn).toBe(spawnBefore);
  });
});
