// The CLI's V8 code cache (electron/cli/code-cache.ts): kept in the cache
// folder, keyed by the engine bundle's digest and the command, and treated as
// untrusted — a damaged, foreign, shared-writable or symlinked cache file is
// ignored (the command works as without it) and replaced, atomically.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LARGE_TREE } from '../../electron/engine/tools/heap';
import { REPO, cli, tempDir } from '../helpers/env';

const digest = createHash('sha256').update(readFileSync(path.join(REPO, 'dist/cli-engine.cjs'))).digest('hex');
const MAGIC = Buffer.from('SYV8\0\0\0\x01');

/** `cache du --json` on an existing empty cache: a quick command that loads the engine bundle. */
function du(cache: string) {
  const r = cli(['cache', 'du', '--json', '--cache', cache]);
  expect(r.code, r.stderr).toBe(0);
  // Its total counts the code cache too: what is compared is the rest.
  const { total: _total, ...rest } = JSON.parse(r.stdout) as { total: number };
  return rest;
}

function fresh(): { cache: string; file: string; expected: unknown } {
  const cache = tempDir('sy-v8-');
  const expected = du(cache);
  return { cache, file: path.join(cache, 'v8', `${digest}.cache.bin`), expected };
}

const valid = (file: string) => {
  const b = readFileSync(file);
  return b.subarray(0, MAGIC.length).equals(MAGIC) && createHash('sha256').update(b.subarray(MAGIC.length + 32)).digest().equals(b.subarray(MAGIC.length, MAGIC.length + 32));
};

describe('the code cache of the engine bundle', () => {
  it('is written once, private, whole, and then used as it is', () => {
    const { cache, file } = fresh();
    expect(valid(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readdirSync(path.dirname(file))).toEqual([path.basename(file)]);
    const ino = statSync(file).ino;
    du(cache);
    // Accepted, so not rewritten (a rename would give a new inode).
    expect(statSync(file).ino).toBe(ino);
  });

  it('ignores damaged, foreign or shared-writable files and replaces them', () => {
    const { cache, file, expected } = fresh();
    const good = readFileSync(file);
    const payload = Buffer.from('not V8 code cache data at all, but the checksum is right');
    const cases: [string, Buffer][] = [
      ['garbage', Buffer.from('garbage')],
      ['truncated', good.subarray(0, good.length >> 1)],
      ['a flipped byte', Buffer.from(good.map((b, i) => (i === good.length - 100 ? b ^ 0xff : b)))],
      // Passes our checksum: V8 itself must refuse it (cachedDataRejected).
      ['foreign payload', Buffer.concat([MAGIC, createHash('sha256').update(payload).digest(), payload])],
    ];
    for (const [why, bytes] of cases) {
      writeFileSync(file, bytes, { mode: 0o600 });
      expect(du(cache), why).toEqual(expected);
      expect(valid(file), why).toBe(true);
      expect(readFileSync(file).equals(bytes), why).toBe(false);
    }
    chmodSync(file, 0o666);
    const ino = statSync(file).ino;
    expect(du(cache)).toEqual(expected);
    expect(statSync(file).ino).not.toBe(ino);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('never follows a symlink, and drops the caches of other bundles', () => {
    const { cache, file, expected } = fresh();
    const elsewhere = path.join(tempDir('sy-v8-target-'), 'target');
    writeFileSync(elsewhere, 'keep');
    const old = path.join(path.dirname(file), `${'0'.repeat(64)}.cache.bin`);
    writeFileSync(old, 'an older bundle', { mode: 0o600 });
    rmSync(file);
    symlinkSync(elsewhere, file);
    expect(du(cache)).toEqual(expected);
    expect(readFileSync(elsewhere, 'utf8')).toBe('keep');
    expect(valid(file)).toBe(true);
    expect(existsSync(old)).toBe(false);
  });

  it('is not made where no cache folder exists', () => {
    const missing = path.join(tempDir('sy-v8-none-'), 'nothing-here');
    expect(cli(['--help', '--cache', missing]).code).toBe(0);
    expect(existsSync(missing)).toBe(false);
    // `schema` creates no cache folder: none is made for the code cache either.
    expect(cli(['schema', '--cache', missing]).code).toBe(0);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('the code cache and the heap policy (engine/tools/heap.ts)', () => {
  /** A project whose one layer is a tarball of `n` empty files, made by tar(1). */
  function projectOf(n: number): string {
    const dir = tempDir('sy-v8-tar-');
    execFileSync('sh', ['-c', `mkdir ${dir}/files && cd ${dir}/files && seq -f f%g ${n} | xargs touch && tar -cf ../rootfs.tar .`]);
    writeFileSync(path.join(dir, 'scratchyard.yaml'), 'name: many\nlayers:\n  - name: a\n    sources:\n      - kind: tarball\n        src: rootfs.tar\n');
    return dir;
  }

  // A process that read a large tree told V8 to favour size; a cache it made would carry those
  // flags, and every fresh process would refuse it (and make its own again). Such a process makes none.
  it('is written after a small tree is read, and not after a large one', () => {
    for (const [n, written] of [[100, true], [LARGE_TREE + 10, false]] as const) {
      const cache = tempDir('sy-v8-heap-');
      const project = projectOf(n);
      const r = cli(['build', project, '--cache', cache, '--out', path.join(project, 'out'), '--no-sbom', '--format', 'rootfs']);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(path.join(cache, 'v8', `${digest}.build.bin`)), `${n} entries`).toBe(written);
    }
  });
});
