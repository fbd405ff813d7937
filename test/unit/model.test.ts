// The pure model: paths, trees, file lists, layer diffs, image metadata.
import { describe, expect, it } from 'vitest';
import type { ImagePath, Sha256 } from '../../shared/brand';
import { recipeSchema } from '../../shared/recipe';
import { diffTrees } from '../../electron/engine/model/diff';
import { sha256 } from '../../electron/engine/model/digest';
import { fileList, treeDigest } from '../../electron/engine/model/filelist';
import { ancestors, comparePaths, imagePath, resolveLinkTarget, strictImagePath } from '../../electron/engine/model/path';
import { emptyTree, placeEntry, putEntry, removeSubtree, type Entry, type Tree } from '../../electron/engine/model/tree';
import { applyLayer } from '../../electron/engine/model/apply';
import { layerItems } from '../../electron/engine/oci/tarwriter';
import { imageMeta } from '../../electron/engine/oci/image';
import { indexTree } from '../../electron/engine/model/index';
import { largestDirs, largestFiles } from '../../electron/engine/inspect/sizes';

const P = (s: string) => s as ImagePath;
const file = (content: string, mode = 0o644, uid = 0, gid = 0): Entry => ({ type: 'file', mode, uid, gid, size: content.length, digest: sha256(content) });
const dir = (mode = 0o755): Entry => ({ type: 'dir', mode, uid: 0, gid: 0, size: 0 });

function tree(entries: Record<string, Entry>): Tree {
  const t = emptyTree();
  for (const p of Object.keys(entries).sort(comparePaths)) putEntry(t, P(p), entries[p]);
  return t;
}

describe('image paths', () => {
  it('normalizes and refuses to climb above the root', () => {
    expect(imagePath('bin//./sh/')).toBe('/bin/sh');
    expect(imagePath('/a/b/../c')).toBe('/a/c');
    expect(() => imagePath('/../etc/passwd')).toThrow(/escapes the image root/);
    expect(() => strictImagePath('a/../b')).toThrow(/contains ".."/);
  });

  it('sorts like LC_ALL=C sort', () => {
    const paths = ['/bin/sh', '/bin-x', '/bin', '/B', '/a'];
    expect([...paths].sort(comparePaths)).toEqual(['/B', '/a', '/bin', '/bin-x', '/bin/sh']);
  });

  it('resolves symlink targets inside the image', () => {
    expect(resolveLinkTarget(P('/lib64/ld.so'), '../lib/x86_64-linux-gnu/ld.so')).toBe('/lib/x86_64-linux-gnu/ld.so');
    expect(resolveLinkTarget(P('/a/b'), '/../../etc')).toBe('/etc');
    expect(ancestors(P('/a/b/c'))).toEqual(['/a', '/a/b']);
  });
});

describe('trees', () => {
  it('creates missing parents and never writes through a symlink', () => {
    const t = emptyTree();
    putEntry(t, P('/usr/bin/env'), file('x'));
    expect(t.get(P('/usr'))?.type).toBe('dir');
    putEntry(t, P('/lib'), { type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target: 'usr/lib' });
    expect(() => putEntry(t, P('/lib/libc.so.6'), file('c'))).toThrow(/\/lib is a symlink/);
  });

  it('a file replacing a folder takes its children with it', () => {
    const t = tree({ '/a/b/c': file('1') });
    putEntry(t, P('/a'), file('2'));
    expect([...t.keys()].sort()).toEqual(['/', '/a']);
    expect(removeSubtree(t, P('/a'))).toBe(true);
  });
});

