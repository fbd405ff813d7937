// Layers, totals and waste of an image, from its layers' own trees (whiteouts
// as .wh.* files, as sources/image.ts reads them). Pure.
//
// Ours: a stored copy is wasted when the final filesystem never shows it — a
// higher layer wrote the path again (or put a non-folder over a folder above
// it), or removed it (a whiteout of it or of a folder above it, an opaque
// marker in a folder above it). efficiency = 1 - wasted / stored.
//
// dive's (github.com/wagoodman/dive, filetree/efficiency.go and
// image/docker/image.go), computed as it does: every leaf of every layer's
// tree is one occurrence of its path, sized by its tar header (0 for folders,
// symlinks and hard links; a whiteout counts the bytes under the folder it
// removes, or 0 for a file). wastedBytes sums all occurrences of every path
// seen more than once, the surviving copy too; efficiency = Σ smallest
// occurrence / Σ all occurrences over all paths; userWastedPercent =
// wastedBytes / bytes of every layer but the first.
import type { ImagePath } from '../../../shared/brand';
import { applyLayer } from '../model/apply';
import { OPAQUE_MARKER, WHITEOUT_PREFIX, opaqueName, whiteoutName } from '../model/diff';
import { ROOT, ancestors, baseName, parentOf } from '../model/path';
import { contentBytes, emptyTree, type Entry, type Tree } from '../model/tree';

export interface AnalyzedLayer {
  tree: Tree;
  digest: string;
  command?: string;
}

export interface WastedPath {
  path: string;
  bytes: number;
  /** Index of the layer that stored this copy. */
  storedIn: number;
  /** Index of the first layer above that hid it. */
  hiddenBy: number;
  how: 'overwritten' | 'removed';
}

export interface LayerFigures {
  index: number;
  digest: string;
  /** Regular-file bytes stored in the layer, hard links counted once. */
  bytes: number;
  /** Entries of the layer (whiteouts included, "/" not). */
  files: number;
  command?: string;
}

export interface DiveFigures {
  wastedBytes: number;
  efficiency: number;
  /** wastedBytes / bytes of the layers above the first (0 when those hold nothing). */
  userWastedPercent: number;
}

export interface ImageAnalysis {
  layers: LayerFigures[];
  /** Sum of the layers' bytes. */
  stored: number;
  /** Regular-file bytes the final filesystem shows (hard links once). */
  final: number;
  /** Entries of the final filesystem ("/" not counted). */
  files: number;
  wasted: { bytes: number; paths: WastedPath[] };
  /** 1 - wasted / stored (1 when nothing is stored). */
  efficiency: number;
  dive: DiveFigures;
}

export const isWhiteout = (p: ImagePath): boolean => baseName(p).startsWith(WHITEOUT_PREFIX);

/** The states after each layer, bottom first. */
export function layerStates(layers: readonly { tree: Tree }[]): Tree[] {
  const states: Tree[] = [];
  let s = emptyTree();
  for (const l of layers) states.push((s = applyLayer(s, l.tree)));
  return states;
}

/** path -> index of the highest layer holding an entry (not a whiteout) at it. */
export function lastWriterIndex(layers: readonly { tree: Tree }[]): Map<ImagePath, number> {
  const out = new Map<ImagePath, number>();
  layers.forEach((l, i) => {
    for (const p of l.tree.keys()) if (p !== ROOT && !isWhiteout(p)) out.set(p, i);
  });
  return out;
}

export function analyzeImage(layers: readonly AnalyzedLayer[], states: Tree[] = layerStates(layers)): ImageAnalysis {
  const figures: LayerFigures[] = layers.map((l, index) => ({
    index,
    digest: l.digest,
    bytes: contentBytes(l.tree),
    files: l.tree.size - (l.tree.has(ROOT) ? 1 : 0),
    ...(l.command !== undefined ? { command: l.command } : {}),
  }));
  const final = states.length ? states[states.length - 1] : emptyTree();
  const stored = figures.reduce((n, f) => n + f.bytes, 0);
  const paths = wastedPaths(layers, final);
  const wastedBytes = paths.reduce((n, w) => n + w.bytes, 0);
  return {
    layers: figures,
    stored,
    final: contentBytes(final),
    files: final.size - (final.has(ROOT) ? 1 : 0),
    wasted: { bytes: wastedBytes, paths },
    efficiency: stored === 0 ? 1 : 1 - wastedBytes / stored,
    dive: diveFigures(layers, states, figures),
  };
}

