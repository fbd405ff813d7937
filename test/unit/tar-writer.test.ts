// The layer tar writer: tar-stream encodes its headers, gathered in one reused
// buffer rather than streamed by a Pack. It must give the bytes the Pack gave
// (layer digests must never move), through both of its outputs, and it must
// check every content it copies.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImagePath, Sha256 } from '../../shared/brand';
import type { Entry } from '../../electron/engine/model/tree';
import { tarStream, writeTar, type TarItem } from '../../electron/engine/oci/tarwriter';
import { BlobStore } from '../../electron/engine/store/blobs';
import { CorruptBlobError } from '../../electron/engine/store/integrity';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function fixture() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sy-tarwriter-'));
  dirs.push(dir);
  const store = new BlobStore(dir);
  await store.open();
  const small = await store.putBytes('hello\n');
  const big = await store.putBytes(Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  const mid = await store.putBytes(Buffer.alloc(70 * 1024 + 3, 9));
  const items: TarItem[] = [];
  const add = (p: string, entry: Entry) => items.push({ path: p as ImagePath, entry });
  const f = (d: { digest: Sha256; size: number }, extra: Partial<Entry> = {}): Entry => ({ type: 'file', mode: 0o644, uid: 0, gid: 0, size: d.size, digest: d.digest, ...extra });
  const link = (target: string, mode = 0o777): Entry => ({ type: 'symlink', mode, uid: 0, gid: 0, size: 0, target });
  add('/a', { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
  add('/a/zero-mode-dir', { type: 'dir', mode: 0, uid: 0, gid: 0, size: 0 });
  add('/a/zero-mode-file', f(small, { mode: 0 }));
  add('/a/' + 'x'.repeat(99), f(small));
  add('/a/' + 'y'.repeat(100), f(small));
  add('/a/' + 'd'.repeat(150) + '/' + 'z'.repeat(98), f(small));
  add('/a/' + 'e'.repeat(160) + '/' + 'z'.repeat(120), f(small));
  add('/a/héllo', f(small));
  add('/a/big', f(big, { uid: 1000, gid: 1000 }));
  add('/a/mid', f(mid, { uid: 0o777777 + 5, gid: 0o7777777 + 5 }));
  add('/a/link1', f(big, { link: 'g1' }));
  add('/a/link2', f(big, { link: 'g1' }));
  add('/a/sym', link('/a/big'));
  add('/a/symlong', link('t'.repeat(150)));
  add('/a/symutf', link('ü'));
  add('/a/sym0', link('x', 0));
  add('/a/cdev', { type: 'char', mode: 0o666, uid: 0, gid: 0, size: 0, rdev: [1, 3] });
  add('/a/bdev', { type: 'block', mode: 0o660, uid: 0, gid: 6, size: 0, rdev: [8, 0] });
  add('/a/fifo', { type: 'fifo', mode: 0o644, uid: 0, gid: 0, size: 0 });
  add('/a/xattr', f(small, { xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0xff, 0]).toString('base64'), 'user.a': Buffer.from('v').toString('base64') } }));
  add('/a/empty', f({ digest: createHash('sha256').update('').digest('hex') as Sha256, size: 0 }));
  items.push({ path: '/a/.wh.gone' as ImagePath, whiteout: true });
  add('/a/' + 'ñ'.repeat(120), f(small));
  return { dir, store, items, big };
}

async function written(store: BlobStore, items: TarItem[], epoch: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  await writeTar(store, items, epoch, (b) => pieces.push(Buffer.from(b)));
  return Buffer.concat(pieces);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('tar writer', () => {
  it('writes the bytes tar-stream wrote: long, split and non-ASCII names, PAX xattrs, big ids, devices, hard links, modes of 0', async () => {
    const { store, items } = await fixture();
    // Digests of the same items written by the tar-stream writer this one replaced (but ids past 0o777777, which it clamped, now in PAX).
    const zero = await written(store, items, 0);
    const later = await written(store, items, 1700000000);
    expect(zero.length).toBe(6388736);
    expect(sha(zero)).toBe(GOLDEN_0);
    expect(sha(later)).toBe(GOLDEN_1700000000);
    const streamed: Buffer[] = [];
    for await (const c of tarStream(store, items, 0) as AsyncIterable<Buffer>) streamed.push(c);
    expect(sha(Buffer.concat(streamed))).toBe(GOLDEN_0);
  });

  it('ids past the 6 octal digits tar-stream writes go to PAX records: GNU tar reads each as it was', async () => {
    const { dir, store } = await fixture();
    const small = await store.putBytes('x');
    const ids = [0o777777, 0o777777 + 1, 1_000_000, 0o7777777, 0o7777777 + 1, 4294967294];
    const items: TarItem[] = ids.map((id, i) => ({ path: `/f${i}` as ImagePath, entry: { type: 'file', mode: 0o644, uid: id, gid: id, size: 1, digest: small.digest } }));
    const file = path.join(dir, 'ids.tar');
    writeFileSync(file, await written(store, items, 0));
    const listed = spawnSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' });
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.trim().split('\n').map((l) => l.split(/\s+/)[1])).toEqual(ids.map((id) => `${id}/${id}`));
    // The latest epoch a recipe may give is written as that time.
    writeFileSync(file, await written(store, items.slice(0, 1), 2 ** 31 - 1));
    expect(spawnSync('tar', ['--full-time', '--utc', '-tvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).stdout).toContain('2038-01-19 03:14:07');
  });

  it("device numbers past 6 octal digits (Linux's minors go to 1048575) are written whole: GNU tar reads them", async () => {
    const { dir, store } = await fixture();
    const devs: [number, number][] = [[4095, 1048575], [10, 0o777777 + 1], [1, 3]];
    const items: TarItem[] = devs.map(([major, minor], i) => ({ path: `/d${i}` as ImagePath, entry: { type: 'char', mode: 0o600, uid: 0, gid: 0, size: 0, rdev: [major, minor] } }));
    const file = path.join(dir, 'devs.tar');
    writeFileSync(file, await written(store, items, 0));
    const listed = spawnSync('tar', ['-tvf', file], { encoding: 'utf8' });
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.trim().split('\n').map((l) => l.split(/\s+/)[2])).toEqual(devs.map(([major, minor]) => `${major},${minor}`));
  });

  it('checks what it copies: a damaged blob fails the tar, named', async () => {
    const { store, items, big } = await fixture();
    const file = store.pathOf(big.digest);
    chmodSync(file, 0o644);
    writeFileSync(file, Buffer.alloc(big.size, 8));
    // A fresh store: nothing of this process's own writes is trusted without hashing.
    const fresh = new BlobStore(path.dirname(path.dirname(path.dirname(file))));
    await fresh.open();
    const err = await written(fresh, items, 0).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CorruptBlobError);
    expect((err as CorruptBlobError).digest).toBe(big.digest);
  });
});

const GOLDEN_0 = '0f035c0c296a63dd4fc2e2614a2e74bfcba59f5d99c4867c2a51df6ed31f2cbd';
const GOLDEN_1700000000 = 'a7a285d266dd578f15eff3e89ea70a1e5bc204cf3037aaa125b08d453968cf8d';
