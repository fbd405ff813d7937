// A tree is a root filesystem as data: path -> entry. Contents live in the
// blob store under their sha256; ownership and modes are what the recipe says.
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { ROOT, ancestors, comparePaths, isUnder, parentOf } from './path';

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export interface Entry {
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size of a file; 0 for everything else. */
  size: number;
  /** sha256 of a file's content. */
  digest?: Sha256;
  /** Target of a symlink, as written. */
  target?: string;
  /** Files sharing a `link` key are hard links of one inode. */
  link?: string;
  /** Device numbers of char and block devices. */
  rdev?: [number, number];
  /** Extended attributes, values base64-encoded (security.capability is binary). */
  xattrs?: Record<string, string>;
  /**
   * A folder only as the place of what lies under it (a tar's parent with no
   * entry of its own, a copy's destination): a build keeps a folder already at
   * its path, as tar and docker's COPY keep it (placeEntry). Never in a state.
   */
  implied?: true;
}

export type Tree = Map<ImagePath, Entry>;

export const TYPE_BITS: Record<EntryType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

export function dirEntry(mode = 0o755, uid = 0, gid = 0): Entry {
  return { type: 'dir', mode, uid, gid, size: 0 };
}

export function emptyTree(): Tree {
  return new Map([[ROOT, dirEntry()]]);
}

export function sortedPaths(tree: Tree): ImagePath[] {
  const paths = [...tree.keys()];
  // The default sort compares UTF-16 code units, which is byte order unless a
  // path holds surrogates or U+E000..U+FFFF; only then pay for comparePaths.
  return paths.some((p) => /[\ud800-\uffff]/.test(p)) ? paths.sort(comparePaths) : paths.sort();
}

export class TreeConflictError extends Error {}

/**
 * Put a source's entry: an implied folder only where neither a folder nor a
 * symlink is (then as a plain one; what lies under a symlink lands through
 * it), anything else as putEntry puts it. True when something was put.
 */
export function placeEntry(tree: Tree, path: ImagePath, entry: Entry): boolean {
  const there = entry.implied ? tree.get(path)?.type : undefined;
  if (there === 'dir' || there === 'symlink') return false;
  putEntry(tree, path, plainEntry(entry));
  return true;
}

/** The entry without the `implied` mark, which no state holds. */
export function plainEntry(entry: Entry): Entry {
  if (!entry.implied) return entry;
  const { implied: _implied, ...plain } = entry;
  return plain;
}

/**
 * Put an entry at a path the way extracting an archive over a root would:
 * missing parents are created as 0755 root directories, a non-directory
 * replaces whatever was there (with everything under it), and a directory
 * over a directory keeps the children. An ancestor that is not a directory is
 * a conflict: we never write through a symlink.
 */
export function putEntry(tree: Tree, path: ImagePath, entry: Entry): void {
  // Every entry's ancestors are folders, so a folder parent means the whole chain is there
  // (the usual case: archives list a folder before what it holds).
  if (tree.get(parentOf(path))?.type !== 'dir') ensureFolders(tree, path);
  const old = tree.get(path);
  if (old && old.type === 'dir' && entry.type !== 'dir') removeSubtree(tree, path);
  tree.set(path, entry);
}

function ensureFolders(tree: Tree, path: ImagePath): void {
  for (const a of ancestors(path)) {
    const e = tree.get(a);
    if (e === undefined) tree.set(a, dirEntry());
    else if (e.type !== 'dir') {
      throw new TreeConflictError(`cannot create ${path}: ${a} is a ${e.type}${e.type === 'symlink' ? ` (-> ${e.target})` : ''}, not a directory`);
    }
  }
}

/** Remove a path and everything under it. Returns whether anything was there. */
export function removeSubtree(tree: Tree, path: ImagePath): boolean {
  if (path === ROOT) {
    const root = tree.get(ROOT);
    tree.clear();
    if (root) tree.set(ROOT, root);
    return true;
  }
  const had = tree.delete(path);
  let under = false;
  for (const p of tree.keys()) {
    if (isUnder(p, path)) {
      tree.delete(p);
      under = true;
    }
  }
  return had || under;
}

/** Overlay `top` onto a copy of `base` (entries of top win, in sorted order so parents come first). */
export function overlay(base: Tree, top: Tree): Tree {
  const out = new Map(base);
  for (const p of sortedPaths(top)) putEntry(out, p, top.get(p)!);
  return out;
}

/** Direct children of a directory, sorted. O(n): fine for views, not for inner loops. */
export function childrenOf(tree: Tree, dir: ImagePath): ImagePath[] {
  return sortedPaths(tree).filter((p) => p !== ROOT && parentOf(p) === dir);
}

export function sameEntry(a: Entry, b: Entry): boolean {
  return (
    a.type === b.type &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.size === b.size &&
    a.digest === b.digest &&
    a.target === b.target &&
    (a.rdev?.join(',') ?? '') === (b.rdev?.join(',') ?? '') &&
    xattrKey(a) === xattrKey(b)
  );
}

function xattrKey(e: Entry): string {
  if (!e.xattrs) return '';
  return Object.keys(e.xattrs)
    .sort()
    .map((k) => `${k}=${e.xattrs![k]}`)
    .join('\0');
}

/** Total bytes of file content in a tree, counting each hard-linked inode once. */
export function contentBytes(tree: Tree): number {
  let n = 0;
  const seen = new Set<string>();
  for (const e of tree.values()) {
    if (e.type !== 'file') continue;
    if (e.link) {
      if (seen.has(e.link)) continue;
      seen.add(e.link);
    }
    n += e.size;
  }
  return n;
}

/** JSON form for the cache: [[path, entry], ...] sorted. */
export function treeToJson(tree: Tree): [string, Entry][] {
  return [...treeRows(tree)];
}

/** The rows of treeToJson one at a time (for a writer that streams them). */
export function* treeRows(tree: Tree): Generator<[string, Entry]> {
  for (const p of sortedPaths(tree)) yield [p, tree.get(p)!];
}

export function treeFromJson(rows: [string, Entry][]): Tree {
  return new Map(rows as [ImagePath, Entry][]);
}
