// The explorer's filter (issue 15): a path or glob over the whole tree, the
// matches kept with the folders leading to them, the rest pruned; and the
// folder sizes of a layer view.
import { describe, expect, it } from 'vitest';
import { filterTree, globRegExp, layerSizes, pathMatcher } from '../../electron/engine/inspect';
import { indexTree } from '../../electron/engine/model/index';
import { imagePath } from '../../electron/engine/model/path';
import type { Entry, Tree } from '../../electron/engine/model/tree';

const dir: Entry = { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 };
const file = (size: number): Entry => ({ type: 'file', mode: 0o644, uid: 0, gid: 0, size });
const tree = (entries: Record<string, Entry>): Tree => new Map(Object.entries(entries).map(([p, e]) => [imagePath(p), e]));

const t = tree({
  '/': dir,
  '/etc': dir,
  '/etc/passwd': file(40),
  '/etc/ssl': dir,
  '/etc/ssl/certs': dir,
  '/etc/ssl/certs/ca.pem': file(1000),
  '/usr': dir,
  '/usr/share': dir,
  '/usr/share/doc': dir,
  '/usr/share/doc/readme.txt': file(10),
  '/usr/lib': dir,
  '/usr/lib/libc.so.6': file(2000),
  '/usr/lib/libm.so.6': file(500),
});
const ix = indexTree(t);
const paths = (r: ReturnType<typeof filterTree>) => r.rows.map((x) => `${'  '.repeat(x.depth - 1)}${x.path}${x.match ? ' *' : ''}`);

describe('filterTree', () => {
  it('finds a file deep in folders, keeping only the folders on the way', () => {
    const r = filterTree(ix, imagePath('/'), { pattern: 'ca.pem' });
    expect(paths(r)).toEqual(['/etc', '  /etc/ssl', '    /etc/ssl/certs', '      /etc/ssl/certs/ca.pem *']);
    expect(r.matches).toBe(1);
  });

  it('takes a glob on names, or on whole paths when it has a slash', () => {
    expect(filterTree(ix, imagePath('/'), { pattern: '*.so.?' }).rows.filter((r) => r.match).map((r) => r.path)).toEqual(['/usr/lib/libc.so.6', '/usr/lib/libm.so.6']);
    expect(filterTree(ix, imagePath('/'), { pattern: 'usr/**/*.txt' }).rows.filter((r) => r.match).map((r) => r.path)).toEqual(['/usr/share/doc/readme.txt']);
    expect(filterTree(ix, imagePath('/'), { pattern: '/etc/*' }).rows.filter((r) => r.match).map((r) => r.path)).toEqual(['/etc/ssl', '/etc/passwd']);
  });

  it('matches text case-insensitively in names, or in paths with a slash', () => {
    expect(filterTree(ix, imagePath('/'), { pattern: 'LIBC' }).matches).toBe(1);
    expect(filterTree(ix, imagePath('/'), { pattern: 'share/doc' }).rows.filter((r) => r.match).map((r) => r.path)).toEqual(['/usr/share/doc', '/usr/share/doc/readme.txt']);
  });

  it('answers nothing, not every folder, when nothing matches', () => {
    expect(filterTree(ix, imagePath('/'), { pattern: 'zzz-no-such' })).toEqual({ rows: [], matches: 0 });
  });

  it('with changes only, hides unchanged folders and counts the changed entries', () => {
    const change = (p: string) => (p === '/usr/lib/libm.so.6' ? 'removed' : p === '/etc/passwd' ? 'modified' : 'unchanged') as 'removed' | 'modified' | 'unchanged';
    const r = filterTree(ix, imagePath('/'), { pattern: '', changesOnly: true }, change);
    expect(paths(r)).toEqual(['/etc', '  /etc/passwd *', '/usr', '  /usr/lib', '    /usr/lib/libm.so.6 *']);
    expect(r.matches).toBe(2);
    expect(filterTree(ix, imagePath('/'), { pattern: 'passwd', changesOnly: true }, change).matches).toBe(1);
    expect(filterTree(ix, imagePath('/'), { pattern: 'libc', changesOnly: true }, change).rows).toEqual([]);
  });
});

describe('pathMatcher and globRegExp', () => {
  it('keeps regular-expression characters literal', () => {
    expect(pathMatcher('libc.so')(imagePath('/lib/libcXso'))).toBe(false);
    expect(globRegExp('a+b(*)').test('a+b(x)')).toBe(true);
    expect(globRegExp('[!a]?').test('b1')).toBe(true);
    expect(globRegExp('[!a]?').test('a1')).toBe(false);
  });
});

describe('layerSizes', () => {
  it('sizes a folder by what the layer stores below it, not what is unchanged or removed', () => {
    const change = (p: string) => (p === '/usr/lib/libc.so.6' ? 'added' : p === '/usr/lib/libm.so.6' ? 'removed' : p === '/etc/passwd' ? 'modified' : 'unchanged') as 'added' | 'removed' | 'modified' | 'unchanged';
    const s = layerSizes(t, change);
    expect(s.get(imagePath('/usr/lib'))).toBe(2000);
    expect(s.get(imagePath('/usr'))).toBe(2000);
    expect(s.get(imagePath('/etc'))).toBe(40);
    expect(s.get(imagePath('/'))).toBe(2040);
    expect(s.get(imagePath('/usr/lib/libm.so.6'))).toBe(500);
    expect(s.get(imagePath('/usr/share'))).toBe(0);
  });
});
