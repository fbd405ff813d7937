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
  const children = new Map<ImagePath, ImagePath[]>();
  const sizes = new Map<ImagePath, number>();
  const paths = sortedPaths(tree);
  for (const p of paths) {
    sizes.set(p, tree.get(p)!.type === 'file' ? tree.get(p)!.size : 0);
    if (p === ROOT) continue;
    const d = parentOf(p);
    let list = children.get(d);
    if (!list) children.set(d, (list = []));
    list.push(p);
  }
  // Deepest first, so each folder's total is final before its parent adds it.
  for (let i = paths.length - 1; i > 0; i--) {
    const p = paths[i];
    const d = parentOf(p);
    sizes.set(d, (sizes.get(d) ?? 0) + sizes.get(p)!);
  }
  // Folders first, then by name, as file managers show them.
  for (const list of children.values()) list.sort((a, b) => Number(tree.get(b)!.type === 'dir') - Number(tree.get(a)!.type === 'dir') || (a < b ? -1 : a > b ? 1 : 0));
  return { children, sizes };
}
