// Applying a layer's own entries (as read from its tar) onto the state under
// it, the way docker and containerd do: whiteouts and opaque markers first,
// then the entries.
import type { ImagePath } from '../../../shared/brand';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './diff';
import { ROOT, baseName, parentOf } from './path';
import { putEntry, sortedPaths, type Tree } from './tree';

export function applyLayer(base: Tree, layer: Tree): Tree {
  const out: Tree = new Map(base);
  const own = sortedPaths(layer);
  // Whiteouts (a path and all under it) and opaque markers (all under a folder)
  // are gathered first and removed in one pass over the state: a scan per
  // whiteout would make an image of many whiteouts quadratic.
  const gone = new Set<ImagePath>();
  const emptied = new Set<ImagePath>();
  for (const p of own) {
    const name = baseName(p);
    const dir = parentOf(p);
    if (name === OPAQUE_MARKER) emptied.add(dir);
    else if (name.startsWith(WHITEOUT_PREFIX)) gone.add(((dir === '/' ? '' : dir) + '/' + name.slice(WHITEOUT_PREFIX.length)) as ImagePath);
  }
  if (gone.size || emptied.size) {
    for (const q of [...out.keys()]) if (removed(q, gone, emptied)) out.delete(q);
  }
  for (const p of own) {
    if (baseName(p).startsWith(WHITEOUT_PREFIX)) continue;
    putEntry(out, p, layer.get(p)!);
  }
  return out;
}

/** Is q removed: whited out itself, or under a whited-out path or an opaque folder? The root never is. */
function removed(q: ImagePath, gone: Set<ImagePath>, emptied: Set<ImagePath>): boolean {
  if (q === ROOT) return false;
  if (gone.has(q)) return true;
  for (let a = parentOf(q); ; a = parentOf(a)) {
    if (gone.has(a) || emptied.has(a)) return true;
    if (a === ROOT) return false;
  }
}
