// The filesystem the loader model looks at: the host, a tree (a stage, the
// image) read through the blob store, or the image laid over the tree a
// program came from. Paths are resolved the way the kernel resolves them
// inside that root: symlinks followed within it, ".." stopping at "/", never
// onto the host.
import { promises as fs, type Stats } from 'node:fs';
import type { ImagePath } from '../../../../shared/brand';
import { ancestors, baseName, joinImage, joinImageLenient, parentOf } from '../../model/path';
import type { Entry, Tree } from '../../model/tree';
import type { BlobStore } from '../../store/blobs';

export interface FileStat {
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  /** Identity of the file: two names with one id are one file (ld.so maps it once). */
  id: string;
}

export interface FsView {
  /** What to call it in messages: "this machine", 'stage "build"', "the image". */
  readonly label: string;
  /** The file at `p`, symlinks followed; undefined when missing, a symlink loop, or through a non-directory. */
  stat(p: string): Promise<FileStat | undefined>;
  /** The first `length` bytes (all when omitted) of the regular file at `p`, symlinks followed. */
  read(p: string, length?: number): Promise<Uint8Array | undefined>;
  /** Names in the folder at `p`, symlinks followed; [] when it is not one. */
  readdir(p: string): Promise<string[]>;
  /** The canonical path of `p` (every symlink resolved), or undefined. */
  realpath(p: string): Promise<string | undefined>;
}

/** The kernel's limit (MAXSYMLINKS) on symlinks followed while resolving one path. */
export const MAX_SYMLINKS = 40;