function wastedPaths(layers: readonly AnalyzedLayer[], final: Tree): WastedPath[] {
  const writer = lastWriterIndex(layers);
  const out: WastedPath[] = [];
  layers.forEach((l, i) => {
    // One group per stored inode: a hard-link group's bytes are stored once.
    const groups = new Map<string, { paths: ImagePath[]; size: number; visible: boolean }>();
    for (const [p, e] of l.tree) {
      if (e.type !== 'file' || isWhiteout(p)) continue;
      const key = e.link ?? p;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { paths: [], size: e.size, visible: false }));
      g.paths.push(p);
      if (!g.visible && writer.get(p) === i && final.get(p)?.type === 'file') g.visible = true;
    }
    for (const g of groups.values()) {
      if (g.visible || g.size === 0) continue;
      const p = g.paths.sort()[0];
      const hid = hider(layers, i, p);
      out.push({ path: p, bytes: g.size, storedIn: i, hiddenBy: hid.layer, how: hid.how });
    }
  });
  return out.sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : a.storedIn - b.storedIn));
}

/** The first layer above `i` that hides path p, and how. */
function hider(layers: readonly AnalyzedLayer[], i: number, p: ImagePath): { layer: number; how: WastedPath['how'] } {
  const above = ancestors(p);
  for (let j = i + 1; j < layers.length; j++) {
    const t = layers[j].tree;
    for (const a of above) {
      if (t.has(whiteoutName(a)) || t.has(opaqueName(a))) return { layer: j, how: 'removed' };
      const e = t.get(a);
      if (e && e.type !== 'dir') return { layer: j, how: 'overwritten' };
    }
    if (t.has(whiteoutName(p))) return { layer: j, how: 'removed' };
    if (t.has(p)) return { layer: j, how: 'overwritten' };
  }
  return { layer: -1, how: 'removed' };
}

/** The size dive reads from a tar header: a file's, 0 for a hard link after its first path. */
function headerSize(p: ImagePath, e: Entry): number {
  return e.type === 'file' && (e.link === undefined || e.link === p) ? e.size : 0;
}

/**
 * Header bytes under each folder of a state, summed in one walk and only when
 * first asked for (a whiteout of a folder): one scan of the state per layer,
 * however many folders the layer removes.
 */
function subtreeSizes(state: Tree): () => Map<ImagePath, number> {
  let sums: Map<ImagePath, number> | undefined;
  return () => {
    if (sums) return sums;
    sums = new Map();
    for (const [q, qe] of state) {
      const size = headerSize(q, qe);
      if (size === 0 || q === ROOT) continue;
      for (let d = parentOf(q); ; d = parentOf(d)) {
        sums.set(d, (sums.get(d) ?? 0) + size);
        if (d === ROOT) break;
      }
    }
    return sums;
  };
}

function diveFigures(layers: readonly AnalyzedLayer[], states: Tree[], figures: LayerFigures[]): DiveFigures {
  const seen = new Map<ImagePath, { cum: number; min: number; count: number }>();
  layers.forEach((l, i) => {
    const parents = new Set<ImagePath>();
    for (const p of l.tree.keys()) if (p !== ROOT && baseName(p) !== OPAQUE_MARKER) parents.add(parentOf(p));
    const below = i > 0 ? states[i - 1] : emptyTree();
    const under = subtreeSizes(below);
    for (const [p, e] of l.tree) {
      if (p === ROOT || parents.has(p)) continue;
      const name = baseName(p);
      if (name === OPAQUE_MARKER) continue;
      let path = p;
      let size: number;
      if (name.startsWith(WHITEOUT_PREFIX)) {
        const d = parentOf(p);
        path = ((d === ROOT ? '' : d) + '/' + name.slice(WHITEOUT_PREFIX.length)) as ImagePath;
        size = 0;
        if (below.get(path)?.type === 'dir') size = under().get(path) ?? 0;
      } else size = headerSize(p, e);
      const s = seen.get(path);
      if (!s) seen.set(path, { cum: size, min: size, count: 1 });
      else {
        s.cum += size;
        s.min = Math.min(s.min, size);
        s.count++;
      }
    }
  });
  let min = 0;
  let cum = 0;
  let wastedBytes = 0;
  for (const s of seen.values()) {
    min += s.min;
    cum += s.cum;
    if (s.count > 1) wastedBytes += s.cum;
  }
  const user = figures.slice(1).reduce((n, f) => n + f.bytes, 0);
  return { wastedBytes, efficiency: cum === 0 ? 1 : min / cum, userWastedPercent: user === 0 ? 0 : wastedBytes / user };
}
