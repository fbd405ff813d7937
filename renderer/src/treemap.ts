// The size map's geometry, pure: a SizeNode tree laid out by d3-hierarchy's
// squarified treemap into boxes the view positions absolutely.
import { hierarchy, treemap, treemapSquarify } from 'd3-hierarchy';
import type { SizeNode } from '../../shared/contract';

export interface Box {
  /** Unique per box (a folded block shares its folder's path). */
  key: string;
  name: string;
  path: string;
  bytes: number;
  layer?: number;
  /** Depth below the map's root (1 = its children). */
  depth: number;
  /** A folder: click zooms in. */
  dir: boolean;
  /** Stands for this many small entries ("… N more"). */
  folded?: number;
  /** Drawn with its own children inside it. */
  parent: boolean;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Room for a folder's name above its children. */
export const LABEL_H = 16;

/**
 * Boxes for every node under `root` (not the root itself), parents before
 * their children, each child inside its parent's box. Sizes are proportional
 * to bytes; boxes smaller than `minSide` pixels are dropped.
 */
export function layoutTreemap(root: SizeNode, width: number, height: number, minSide = 2): Box[] {
  if (width <= 0 || height <= 0 || root.bytes <= 0) return [];
  const h = hierarchy(root, (n) => n.children)
    // A folder's value is the sum of its children; one sent without children keeps its own bytes.
    .sum((n) => (n.children?.length ? 0 : Math.max(0, n.bytes)))
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0) || (a.data.name < b.data.name ? -1 : 1));
  const laid = treemap<SizeNode>().tile(treemapSquarify).size([width, height]).paddingInner(1).paddingOuter(2).paddingTop((n) => (n.depth === 0 ? 0 : LABEL_H)).round(true)(h);
  const out: Box[] = [];
  for (const n of laid.descendants()) {
    if (n.depth === 0 || (n.value ?? 0) <= 0) continue;
    const w = n.x1 - n.x0;
    const hh = n.y1 - n.y0;
    if (w < minSide || hh < minSide) continue;
    out.push({
      key: n.data.folded ? `${n.data.path}\0more` : n.data.path,
      name: n.data.name,
      path: n.data.path,
      bytes: n.data.bytes,
      ...(n.data.layer !== undefined ? { layer: n.data.layer } : {}),
      depth: n.depth,
      dir: !!n.data.dir || !!n.data.children?.length,
      ...(n.data.folded ? { folded: n.data.folded } : {}),
      parent: !!n.children?.length,
      x: n.x0,
      y: n.y0,
      w,
      h: hh,
    });
  }
  return out;
}

/** The folders from / down to `dir`, for the breadcrumb. */
export function crumbs(dir: string): { name: string; path: string }[] {
  const parts = dir.split('/').filter(Boolean);
  return [{ name: '/', path: '/' }, ...parts.map((p, i) => ({ name: p, path: '/' + parts.slice(0, i + 1).join('/') }))];
}

/** A colour per layer, far apart in hue (golden angle), readable text on top. */
export function layerColour(i: number | undefined): string {
  if (i === undefined) return 'hsl(220 8% 40%)';
  return `hsl(${Math.round((i * 137.508 + 200) % 360)} 50% 38%)`;
}
