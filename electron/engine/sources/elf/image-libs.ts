// The libraries (and interpreter) that ELF files need, resolved against the
// tree each file came from and brought into the image.
//
// The loader at run time sees the image: what the image already has at a path
// (its layers below, the layers being built, what this source added) is what
// it will map, so each file is resolved in the image laid over its own tree
// (a stage's, or this machine for everything else). A library only the lower
// tree has is copied in at the path the loader finds it, with its symlink
// chain; one the image has is not copied again, and its version definitions
// are the ones checked. ld.so.conf is read from the file's own tree, and
// $ORIGIN is the folder the program will be in in the image (as at run time),
// so a program copied out of its stage's folder layout does not find its
// $ORIGIN libraries in the stage: a build error, not an image that fails later.
import type { ImagePath } from '../../../../shared/brand';
import { imagePath, joinImage, parentOf, resolveLinkTarget } from '../../model/path';
import { placeEntry, putEntry, type Tree } from '../../model/tree';
import type { BlobStore } from '../../store/blobs';
import { addHostPath } from '../hostfs';
import { RecipeError, type FileOrigin } from '../types';
import { libraryClosure, LoaderConfigError, missingKey, type ClosureResult, type ClosureRoot } from './closure';
import { ElfError, isElf } from './parse';
import { hostLook, hostView, landing, LayeredView, MAX_SYMLINKS, resolveInTree, TreeView, walkPath, type FsView, type Look } from './view';

export interface LibsRequest {
  store: BlobStore;
  /** Field path for errors. */
  field: string;
  /** The image below, and files being built above it (both seen by the loader). */
  image: Tree[];
  stages: Map<string, Tree>;
  /** ELF candidates, by image path. */
  files: Tree;
  /** Files that came from a stage; the others resolve against this machine. */
  origins?: Map<ImagePath, FileOrigin>;
  /** Where the libraries go. */
  out: Tree;
  /** The build's log, for what the build cannot fix but the image will show at run time. */
  log?: (line: string) => void;
}


export async function addLibraries(req: LibsRequest): Promise<void> {
  const groups = new Map<string, ClosureRoot[]>(); // stage name, '' for this machine
  for (const [p, e] of req.files) {
    if (e.type !== 'file' || e.size < 64 || !e.digest) continue;
    const bytes = await req.store.read(e.digest);
    if (!isElf(bytes)) continue;
    const origin = req.origins?.get(p);
    const key = origin?.stage ?? '';
    // $ORIGIN is where the program will be in the image, whatever its path in the stage.
    const root: ClosureRoot = { path: origin?.path ?? p, startedAs: p, bytes, label: origin ? `${p} (${origin.path} in stage "${origin.stage}")` : p };
    groups.set(key, [...(groups.get(key) ?? []), root]);
  }
  // The image as the loader will see it; what each group brings joins it for the next.
  const image = imageTree(req.image, req.files);
  for (const [stage, roots] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const origin: FsView = stage ? new TreeView(req.stages.get(stage) ?? new Map(), req.store, `stage "${stage}"`) : hostView;
    const imageView = new TreeView(image, req.store, 'the image');
    const view = new LayeredView(imageView, origin);
    let r: ClosureResult;
    try {
      r = await libraryClosure(roots, { view, confView: origin });
    } catch (e) {
      if (e instanceof ElfError || e instanceof LoaderConfigError) throw new RecipeError(req.field, e.message);
      throw e;
    }
    if (r.missing.length) throw new RecipeError(req.field, missingMessage(r, origin, [imageView, origin]));
    if (r.versions.length) {
      const v = r.versions[0];
      const where = (await view.layerOf(v.libraryPath)) === imageView ? 'the image' : origin.label;
      const needer = v.object === v.program ? v.program : `${v.program} (through ${v.object})`;
      throw new RecipeError(
        req.field,
        `${needer} needs version ${v.version} of ${v.library}, but ${v.libraryPath} (from ${where}) defines only ${briefList(v.defined)}: the program would not start`,
      );
    }
    for (const lib of r.libs) {
      if (await imageView.stat(lib)) continue; // already in the image: the loader maps that one
      const added: Tree = new Map();
      try {
        // A ".." after a symlink climbs out of where the symlink leads: the path is walked as the kernel walks it.
        const clean = imagePath(lib);
        const at = clean === lib ? clean : await walkedInto(origin, image, imageView, lib, added);
        if (origin instanceof TreeView) copyChain(origin, image, at, added);
        else await addHostPath(req.store, added, at);
      } catch (e) {
        throw new RecipeError(req.field, (e as Error).message);
      }
      for (const [p, e] of [...added].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        // Through the image's own symlinked folders (a merged-/usr base's /lib -> usr/lib), as the stack will put it.
        const at = landing(image, p);
        req.out.set(at, e);
        try {
          putEntry(image, at, e);
        } catch (err) {
          throw new RecipeError(req.field, (err as Error).message);
        }
      }
      const conf = r.viaConf.find((v) => v.library === lib);
      if (conf) {
        req.log?.(
          `${req.field}: warning: ${lib} was found through ${origin.label}'s ld.so.conf (${conf.folder}), and an image has no ld.so.cache: at run time the loader will not look there (set LD_LIBRARY_PATH=${conf.folder} in config.env, or put the library in /usr/lib)`,
        );
      }
    }
  }
}

