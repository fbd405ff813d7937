// The explorer's filter (issue 15), as dive's: a path or glob over the whole
// tree, not only the folders opened so far. Matches are kept with the folders
// that lead to them, everything else is pruned. Pure.
import type { ImagePath } from '../../../shared/brand';
import type { TreeIndex } from '../model/index';
import { ROOT, ancestors, baseName } from '../model/path';
import type { Tree } from '../model/tree';

export type Change = 'added' | 'modified' | 'removed' | 'unchanged';

export interface TreeFilter {
  /** Text (a part of a name, or of a path when it holds a "/") or a glob (*, **, ?, [abc]). Empty: every entry. */
  pattern: string;
  /** Only what the layer added, modified or removed, and the folders leading to it. */
  changesOnly?: boolean;
}

export interface FilteredRow {
  path: ImagePath;
  /** 1 for the children of the folder filtered. */
  depth: number;
  /** The entry itself matched (a folder may be listed only as the way to a match). */
  match: boolean;
}

export interface FilteredTree {
  /** The pruned tree in display order (a folder, then what is kept under it). */
  rows: FilteredRow[];
  /** Entries that matched. */
  matches: number;
}

const GLOB = /[*?[]/;

/** A test of one path: text is a case-insensitive part of the name (or of the path, with a "/"); a glob matches the whole name (or the whole path, with a "/"). */
export function pathMatcher(pattern: string): (p: ImagePath) => boolean {
  const pat = pattern.trim();
  if (!pat) return () => true;
  const onPath = pat.includes('/');
  if (!GLOB.test(pat)) {
    const needle = pat.toLowerCase();
    return onPath ? (p) => p.toLowerCase().includes(needle) : (p) => baseName(p).toLowerCase().includes(needle);
  }
  const re = globRegExp(onPath && !pat.startsWith('/') ? `/${pat}` : pat);
  return onPath ? (p) => re.test(p) : (p) => re.test(baseName(p));
}

/** `**` any run of characters (slashes too), `*` any within one name, `?` one character, `[…]` a class. */
export function globRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 'i');
}

/**
 * The tree under `dir` with only the entries that match and the folders on
 * the way to them. `change` tells what the layer does to each path (layer views).
 */
export function filterTree(index: TreeIndex, dir: ImagePath, filter: TreeFilter, change?: (p: ImagePath) => Change | undefined): FilteredTree {
  const matchPath = pathMatcher(filter.pattern);
  const byPattern = filter.pattern.trim() !== '';
  const changed = (p: ImagePath) => !filter.changesOnly || (change?.(p) ?? 'unchanged') !== 'unchanged';
  const rows: FilteredRow[] = [];
  let matches = 0;
  // Depth first, each folder's rows collected before we know whether it stays.
  const walk = (d: ImagePath, depth: number): boolean => {
    let kept = false;
    for (const p of index.children.get(d) ?? []) {
      const at = rows.length;
      const self = changed(p) && (byPattern ? matchPath(p) : true);
      // With no pattern (changes only), folders are the way to changes, not changes counted.
      const countable = self && (byPattern || !index.children.has(p));
      rows.push({ path: p, depth, match: self });
      const below = index.children.has(p) ? walk(p, depth + 1) : false;
      if (self || below) {
        kept = true;
        if (countable) matches++;
      } else rows.length = at;
    }
    return kept;
  };
  walk(dir, 1);
  return { rows, matches };
}

/**
 * Sizes in a layer view: a file its own size, a folder what the layer stores
 * under it (added and modified files), never what lies unchanged below or
 * what the layer removed.
 */
export function layerSizes(tree: Tree, change: (p: ImagePath) => Change | undefined): Map<ImagePath, number> {
  const sizes = new Map<ImagePath, number>();
  for (const [p, e] of tree) {
    if (e.type === 'dir') {
      if (!sizes.has(p)) sizes.set(p, 0);
      continue;
    }
    sizes.set(p, e.type === 'file' ? e.size : 0);
    const c = change(p);
    if (e.type !== 'file' || (c !== 'added' && c !== 'modified')) continue;
    for (const a of [ROOT, ...ancestors(p)]) sizes.set(a, (sizes.get(a) ?? 0) + e.size);
  }
  if (!sizes.has(ROOT)) sizes.set(ROOT, 0);
  return sizes;
}
