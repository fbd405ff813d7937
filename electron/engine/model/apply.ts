// Applying a layer's own entries (as read from its tar) onto the state under
// it, the way docker and containerd do: whiteouts and opaque markers first,
// then the entries.
import type { ImagePath } from '../../../shared/brand';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './diff';
import { baseName, isUnder, parentOf } from './path';
import { putEntry, removeSubtree, sortedPaths, type Tree } from './tree';

export function applyLayer(base: Tree, layer: Tree): Tree {
  const out: Tree = new Map(base);
  const own = sortedPaths(layer);
  for (const p of own) {
    const name = baseName(p);
    const dir = parentOf(p);
    if (name === OPAQUE_MARKER) {
      for (const q of [...out.keys()]) if (isUnder(q, dir)) out.delete(q);
    } else if (name.startsWith(WHITEOUT_PREFIX)) {
      removeSubtree(out, ((dir === '/' ? '' : dir) + '/' + name.slice(WHITEOUT_PREFIX.length)) as ImagePath);
    }
  }
  for (const p of own) {
    if (baseName(p).startsWith(WHITEOUT_PREFIX)) continue;
    putEntry(out, p, layer.get(p)!);
  }
  return out;
}