describe('implied folders', () => {
  it("an image layer's folder without an entry of its own is a plain folder over the one below, as docker on overlayfs shows it; none is left marked", () => {
    const below = tree({ '/tmp': dir(0o1777), '/srv': dir(0o700), '/opt': file('o') });
    const layer = new Map<ImagePath, Entry>([
      [P('/tmp'), { ...dir(), implied: true }],
      [P('/tmp/x'), file('x')],
      [P('/srv'), dir(0o755)],
      [P('/opt'), { ...dir(), implied: true }],
      [P('/opt/y'), file('y')],
      [P('/new'), { ...dir(), implied: true }],
      [P('/new/z'), file('z')],
    ]);
    const out = applyLayer(below, layer);
    expect(out.get(P('/tmp'))).toEqual(dir());
    expect(out.get(P('/tmp/x'))).toEqual(file('x'));
    expect(out.get(P('/srv'))).toEqual(dir(0o755));
    expect(out.get(P('/opt'))).toEqual(dir());
    expect(out.get(P('/new'))).toEqual(dir());
    expect([...out.values()].some((e) => e.implied)).toBe(false);
  });

  it("a build's implied folder keeps the folder there (placeEntry), and says whether it put anything", () => {
    const t = tree({ '/tmp': dir(0o1777) });
    expect(placeEntry(t, P('/tmp'), { ...dir(), implied: true })).toBe(false);
    expect(placeEntry(t, P('/var'), { ...dir(0o700), implied: true })).toBe(true);
    expect(t.get(P('/var'))).toEqual(dir(0o700));
  });
});

describe('file lists', () => {
  it('prints the seed format, sorted', () => {
    const t = tree({
      '/bin/busybox': file('bb', 0o755),
      '/bin/sh': { type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target: 'busybox' },
      '/home/ava': { ...dir(0o700), uid: 1000, gid: 1000 },
    });
    expect(fileList(t)).toEqual([
      '. 0040755-0-0-0',
      './bin 0040755-0-0-0',
      `./bin/busybox 0100755-0-0-${sha256('bb')}`,
      `./bin/sh 0120777-0-0-${sha256('busybox')}`,
      './home 0040755-0-0-0',
      './home/ava 0040700-1000-1000-0',
    ]);
  });

  it('tree digests see xattrs and hard links that the file list leaves out', () => {
    const a = tree({ '/x': file('1') });
    const b = tree({ '/x': { ...file('1'), xattrs: { 'user.k': 'dg==' } } });
    expect(fileList(a)).toEqual(fileList(b));
    expect(treeDigest(a)).not.toBe(treeDigest(b));
  });
});

describe('layer diffs', () => {
  const base = tree({
    '/bin/bash': file('bash', 0o755),
    '/bin/busybox': file('bb', 0o755),
    '/etc/motd': file('hi'),
    '/var/cache/a': file('a'),
    '/var/cache/b': file('b'),
    '/opt/app/x': file('x'),
    '/opt/app/y': file('y'),
  });

  it('finds added, modified and removed paths, with parents for added ones', () => {
    const next = new Map(base);
    putEntry(next, P('/etc/motd'), file('hello'));
    putEntry(next, P('/usr/local/bin/tool'), file('t', 0o755));
    removeSubtree(next, P('/bin/bash'));
    const d = diffTrees(base, next);
    expect(d.added).toEqual(['/usr', '/usr/local', '/usr/local/bin', '/usr/local/bin/tool']);
    expect(d.modified).toEqual(['/etc/motd']);
    expect(d.removed).toEqual(['/bin/bash']);
    expect(d.opaque).toEqual([]);
    const names = layerItems(d).map((i) => ('whiteout' in i ? `wh:${i.path}` : i.path));
    expect(names).toEqual(['/bin', 'wh:/bin/.wh.bash', '/etc', '/etc/motd', '/usr', '/usr/local', '/usr/local/bin', '/usr/local/bin/tool']);
  });

  it('a removed folder is one whiteout, not one per file', () => {
    const next = new Map(base);
    removeSubtree(next, P('/opt'));
    const d = diffTrees(base, next);
    expect(d.removed).toEqual(['/opt']);
    expect(layerItems(d).map((i) => i.path)).toEqual(['/.wh.opt']);
  });

  it('a folder emptied and refilled becomes opaque', () => {
    const next = new Map(base);
    removeSubtree(next, P('/var/cache/a'));
    removeSubtree(next, P('/var/cache/b'));
    putEntry(next, P('/var/cache/c'), file('c'));
    const d = diffTrees(base, next);
    expect(d.opaque).toEqual(['/var/cache']);
    expect(d.removed).toEqual([]);
    expect(layerItems(d).map((i) => i.path)).toEqual(['/var', '/var/cache', '/var/cache/.wh..wh..opq', '/var/cache/c']);
  });

  it('a folder replaced by a file needs no whiteouts for its children', () => {
    const next = new Map(base);
    putEntry(next, P('/opt/app'), file('now a file'));
    const d = diffTrees(base, next);
    expect(d.removed).toEqual([]);
    expect(d.modified).toEqual(['/opt/app']);
  });

  it('an unchanged tree gives an empty layer', () => {
    const d = diffTrees(base, new Map(base));
    expect(layerItems(d)).toEqual([]);
  });
});

