// The rootfs tar spliced from the bottom layer's tar is byte for byte the tar
// written from the whole final tree, with and without hard links among the
// changes, and GNU tar reads it.
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../../electron/engine/entry/build';
import { writeRootfsTar } from '../../electron/engine/export/rootfs';
import { BlobStore } from '../../electron/engine/store/blobs';
import { BuildCache } from '../../electron/engine/store/cache';
import { sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = tempDir('sy-rootfs-');
const LONG = `/srv/${'a-rather-long-folder-name/'.repeat(5)}file-with-a-name-past-ustar.txt`;

function project(name: string, upper: string): string {
  const dir = writeProject(
    path.join(work, name),
    `name: ${name}
layers:
  - name: base
    sources:
      - kind: busybox
      - kind: copy
        src: files
        dest: /data
      - kind: file
        path: /etc/conf
        content: one
      - kind: file
        path: /bin/rmme
        content: bye
  - name: top
    sources:
${upper}
`,
    { 'files/a': 'linked content', 'files/plain': 'plain' },
  );
  linkSync(path.join(dir, 'files/a'), path.join(dir, 'files/b'));
  return dir;
}

const spliceIndexes = (dir: string) => readdirSync(path.join(dir, 'cache/nodes')).filter((f) => f.startsWith('tar-offsets-'));
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

async function bothWays(dir: string): Promise<{ spliced: string; whole: string }> {
  const cacheDir = path.join(dir, 'cache');
  const r = await build({ project: dir, cacheDir, formats: ['rootfs'], outDir: path.join(dir, 'out') });
  const spliced = path.join(dir, 'out', `${r.recipe.name}.rootfs.tar`);
  const whole = path.join(dir, 'whole.tar');
  const store = new BlobStore(cacheDir);
  const cache = new BuildCache(cacheDir);
  await Promise.all([store.open(), cache.open()]);
  try {
    await writeRootfsTar(whole, store, cache, r.states[r.states.length - 1], r.recipe.epoch);
  } finally {
    await store.close();
  }
  return { spliced, whole };
}

describe('rootfs tar spliced from the bottom layer', () => {
  it('equals the tar of the whole tree: changed, removed, added and long-named paths', async () => {
    const dir = project(
      'edits',
      `      - kind: file
        path: /etc/conf
        content: two
      - kind: remove
        paths: [/bin/rmme]
      - kind: file
        path: ${LONG}
        content: deep`,
    );
    const { spliced, whole } = await bothWays(dir);
    expect(sha(spliced)).toBe(sha(whole));
    // The splice did happen: the bottom layer's entry offsets were read and cached.
    expect(spliceIndexes(dir)).toHaveLength(1);
    const list = sh('tar', ['-tvf', spliced]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(LONG.slice(1));
    expect(list.stdout).not.toContain('bin/rmme');
    expect(list.stdout).toMatch(/^hrw-r--r-- .* data\/b link to data\/a$/m);
    const out = path.join(dir, 'x');
    mkdirSync(out);
    expect(sh('tar', ['-xf', spliced, '-C', out]).code).toBe(0);
    expect(readFileSync(path.join(out, 'etc/conf'), 'utf8')).toBe('two');
  });

  it('equals it too when a hard link changes (written whole then)', async () => {
    const dir = project(
      'links',
      `      - kind: remove
        paths: [/data/a]`,
    );
    const { spliced, whole } = await bothWays(dir);
    expect(sha(spliced)).toBe(sha(whole));
    // /data/b is no longer a link: it carries the content itself.
    expect(sh('tar', ['-tvf', spliced]).stdout).toMatch(/^-rw-r--r-- .* 14 .* data\/b$/m);
    expect(spliceIndexes(dir)).toEqual([]);
  });
});
