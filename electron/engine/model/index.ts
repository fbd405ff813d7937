// Indexes over a tree for views: children of each folder, cumulative folder
// sizes. Built once per tree (O(n log n)), then every page is a slice.
import type { ImagePath } from '../../../shared/brand';
import { ROOT, parentOf } from './path';
import { sortedPaths, type Tree } from './tree';

export interface TreeIndex {
  children: Map<ImagePath, ImagePath[]>;
  /** Files: their size; folders: the sum of everything under them. */
  sizes: Map<ImagePath, number>;
}

export function indexTree(tree: Tree): TreeIndex {
  // One sort, then array passes: a parent sorts before its children, and
  // siblings come out in name (byte) order, so no per-folder sort is needed.
  const paths = sortedPaths(tree);
  const n = paths.length;
  const at = new Map<ImagePath, number>();
  const parent = new Int32Array(n).fill(-1);
  const size = new Float64Array(n);
  const dirs = new Map<ImagePath, ImagePath[]>();
  const files = new Map<ImagePath, ImagePath[]>();
  for (let i = 0; i < n; i++) {
    const p = paths[i];
    const e = tree.get(p)!;
    at.set(p, i);
    if (e.type === 'file') size[i] = e.size;
    if (p === ROOT) continue;
    const d = parentOf(p);
    parent[i] = at.get(d) ?? -1;
    const lists = e.type === 'dir' ? dirs : files;
    let list = lists.get(d);
    if (!list) lists.set(d, (list = []));
    list.push(p);
  }
  // Deepest first, so each folder's total is final before its parent adds it.
  for (let i = n - 1; i > 0; i--) if (parent[i] >= 0) size[parent[i]] += size[i];
  const sizes = new Map<ImagePath, number>();
  for (let i = 0; i < n; i++) sizes.set(paths[i], size[i]);
  // Folders first, then by name, as file managers show them.
  const children = new Map<ImagePath, ImagePath[]>();
  for (const [d, list] of dirs) children.set(d, list);
  for (const [d, list] of files) {
    const before = children.get(d);
    children.set(d, before ? before.concat(list) : list);
  }
  return { children, sizes };
}

const memo = new WeakMap<Tree, TreeIndex>();

/**
 * indexTree, once per tree object: the explorer, the size map and the largest
 * folders of one image share it. Trees are not changed once built (layers
 * and states are new Maps), which is what makes this safe.
 */
export function indexOf(tree: Tree): TreeIndex {
  let idx = memo.get(tree);
  if (!idx) memo.set(tree, (idx = indexTree(tree)));
  return idx;
}
