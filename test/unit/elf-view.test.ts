// Paths resolved inside a tree the way the kernel resolves them inside that root.
import { describe, expect, it } from 'vitest';
import { imagePath } from '../../electron/engine/model/path';
import { dirEntry, type Entry, type Tree } from '../../electron/engine/model/tree';
import { resolveInTree } from '../../electron/engine/sources/elf/view';

const link = (target: string): Entry => ({ type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target });
const file: Entry = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1 };

function tree(entries: Record<string, Entry>): Tree {
  const t: Tree = new Map([[imagePath('/'), dirEntry()]]);
  for (const [p, e] of Object.entries(entries)) t.set(imagePath(p), e);
  return t;
}

describe('resolveInTree', () => {
  const t = tree({
    '/usr': dirEntry(),
    '/usr/lib': dirEntry(),
    '/usr/lib/libc.so.6': file,
    '/lib': link('usr/lib'),
    '/lib64': link('/usr/lib'),
    '/usr/lib/up': link('../../../../usr/lib/libc.so.6'),
    '/etc': link('/etc'),
    '/a': link('b'),
    '/b': link('a'),
    '/f': file,
  });

  it('follows relative and absolute symlinks on the way, inside the tree', () => {
    expect(resolveInTree(t, '/lib/libc.so.6')).toMatchObject({ path: '/usr/lib/libc.so.6' });
    expect(resolveInTree(t, '/lib64/./libc.so.6')).toMatchObject({ path: '/usr/lib/libc.so.6' });
  });

  it('stops ".." at the root, as inside a chroot: never onto the host', () => {
    expect(resolveInTree(t, '/usr/lib/up')).toMatchObject({ path: '/usr/lib/libc.so.6' });
    expect(resolveInTree(t, '/../../usr/lib/libc.so.6')).toMatchObject({ path: '/usr/lib/libc.so.6' });
  });

  it('keeps the last symlink when asked', () => {
    expect(resolveInTree(t, '/lib/up', false)).toMatchObject({ path: '/usr/lib/up', entry: { type: 'symlink' } });
  });

  it('refuses loops after 40 links, and paths through a file', () => {
    expect(resolveInTree(t, '/a')).toEqual({ missing: 'too many levels of symbolic links at /a' });
    expect(resolveInTree(t, '/etc/ld.so.conf')).toEqual({ missing: 'too many levels of symbolic links at /etc' });
    expect(resolveInTree(t, '/f/x')).toEqual({ missing: '/f is a file, not a folder' });
    expect(resolveInTree(t, '/nope/x')).toEqual({ missing: '/nope does not exist' });
  });
});
