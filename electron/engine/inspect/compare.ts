// Comparing two trees (two images, two builds, two layers' states). Pure.
import { fileList } from '../model/filelist';
import { comparePaths } from '../model/path';
import type { Entry, Tree } from '../model/tree';

export interface PathChange {
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** Size in a (removed, changed). */
  before?: number;
  /** Size in b (added, changed). */
  after?: number;
}

/** Changed: type, content digest, mode, owner or link target differ (xattrs and hard-link groups are not compared). */
export function entriesDiffer(a: Entry, b: Entry): boolean {
  return (
    a.type !== b.type ||
    a.digest !== b.digest ||
    a.size !== b.size ||
    a.mode !== b.mode ||
    a.uid !== b.uid ||
    a.gid !== b.gid ||
    a.target !== b.target ||
    (a.rdev?.join(',') ?? '') !== (b.rdev?.join(',') ?? '')
  );
}

/** Every path added, removed or changed from a to b, in path (byte) order. */
export function compareTrees(a: Tree, b: Tree): PathChange[] {
  const out: PathChange[] = [];
  for (const [p, ea] of a) {
    const eb = b.get(p);
    if (!eb) out.push({ path: p, change: 'removed', before: ea.size });
    else if (entriesDiffer(ea, eb)) out.push({ path: p, change: 'changed', before: ea.size, after: eb.size });
  }
  for (const [p, eb] of b) if (!a.has(p)) out.push({ path: p, change: 'added', after: eb.size });
  return out.sort((x, y) => comparePaths(x.path, y.path));
}

/**
 * A unified-style diff of the two checksummed file lists (model/filelist.ts):
 * "--- A" / "+++ B" headers, then "-line" / "+line" for every line only one
 * side has, in path order (no context lines: the lists are sorted, so a path's
 * two lines sit together). Empty when the lists are equal.
 */
export function fileListDiff(a: Tree, b: Tree, labels: [string, string] = ['a', 'b']): string {
  const la = fileList(a);
  const lb = fileList(b);
  const key = (line: string) => line.slice(0, line.lastIndexOf(' '));
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < la.length || j < lb.length) {
    if (j >= lb.length || (i < la.length && comparePaths(key(la[i]), key(lb[j])) < 0)) out.push('-' + la[i++]);
    else if (i >= la.length || comparePaths(key(la[i]), key(lb[j])) > 0) out.push('+' + lb[j++]);
    else {
      if (la[i] !== lb[j]) out.push('-' + la[i], '+' + lb[j]);
      i++;
      j++;
    }
  }
  return out.length ? [`--- ${labels[0]}`, `+++ ${labels[1]}`, ...out].join('\n') + '\n' : '';
}
