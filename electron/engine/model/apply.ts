// Applying a layer's own entries (as read from its tar) onto the state under
// it, the way docker and containerd do: whiteouts and opaque markers first,
// then the entries.
import type { ImagePath } from '../../../shared/brand';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './diff';
import { ROOT, baseName, parentOf } from './path';
import { plainEntry, putEntry, sortedPaths, type Tree } from './tree';

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
    for (const q of [...out.keys()]) if (removed(q, gone, emptied, IMAGE_PATHS)) out.delete(q);
  }
  for (const p of own) {
    if (baseName(p).startsWith(WHITEOUT_PREFIX)) continue;
    // A folder the layer only implies (no entry of its own) is a plain 0755 folder over the one below:
    // docker's apply makes it so in the layer's own directory, and overlayfs shows that one.
    putEntry(out, p, plainEntry(layer.get(p)!));
  }
  return out;
}

/** How paths of one form nest: image paths ("/" the root) here, tar names ("" the root) in inspect/flat.ts. */
export interface PathForm<P extends string> {
  root: P;
  parent(p: P): P;
}

const IMAGE_PATHS: PathForm<ImagePath> = { root: ROOT, parent: parentOf };

/** Is q removed: whited out itself, or under a whited-out path or an opaque folder? The root never is. */
export function removed<P extends string>(q: P, gone: ReadonlySet<P>, emptied: ReadonlySet<P>, form: PathForm<P>): boolean {
  if (q === form.root) return false;
  if (gone.has(q)) return true;
  for (let a = form.parent(q); ; a = form.parent(a)) {
    if (gone.has(a) || emptied.has(a)) return true;
    if (a === form.root) return false;
  }
}
