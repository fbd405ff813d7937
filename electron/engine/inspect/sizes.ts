// Where the bytes are: largest files, largest folders, and a size map (the
// data of a treemap or sunburst) built with d3-hierarchy. Pure.
import { hierarchy, type HierarchyNode } from 'd3-hierarchy';
import type { ImagePath } from '../../../shared/brand';
import type { SizeNode } from '../../../shared/contract';
import { indexOf } from '../model/index';
import { ROOT, baseName } from '../model/path';
import type { Tree } from '../model/tree';

export interface SizeEntry {
  path: string;
  bytes: number;
  /** The layer that last wrote the file, when a lastWriter was given. */
  layer?: number;
}

/** The size map's node is the contract's: what the engine makes is what the window is sent. */
export type { SizeNode };

export type LastWriter = (path: string) => number | undefined;

/** The n largest regular files, largest first (ties by path). */
export function largestFiles(tree: Tree, n: number, lastWriter?: LastWriter): SizeEntry[] {
  // A running top n, not a sort of every file: 100k files cost one pass.
  const top: SizeEntry[] = [];
  for (const [p, e] of tree) {
    if (e.type !== 'file' || n <= 0) continue;
    const f = { path: p, bytes: e.size };
    if (top.length === n && !before(f, top[n - 1])) continue;
    let i = top.length < n ? top.length : n - 1;
    for (; i > 0 && before(f, top[i - 1]); i--) top[i] = top[i - 1];
    top[i] = f;
  }
  if (lastWriter) for (const f of top) withLayer(f, lastWriter(f.path));
  return top;
}

/** The n largest folders by cumulative bytes (everything under them), "/" left out. */
export function largestDirs(tree: Tree, n: number): SizeEntry[] {
  const { sizes } = indexOf(tree);
  const dirs: SizeEntry[] = [];
  for (const [p, e] of tree) if (e.type === 'dir' && p !== ROOT) dirs.push({ path: p, bytes: sizes.get(p) ?? 0 });
  return topN(dirs, n);
}

/** Largest first, ties by path. */
const before = (a: SizeEntry, b: SizeEntry) => a.bytes > b.bytes || (a.bytes === b.bytes && a.path < b.path);

function topN(list: SizeEntry[], n: number): SizeEntry[] {
  return list.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0)).slice(0, Math.max(0, n));
}

function withLayer<T extends { layer?: number }>(x: T, layer: number | undefined): T {
  if (layer !== undefined) x.layer = layer;
  return x;
}

interface Datum {
  name: string;
  path: ImagePath;
  /** Own bytes: a file's size, a cut folder's cumulative bytes, 0 for an open folder. */
  own: number;
  layer?: number;
  children?: Datum[];
}

/**
 * The size map of the folder `root`: folders `depth` levels below it are
 * leaves carrying their cumulative bytes; children largest first. Summing and
 * sorting are d3-hierarchy's (node.sum, node.sort), so a renderer can hand
 * the same shape to d3's treemap or partition.
 */
export function sizeMap(tree: Tree, root: string, depth: number, lastWriter?: LastWriter): SizeNode {
  const top = (root === '' ? ROOT : root) as ImagePath;
  const rootEntry = tree.get(top);
  if (!rootEntry) throw new Error(`sizeMap: no ${top} in the tree`);
  const { children, sizes } = indexOf(tree);
  const build = (p: ImagePath, level: number): Datum => {
    const e = tree.get(p)!;
    const d: Datum = { name: p === ROOT ? '/' : baseName(p), path: p, own: 0 };
    if (e.type !== 'dir') {
      d.own = e.type === 'file' ? e.size : 0;
      if (lastWriter) withLayer(d, lastWriter(p));
    } else if (level >= depth) d.own = sizes.get(p) ?? 0;
    else d.children = (children.get(p) ?? []).map((c) => build(c, level + 1));
    return d;
  };
  const h = hierarchy(build(top, 0), (d) => d.children)
    .sum((d) => d.own)
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0) || (a.data.path < b.data.path ? -1 : 1));
  const out = (n: HierarchyNode<Datum>): SizeNode => {
    const s: SizeNode = { name: n.data.name, path: n.data.path, bytes: n.value ?? 0 };
    if (n.data.layer !== undefined) s.layer = n.data.layer;
    if (n.children) s.children = n.children.map(out);
    else if (n.data.children) s.children = [];
    return s;
  };
  return out(h);
}

