// A layer is the difference between two trees: what the upper state adds or
// changes over its diffbase, plus OCI whiteouts for what it removes.
import type { ImagePath } from '../../../shared/brand';
import { ROOT, ancestors, baseName, isUnder, parentOf } from './path';
import { sameEntry, sortedPaths, type Entry, type Tree } from './tree';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export interface LayerChanges {
  /** Entries to write: added or modified ones, plus unchanged parents so the layer extracts on its own. */
  entries: Tree;
  /** Paths of the diffbase that this layer removes (the topmost of each removed subtree). */
  removed: ImagePath[];
  /** Directories whose every lower child is gone: one opaque marker instead of many whiteouts. */
  opaque: ImagePath[];
  added: ImagePath[];
  modified: ImagePath[];
}

export function diffTrees(base: Tree, next: Tree): LayerChanges {
  const added: ImagePath[] = [];
  const modified: ImagePath[] = [];
  const hardLinkChanged = hardLinkChanges(base, next);
  for (const p of sortedPaths(next)) {
    if (p === ROOT) continue;
    const b = base.get(p);
    const n = next.get(p)!;
    if (!b) added.push(p);
    else if (!sameEntry(b, n) || hardLinkChanged(p, b, n)) modified.push(p);
  }

  // Paths that vanished, and directories that lost every child they had.
  const gone = sortedPaths(base).filter((p) => p !== ROOT && !next.has(p));
  const lowerChildren = new Map<ImagePath, number>();
  const goneChildren = new Map<ImagePath, number>();
  for (const p of base.keys()) {
    if (p === ROOT) continue;
    const d = parentOf(p);
    lowerChildren.set(d, (lowerChildren.get(d) ?? 0) + 1);
    if (!next.has(p)) goneChildren.set(d, (goneChildren.get(d) ?? 0) + 1);
  }
  const opaque: ImagePath[] = [];
  for (const [d, n] of goneChildren) {
    const nd = next.get(d);
    const bd = base.get(d);
    // Only worth it when it replaces more than one whiteout; ROOT cannot be opaque in a tar.
    if (d !== ROOT && n > 1 && n === lowerChildren.get(d) && nd?.type === 'dir' && bd?.type === 'dir') opaque.push(d);
  }
  const opaqueSet = new Set(opaque);

  // A removal is implied when an ancestor is itself removed, replaced by a non-directory, or opaque.
  const removed: ImagePath[] = [];
  const goneSet = new Set(gone);
  for (const p of gone) {
    const covered = ancestors(p).some((a) => goneSet.has(a) || opaqueSet.has(a) || (next.get(a) !== undefined && next.get(a)!.type !== 'dir'));
    if (!covered && !opaqueSet.has(parentOf(p))) removed.push(p);
  }

  const entries: Tree = new Map();
  const keep = (p: ImagePath) => {
    for (const a of ancestors(p)) if (!entries.has(a)) entries.set(a, next.get(a)!);
    entries.set(p, next.get(p)!);
  };
  for (const p of [...added, ...modified]) keep(p);
  // Whiteouts and opaque markers live in their parent directory, which must be in the layer.
  for (const p of removed) if (parentOf(p) !== ROOT) keep(parentOf(p));
  for (const d of opaque) {
    keep(d);
    // An opaque directory hides every lower child, so all current children must be re-sent.
    for (const p of next.keys()) if (isUnder(p, d)) keep(p);
  }
  return { entries, removed, opaque, added, modified };
}

/**
 * A layer diffed against a diffbase that is not the state under it (`below`):
 * everything that differs from the diffbase, as the recipe asks, and also
 * whatever differs from `below`, so that applied over `below`, as docker and
 * umoci apply it, it gives `next` exactly. Whiteouts and opaque markers are
 * `below`'s: a path a layer between the two added, and this one removes, is
 * whited out (against the diffbase alone it stayed in the image); a path it
 * changed and this one set back is written again.
 */
export function diffOverBase(diffbase: Tree, below: Tree, next: Tree): LayerChanges {
  const own = diffTrees(diffbase, next);
  if (diffbase === below) return own;
  const over = diffTrees(below, next);
  const entries: Tree = new Map(own.entries);
  for (const [p, e] of over.entries) entries.set(p, e);
  const union = (a: ImagePath[], b: ImagePath[]) => [...new Set([...a, ...b])];
  return { entries, removed: over.removed, opaque: over.opaque, added: union(own.added, over.added), modified: union(own.modified, over.modified) };
}

/**
 * For two trees that stay as they are while it is used: does a file's set of
 * hard-link partners differ between them? Such a file must be rewritten even
 * if its own attributes did not change. Each tree's groups are gathered once,
 * on the first linked file asked about (an image of git has hundreds).
 */
export function hardLinkChanges(base: Tree, next: Tree): (p: ImagePath, b: Entry, n: Entry) => boolean {
  let groups: [Map<string, string[]>, Map<string, string[]>] | undefined;
  const gather = (t: Tree) => {
    const out = new Map<string, string[]>();
    for (const [q, e] of t) {
      if (!e.link) continue;
      const g = out.get(e.link);
      if (g) g.push(q);
      else out.set(e.link, [q]);
    }
    for (const g of out.values()) g.sort();
    return out;
  };
  return (p, b, n) => {
    if (!b.link && !n.link) return false;
    groups ??= [gather(base), gather(next)];
    const partners = (g: Map<string, string[]>, key: string | undefined) => (key === undefined ? '' : (g.get(key) ?? []).filter((q) => q !== p).join('\0'));
    return partners(groups[0], b.link) !== partners(groups[1], n.link);
  };
}

export function whiteoutName(p: ImagePath): ImagePath {
  const d = parentOf(p);
  return ((d === ROOT ? '' : d) + '/' + WHITEOUT_PREFIX + baseName(p)) as ImagePath;
}

export function opaqueName(d: ImagePath): ImagePath {
  return (d + '/' + OPAQUE_MARKER) as ImagePath;
}