function hostStat(st: Stats): FileStat {
  return { type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other', size: st.size, id: `${st.dev}:${st.ino}` };
}

/** This machine's root. */
export const hostView: FsView = {
  label: 'this machine',
  stat: (p) => fs.stat(p).then(hostStat, () => undefined),
  async read(p, length) {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(p, 'r');
    } catch {
      return undefined;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) return undefined;
      const want = Math.min(st.size, length ?? st.size);
      const buf = new Uint8Array(want);
      let done = 0;
      while (done < want) {
        const { bytesRead } = await handle.read(buf, done, want - done, done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.subarray(0, done);
    } finally {
      await handle.close();
    }
  },
  readdir: (p) => fs.readdir(p).catch(() => [] as string[]),
  realpath: (p) => fs.realpath(p).catch(() => undefined),
};

/** A path's own entry, symlinks not followed: what walkPath asks of a filesystem. */
export type Look = { type: 'symlink'; target: string } | { type: 'file' | 'dir' | 'other' };

/** This machine's entry at `p`, or undefined. */
export async function hostLook(p: string): Promise<Look | undefined> {
  const st = await fs.lstat(p).catch(() => undefined);
  if (!st) return undefined;
  if (st.isSymbolicLink()) return { type: 'symlink', target: await fs.readlink(p) };
  return { type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other' };
}

/** What walkPath met: the symlinks followed, the folders passed through, and where the walk ended (or why it stopped). */
export interface Walked {
  links: { path: ImagePath; target: string }[];
  passed: ImagePath[];
  end?: { path: ImagePath; type: Look['type'] };
  missing?: string;
}

/**
 * Walk `raw` component by component as the kernel does: each symlink followed
 * where it is met, so a ".." after it climbs out of where it leads (not out of
 * the folder holding it), ".." stopping at "/", at most MAX_SYMLINKS links.
 * Without `followLast`, the last name is where the walk ends, whatever it is.
 */
export async function walkPath(raw: string, look: (p: ImagePath) => Promise<Look | undefined>, followLast: boolean): Promise<Walked> {
  const todo = raw.split('/').filter((s) => s !== '' && s !== '.').reverse();
  const w: Walked = { links: [], passed: [] };
  let cur = '/' as ImagePath;
  for (let hops = 0; todo.length; ) {
    const name = todo.pop()!;
    if (name === '..') {
      cur = joinImageLenient(cur, '..');
      continue;
    }
    const next = joinImageLenient(cur, name);
    const last = todo.length === 0;
    const seen = await look(next);
    if (last && !followLast) return { ...w, end: { path: next, type: seen?.type ?? 'other' }, ...(seen ? {} : { missing: `${next} does not exist` }) };
    if (!seen) return { ...w, missing: `${next} does not exist` };
    if (seen.type === 'symlink') {
      if (++hops > MAX_SYMLINKS) return { ...w, missing: `too many levels of symbolic links at ${next}` };
      w.links.push({ path: next, target: seen.target });
      todo.push(...seen.target.split('/').filter((s) => s !== '' && s !== '.').reverse());
      if (seen.target.startsWith('/')) cur = '/' as ImagePath;
      continue;
    }
    if (last) return { ...w, end: { path: next, type: seen.type } };
    if (seen.type !== 'dir') return { ...w, missing: `${next} is not a folder` };
    w.passed.push(next);
    cur = next;
  }
  return { ...w, end: { path: cur, type: 'dir' } };
}

/** Where a path leads inside a tree. */
export type Resolved = { path: ImagePath; entry: Entry } | { missing: string };

/**
 * Resolve `p` inside `tree` as the kernel would inside that root: every
 * symlink on the way followed (the last one too when `followLast`), at most
 * MAX_SYMLINKS of them.
 */
export function resolveInTree(tree: Tree, p: string, followLast = true): Resolved {
  const todo = p.split('/').filter((s) => s !== '' && s !== '.').reverse();
  let cur = '/' as ImagePath;
  let hops = 0;
  while (todo.length) {
    const name = todo.pop()!;
    if (name === '..') {
      cur = joinImageLenient(cur, '..');
      continue;
    }
    const next = joinImageLenient(cur, name);
    const e = tree.get(next);
    if (!e) return { missing: `${next} does not exist` };
    if (e.type === 'symlink' && (todo.length > 0 || followLast)) {
      if (++hops > MAX_SYMLINKS) return { missing: `too many levels of symbolic links at ${next}` };
      const target = e.target ?? '';
      todo.push(...target.split('/').filter((s) => s !== '' && s !== '.').reverse());
      if (target.startsWith('/')) cur = '/' as ImagePath;
      continue;
    }
    if (todo.length > 0 && e.type !== 'dir') return { missing: `${next} is a ${e.type}, not a folder` };
    cur = next;
  }
  const entry = tree.get(cur);
  return entry ? { path: cur, entry } : { missing: `${cur} does not exist` };
}

/**
 * Where an entry at `p` lands in `state`: at `p`, unless a folder above it is
 * a symlink to a folder in the image (a merged-/usr base's /bin -> usr/bin,
 * /lib -> usr/lib), which is then followed, as docker's COPY and tar's
 * extraction follow it. Folders the source itself puts come first (sorted),
 * so one it makes at such a place has replaced the symlink already, as GNU
 * tar replaces it for a folder entry. A symlink that leads nowhere, or to
 * something else than a folder, is not followed: putEntry names the conflict.
 */
export function landing(state: Tree, p: ImagePath): ImagePath {
  let at = p;
  for (let hops = 0; hops < MAX_SYMLINKS; hops++) {
    const parent = parentOf(at);
    if (state.get(parent)?.type === 'dir' || ancestorsAreFolders(state, parent)) return at;
    // The deepest folder above that the tree holds (a symlink, since not all are folders), followed; the rest appended.
    const names = parent.split('/').filter(Boolean);
    let i = names.length;
    while (i > 0 && !state.has(('/' + names.slice(0, i).join('/')) as ImagePath)) i--;
    const r = resolveInTree(state, '/' + names.slice(0, i).join('/'));
    if (!('path' in r) || r.entry.type !== 'dir') return p;
    let next = r.path;
    for (const n of names.slice(i)) next = joinImage(next, n);
    next = joinImage(next, baseName(at));
    if (next === at) return p;
    at = next;
  }
  return p;
}

/** No ancestor of `p` (nor `p` itself) is in the tree as anything but a folder: putEntry makes the missing ones. */
function ancestorsAreFolders(state: Tree, p: ImagePath): boolean {
  for (const a of [...ancestors(p), p]) {
    const e = state.get(a);
    if (e !== undefined && e.type !== 'dir') return false;
  }
  return true;
}

/** A tree (a stage's, the image's) whose file contents are in the blob store. */
export class TreeView implements FsView {
  /** Folder listings, built once: a closure lists few folders of a large tree. */
  private children?: Map<string, string[]>;
  /** Symlink loops and the like met on the way, for the message when a library is missing. */
  readonly problems = new Set<string>();

  constructor(
    readonly tree: Tree,
    private readonly store: BlobStore,
    readonly label: string,
  ) {}

  resolve(p: string, followLast = true): Resolved {
    const r = resolveInTree(this.tree, p, followLast);
    if ('missing' in r && r.missing.startsWith('too many')) this.problems.add(`${r.missing} (in ${this.label})`);
    return r;
  }

  async stat(p: string): Promise<FileStat | undefined> {
    const r = this.resolve(p);
    if ('missing' in r) return undefined;
    const t = r.entry.type;
    return { type: t === 'file' || t === 'dir' ? t : 'other', size: r.entry.size, id: `${this.label}:${r.entry.link ?? r.path}` };
  }

  async read(p: string, length?: number): Promise<Uint8Array | undefined> {
    const r = this.resolve(p);
    if ('missing' in r || r.entry.type !== 'file' || !r.entry.digest) return undefined;
    const bytes = await this.store.read(r.entry.digest);
    return length === undefined ? bytes : bytes.subarray(0, length);
  }

  async readdir(p: string): Promise<string[]> {
    const r = this.resolve(p);
    if ('missing' in r || r.entry.type !== 'dir') return [];
    if (!this.children) {
      this.children = new Map();
      for (const q of this.tree.keys()) {
        if (q === '/') continue;
        const cut = q.lastIndexOf('/');
        const dir = cut === 0 ? '/' : q.slice(0, cut);
        const list = this.children.get(dir);
        if (list) list.push(q.slice(cut + 1));
        else this.children.set(dir, [q.slice(cut + 1)]);
      }
    }
    return [...(this.children.get(r.path) ?? [])];
  }

  async realpath(p: string): Promise<string | undefined> {
    const r = this.resolve(p);
    return 'missing' in r ? undefined : r.path;
  }
}

/**
 * The image over the tree a program came from: what the image has at a path
 * is what the loader will map at run time; what it lacks comes from below.
 * Each layer resolves a path within itself.
 */
export class LayeredView implements FsView {
  readonly label: string;

  constructor(
    readonly top: FsView,
    readonly below: FsView,
  ) {
    this.label = `${top.label} or ${below.label}`;
  }

  /** The layer that supplies `p`, if either does. */
  async layerOf(p: string): Promise<FsView | undefined> {
    if (await this.top.stat(p)) return this.top;
    if (await this.below.stat(p)) return this.below;
    return undefined;
  }

  async stat(p: string): Promise<FileStat | undefined> {
    const t = await this.top.stat(p);
    if (t) return { ...t, id: `top:${t.id}` };
    const b = await this.below.stat(p);
    return b && { ...b, id: `below:${b.id}` };
  }

  async read(p: string, length?: number): Promise<Uint8Array | undefined> {
    return (await this.layerOf(p))?.read(p, length);
  }

  async readdir(p: string): Promise<string[]> {
    return [...new Set([...(await this.top.readdir(p)), ...(await this.below.readdir(p))])];
  }

  async realpath(p: string): Promise<string | undefined> {
    return (await this.layerOf(p))?.realpath(p);
  }
}