describe('image metadata', () => {
  const recipe = recipeSchema.parse({
    name: 'hello',
    tag: 'registry.local:5000/team/hello:1.2',
    config: { entrypoint: ['/init'], env: { PATH: '/bin' } },
    layers: [{ name: 'app' }],
  });
  const layer = { name: 'app', diffId: 'a'.repeat(64) as Sha256, digest: 'a'.repeat(64) as Sha256, size: 10, gzip: false, files: 1 };

  it('names the image by the tag part of its reference, for skopeo and umoci', () => {
    const m = imageMeta(recipe, [layer]);
    const index = JSON.parse(m.index.bytes.toString());
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('1.2');
    const docker = JSON.parse(m.dockerManifest.toString());
    expect(docker[0].RepoTags).toEqual(['registry.local:5000/team/hello:1.2']);
  });

  it('writes the epoch as created and the config docker expects', () => {
    const cfg = JSON.parse(imageMeta({ ...recipe, epoch: 86400 }, [layer]).config.bytes.toString());
    expect(cfg.created).toBe('1970-01-02T00:00:00Z');
    expect(cfg.config).toEqual({ Env: ['PATH=/bin'], Entrypoint: ['/init'] });
    expect(cfg.rootfs.diff_ids).toEqual([`sha256:${'a'.repeat(64)}`]);
  });
});

describe('tree index and largest lists', () => {
  const t = tree({
    '/b': file('bb'),
    '/a': dir(),
    '/a/x': file('xxxxx'),
    '/a/y-z': file('yyy'),
    '/a/y': dir(),
    '/a/y/q': file('q'.repeat(7)),
    '/c': dir(),
    '/c/big': file('c'.repeat(9)),
    '/c/tie': file('q'.repeat(7)),
  });

  it('lists folders first, then names in byte order, and sums every folder', () => {
    const { children, sizes } = indexTree(t);
    expect(children.get(P('/'))).toEqual(['/a', '/c', '/b']);
    expect(children.get(P('/a'))).toEqual(['/a/y', '/a/x', '/a/y-z']);
    expect(sizes.get(P('/a'))).toBe(5 + 3 + 7);
    expect(sizes.get(P('/'))).toBe(2 + 15 + 16);
  });

  it('keeps the n largest files, largest first, ties by path, as a full sort would', () => {
    expect(largestFiles(t, 3).map((f) => [f.path, f.bytes])).toEqual([['/c/big', 9], ['/a/y/q', 7], ['/c/tie', 7]]);
    expect(largestFiles(t, 100).map((f) => f.path)).toEqual(['/c/big', '/a/y/q', '/c/tie', '/a/x', '/a/y-z', '/b']);
    expect(largestFiles(t, 0)).toEqual([]);
    expect(largestDirs(t, 2)).toEqual([{ path: '/c', bytes: 16 }, { path: '/a', bytes: 15 }]);
  });
});