/** The image below with the files above laid over it, parents created, conflicts left to the build to report. */
function imageTree(layers: Tree[], files: Tree): Tree {
  const out: Tree = new Map(layers[0]);
  for (const t of [...layers.slice(1), files]) {
    for (const [p, e] of [...t].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      try {
        // As the stack puts it: a folder a source only passes through leaves what is there.
        placeEntry(out, p, e);
      } catch {
        // a conflict the stack reports itself, by field, when this layer applies
      }
    }
  }
  return out;
}

/** Version names as the library lists them (oldest first), the middle of a long list left out. */
function briefList(names: string[]): string {
  if (names.length === 0) return 'none';
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 2).join(', ')}, … ${names.slice(-3).join(', ')} (${names.length} versions)`;
}

function missingMessage(r: ClosureResult, origin: FsView, views: FsView[]): string {
  const lines = r.missing.map((m) => {
    const dirs = [...new Set(r.searched.get(missingKey(m)))];
    return `${m.needed} (needed by ${m.from}; looked in the image, then ${origin.label}${dirs.length ? `: ${dirs.join(', ')}` : ''})`;
  });
  const problems = views.flatMap((v) => (v instanceof TreeView ? [...v.problems] : []));
  return `shared libraries not found: ${lines.join('; ')}${problems.length ? `. On the way: ${problems.join('; ')}` : ''}`;
}

/**
 * Copy `p` from a tree into `out` where the image's loader will find it: its
 * parent folder as the image resolves it (a symlinked /lib64 stays the
 * image's), a symlink as a symlink and then its target, as addHostPath does
 * for host files.
 */
function copyChain(from: TreeView, image: Tree, p: ImagePath, out: Tree, hops = 0): void {
  if (hops > MAX_SYMLINKS) throw new Error(`too many levels of symbolic links at ${p} in ${from.label}`);
  const parent = resolveInTree(image, parentOf(p));
  const dest = 'path' in parent && parent.entry.type === 'dir' ? joinImage(parent.path, p.slice(p.lastIndexOf('/') + 1)) : p;
  if (out.has(dest) || 'path' in resolveInTree(image, dest, false)) return;
  const r = from.resolve(p, false);
  if ('missing' in r) throw new Error(`${p} in ${from.label}: ${r.missing}`);
  const { link: _hardLinkGroupOfTheStage, ...entry } = r.entry;
  out.set(dest, entry);
  if (entry.type === 'symlink') copyChain(from, image, resolveLinkTarget(dest, entry.target ?? ''), out, hops + 1);
}

/** The entry at `p` in the tree or on the machine a library comes from, symlinks not followed. */
function lookIn(origin: FsView): (p: ImagePath) => Promise<Look | undefined> {
  if (!(origin instanceof TreeView)) return hostLook;
  return async (p) => {
    const e = origin.tree.get(p);
    if (!e) return undefined;
    return e.type === 'symlink' ? { type: 'symlink', target: e.target ?? '' } : { type: e.type === 'file' || e.type === 'dir' ? e.type : 'other' };
  };
}

/**
 * Where `raw` (a path the loader found a library at, with ".." in it) really
 * is in `origin`, walked as the kernel walks it (walkPath). The image must let
 * the loader walk it the same way, so every symlink met is put in `out` as it
 * is, and every folder the walk passes through that the image lacks and that
 * holds nothing else added is made. The last name is left to the caller (a
 * symlink there is copied as one, with its target).
 */
async function walkedInto(origin: FsView, image: Tree, imageView: TreeView, raw: string, out: Tree): Promise<ImagePath> {
  const w = await walkPath(raw, lookIn(origin), false);
  if (w.missing || !w.end) throw new Error(`${raw} in ${origin.label}: ${w.missing ?? 'not a file'}`);
  const at = w.end.path;
  for (const l of w.links) {
    if (!('path' in resolveInTree(image, l.path, false))) out.set(l.path, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target: l.target });
  }
  // A folder the loader only passes through (a symlink's target it climbs out of) must exist; the file's own folders are made as its parents.
  for (const d of w.passed) {
    if (at.startsWith(`${d}/`) || out.has(d) || (await imageView.stat(d))) continue;
    out.set(d, { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
  }
  return at;
}
