// What the window shows, whether the project's last build or an opened image
// (issue 6): one shape for both, so the tree, file, file-list and diff views
// and the inspector answer the same way. The engine's inspect functions do
// the analysis; this module adapts them to the contract (layer indexes become
// layer names, long lists are cut, the size map is folded to a size a message
// can carry).
import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { ImagePath } from '../../shared/brand';
import type { CompareSide, ImageAnalysis, Response, SizeNode } from '../../shared/contract';
import type { BuildResult } from '../engine/entry/build';
import { baseState, layerChanges } from '../engine/graph/layers';
import { analyzeImage, cleanCommand, compareTrees, fileListDiff, filterTree, largestDirs, largestFiles, lastWriterIndex, openImage, recipeLayerLabel, sizeMap, type Change, type ImageAnalysis as EngineAnalysis, type OpenedImage, type TreeFilter } from '../engine/inspect';
import type { InspectedImage } from '../engine/inspect/flat';
import type { TreeIndex } from '../engine/model/index';
import { diffTrees, WHITEOUT_PREFIX } from '../engine/model/diff';
import { sha256 } from '../engine/model/digest';
import { fileListLine } from '../engine/model/filelist';
import { ROOT, baseName, imagePath, parentOf } from '../engine/model/path';
import { emptyTree, sortedPaths, type Entry, type Tree } from '../engine/model/tree';
import { layerItems, tarStream, treeItems, type TarItem } from '../engine/oci/tarwriter';
import type { BlobStore } from '../engine/store/blobs';
import { fetchImage, layoutTag } from '../engine/oci/transport';
import { formatImageRef, isRemote, parseImageRef } from '../../shared/imageref';

/** The image the views are about: layers by name, the state after each, where contents live. */
export interface Shown {
  kind: 'build' | 'image';
  /** The project's name, or the image's path. */
  subject: string;
  names: string[];
  digests: string[];
  commands: (string | undefined)[];
  /** What a person reads for each layer: recipe name and sources, or the cleaned command. */
  labels: string[];
  states: Tree[];
  stages: Map<string, Tree>;
  store: BlobStore;
  epoch: number;
  /** The state a layer is diffed against. */
  base(i: number): Tree;
  /** A layer's own entries as its tar holds them, whiteouts as `.wh.*` files. */
  own(i: number): Tree;
  /** path -> name of the highest layer that added or modified it (worked out on first use). */
  readonly writers: { get(p: ImagePath): string | undefined };
  /** The same as a layer index. */
  writerIndex(p: ImagePath): number | undefined;
}

const EMPTY = sha256('') as Entry['digest'];

export function shownOfBuild(r: BuildResult): Shown {
  const owns = new Map<number, Tree>();
  const base = (i: number) => baseState(r.recipe, r.states, i);
  const names = r.recipe.layers.map((l) => l.name);
  return {
    kind: 'build',
    subject: r.recipe.name,
    names,
    digests: r.layers.map((l) => `sha256:${l.digest}`),
    commands: r.recipe.layers.map((l) => `${l.name}: ${l.sources.map((s) => s.kind).join(', ') || l.comment || 'no sources'}`),
    labels: r.recipe.layers.map((l) => recipeLayerLabel(l.name, l.sources.map((s) => s.kind), l.comment)),
    states: r.states,
    stages: r.stages,
    store: r.store,
    epoch: r.recipe.epoch,
    base,
    own(i) {
      let t = owns.get(i);
      if (!t) owns.set(i, (t = itemsTree(layerItems(layerChanges(r.recipe, r.states, i)))));
      return t;
    },
    ...diffWriters(names, r.states, base),
  };
}

/** Layer names of an opened image: position (from 1, bottom first) and a short digest, as `1 sha256:abcd1234ef56`. */
export function imageLayerName(i: number, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return `${i + 1} sha256:${hex.slice(0, 12)}`;
}

export function shownOfImage(file: string, img: OpenedImage, store: BlobStore): Shown {
  const names = img.layers.map((l, i) => imageLayerName(i, l.digest));
  const base = (i: number) => (i > 0 ? img.states[i - 1] : emptyTree());
  // A layer tar holds exactly what the layer wrote: the highest one holding a
  // path wrote it last (one pass per layer, where diffing the states costs a
  // sort of each).
  const writers = once(() => lastWriterIndex(img.layers));
  return {
    kind: 'image',
    subject: file,
    names,
    digests: img.layers.map((l) => (l.digest.startsWith('sha256:') ? l.digest : `sha256:${l.digest}`)),
    commands: img.layers.map((l) => l.command),
    labels: img.layers.map((l, i) => (l.command ? cleanCommand(l.command) : names[i])),
    states: img.states,
    stages: new Map(),
    store,
    epoch: 0,
    base,
    own: (i) => img.layers[i].tree,
    writers: {
      get(p) {
        const i = writers().get(p);
        return i === undefined ? undefined : names[i];
      },
    },
    writerIndex: (p) => writers().get(p),
  };
}

/**
 * The project's last build as its OCI layout holds it (restored, not built in
 * this session), named as a build names it: its recipe's layer names, and the
 * writer of a path the layer that added or changed it, as shownOfBuild says,
 * not every layer whose tar repeats a parent folder (so a folder shows the same
 * layer after a reload as right after the build).
 */
export function restoredBuild(shown: Shown, names: string[], subject: string): Shown {
  return { ...shown, kind: 'build', subject, names, ...diffWriters(names, shown.states, shown.base) };
}

/** A build's writer of each path: the layer that added or changed it (worked out once, when first asked). */
function diffWriters(names: string[], states: Tree[], base: (i: number) => Tree): Pick<Shown, 'writers' | 'writerIndex'> {
  const writers = once(() => writersOf(names, states, base));
  const number = new Map(names.map((n, i) => [n, i]));
  return { writers: { get: (p) => writers().get(p) }, writerIndex: (p) => number.get(writers().get(p) ?? '') };
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

function itemsTree(items: TarItem[]): Tree {
  const t: Tree = new Map();
  for (const it of items) t.set(it.path, 'whiteout' in it ? { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, digest: EMPTY } : it.entry);
  return t;
}

function writersOf(names: string[], states: Tree[], base: (i: number) => Tree): Map<ImagePath, string> {
  const out = new Map<ImagePath, string>();
  states.forEach((st, i) => {
    const ch = diffTrees(base(i), st);
    for (const p of [...ch.added, ...ch.modified]) out.set(p, names[i]);
  });
  return out;
}

/** The layers as a build reply lists them, each with its label (a build's figures from the build; an image's from its tars). */
export function replyLayers(s: Shown, built?: BuildResult): Response<'build.start'>['layers'] {
  if (built) return built.layers.map((l, i) => ({ name: l.name, label: s.labels[i] ?? l.name, digest: `sha256:${l.digest}`, size: l.size, files: l.files, cached: l.cached }));
  return s.names.map((name, i) => {
    const tree = s.own(i);
    // Entries of the layer's tar, as a build counts them and Inspect's table does (the root is no entry).
    const entries = tree.size - (tree.has(ROOT) ? 1 : 0);
    return { name, label: s.labels[i], digest: s.digests[i], size: [...tree.values()].reduce((n, e) => n + e.size, 0), files: entries, cached: true };
  });
}

/** A view of the explorer: a tree, its index and, in a layer view, what the layer does to each path. */
export interface ExplorerView {
  tree: Tree;
  index: TreeIndex;
  change?: Map<string, 'added' | 'modified' | 'removed'>;
}

const lastFilter = new WeakMap<ExplorerView, { key: string; rows: { path: ImagePath; depth: number; match: boolean }[]; matches: number }>();

/**
 * A page of the filtered tree (issue 15): the whole tree under `dir` pruned to
 * the matches and the folders leading to them. The last result is kept per
 * view, so paging through it does not walk the tree again.
 */
export function filteredPage(v: ExplorerView, dir: string, filter: TreeFilter, offset: number, limit: number): { rows: { path: ImagePath; depth: number; match: boolean }[]; total: number; matches: number } {
  const key = `${dir}\0${filter.pattern}\0${filter.changesOnly ? 1 : 0}`;
  let r = lastFilter.get(v);
  if (r?.key !== key) {
    const change = v.change ? (p: ImagePath): Change => v.change!.get(p) ?? 'unchanged' : undefined;
    r = { key, ...filterTree(v.index, imagePath(dir), filter, change) };
    lastFilter.set(v, r);
  }
  return { rows: r.rows.slice(offset, offset + limit), total: r.rows.length, matches: r.matches };
}

/** One layer's own file list, as `ls --layer` prints it: what its tar holds, whiteouts included. */
export function ownFileList(s: Shown, i: number): string[] {
  const t = s.own(i);
  return sortedPaths(t)
    .filter((p) => p !== ROOT)
    .map((p) => fileListLine(p, t.get(p)!));
}

/**
 * What the window names an image by: a reference of a registry or an engine
 * (docker://…, docker-daemon:…, containers-storage:…) as typed, else its path made absolute.
 */
export function imageName(text: string): string {
  const ref = parseImageRef(text);
  if (typeof ref === 'string' || ref.transport === 'path') return path.resolve(text);
  if (ref.transport === 'oci' || ref.transport === 'docker-archive') return formatImageRef({ ...ref, path: path.resolve(ref.path) });
  return formatImageRef(ref);
}

/** Open an image (a file or folder, oci:PATH:REF, or a registry's or engine's fetched into the cache), with errors that name it. */
export async function openNamed(store: BlobStore, file: string): Promise<OpenedImage> {
  const ref = parseImageRef(file);
  if (typeof ref !== 'string' && isRemote(ref)) {
    const f = await fetchImage(ref, { cacheDir: store.cacheDir });
    const tag = layoutTag(f.ref);
    const img = await openImage(store, f.path, tag !== undefined ? { tag } : {});
    return { ...img, name: `${formatImageRef(ref)}@sha256:${f.manifestDigest.slice(0, 12)}` };
  }
  const local = typeof ref === 'string' || ref.transport === 'path' ? { path: file } : ref;
  const abs = path.resolve(local.path);
  const tag = typeof ref !== 'string' ? layoutTag(ref) : undefined;
  const st = await fs.stat(abs).catch(() => undefined);
  if (!st) throw new Error(`${abs}: no such file or folder`);
  try {
    return await openImage(store, abs, tag !== undefined ? { tag } : {});
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(msg.includes(abs) ? msg : `${abs}: not an image Scratchyard can read (a docker-archive, docker/podman save tar, OCI layout folder or OCI tar): ${msg}`);
  }
}

const MAX_WASTED = 500;

export function analysis(s: Shown): ImageAnalysis {
  const a = analyzeImage(
    s.names.map((_, i) => ({ tree: s.own(i), digest: s.digests[i], command: s.commands[i] })),
    s.states,
  );
  return shapedAnalysis(s, a);
}

/** The figures of an image inspected without trees (engine/inspect/flat.ts), named as an opened image's. */
export function imageAnalysis(subject: string, img: InspectedImage): ImageAnalysis {
  const names = img.layers.map((l, i) => imageLayerName(i, l.digest));
  const labels = img.layers.map((l, i) => (l.command ? cleanCommand(l.command) : names[i]));
  const digests = img.layers.map((l) => (l.digest.startsWith('sha256:') ? l.digest : `sha256:${l.digest}`));
  return shapedAnalysis({ subject, names, labels, digests }, img.analysis);
}

function shapedAnalysis(s: Pick<Shown, 'subject' | 'names' | 'labels' | 'digests'>, a: EngineAnalysis): ImageAnalysis {
  const name = (i: number) => s.names[i] ?? String(i);
  const paths = [...a.wasted.paths].sort((x, y) => y.bytes - x.bytes || (x.path < y.path ? -1 : 1));
  return {
    subject: s.subject,
    layers: a.layers.map((l) => ({ index: l.index, name: name(l.index), label: s.labels[l.index] ?? name(l.index), digest: s.digests[l.index] ?? l.digest, bytes: l.bytes, files: l.files, ...(l.command !== undefined ? { command: l.command } : {}) })),
    stored: a.stored,
    final: a.final,
    files: a.files,
    wasted: {
      bytes: a.wasted.bytes,
      paths: paths.slice(0, MAX_WASTED).map((p) => ({ path: p.path, bytes: p.bytes, storedIn: name(p.storedIn), hiddenBy: name(p.hiddenBy), how: p.how })),
      more: Math.max(0, paths.length - MAX_WASTED),
    },
    efficiency: a.efficiency,
    dive: { wastedBytes: a.dive.wastedBytes, efficiency: a.dive.efficiency, userWastedPercent: a.dive.userWastedPercent },
  };
}

/** The tree a size map or largest list is about: the image, or what one layer stores. */
function treeOf(s: Shown, layer: string | null): { tree: Tree; writer?: (p: string) => number | undefined } {
  if (layer === null) {
    return { tree: s.states[s.states.length - 1], writer: (p) => s.writerIndex(p as ImagePath) ?? 0 };
  }
  const i = s.names.indexOf(layer);
  if (i === -1) throw new Error(`no layer named "${layer}"`);
  const own = s.own(i);
  // What the layer stores, without its whiteouts (they hold no bytes and are no files of the image).
  const tree: Tree = new Map([...own].filter(([p]) => !baseName(p).startsWith(WHITEOUT_PREFIX)));
  if (!tree.has(ROOT)) tree.set(ROOT, { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
  return { tree, writer: () => i };
}

/** Blocks a message may carry: more are folded into one "… N more" block per folder. */
const MAP_BUDGET = 4000;
const MAP_CHILDREN = 120;

export function sizeMapOf(s: Shown, layer: string | null, dir: string, depth: number): Response<'image.sizeMap'> {
  const { tree, writer } = treeOf(s, layer);
  const root = imagePath(dir);
  const e = tree.get(root);
  if (!e) throw new Error(`${dir}: not in ${layer === null ? 'the image' : `layer ${layer}`}`);
  if (e.type !== 'dir') throw new Error(`${dir}: not a folder`);
  const raw = sizeMap(tree, root, depth, writer) as SizeNode;
  const out = fold(raw, tree);
  if (writer) colourFolders(out, tree, writer);
  return { root: out, layers: s.names };
}

/**
 * A folder drawn as one block (below the depth asked, or its children not
 * sent) takes the colour of the layer that wrote most of its bytes: one pass
 * over the files, each counted for the nearest such folder above it.
 */
function colourFolders(root: SizeNode, tree: Tree, writer: (p: string) => number | undefined): void {
  const leaves = new Map<string, SizeNode>();
  const walk = (n: SizeNode) => {
    if (n.children?.length) n.children.forEach(walk);
    else if (n.dir && !n.folded) leaves.set(n.path, n);
  };
  walk(root);
  if (!leaves.size) return;
  const tally = new Map<string, Map<number, number>>();
  for (const [p, e] of tree) {
    if (e.type !== 'file' || e.size === 0) continue;
    for (let d = parentOf(p); ; d = parentOf(d)) {
      if (leaves.has(d)) {
        const w = writer(p);
        if (w !== undefined) {
          let t = tally.get(d);
          if (!t) tally.set(d, (t = new Map()));
          t.set(w, (t.get(w) ?? 0) + e.size);
        }
        break;
      }
      if (d === ROOT) break;
    }
  }
  for (const [d, t] of tally) {
    let best: [number, number] | undefined;
    for (const [layer, bytes] of t) if (!best || bytes > best[1]) best = [layer, bytes];
    if (best) leaves.get(d)!.layer = best[0];
  }
}

/** Breadth first within a budget: the biggest children of each folder stay, the rest become one block. */
export function fold(root: SizeNode, tree: Tree): SizeNode {
  let budget = MAP_BUDGET;
  const isDir = (p: string) => tree.get(p as ImagePath)?.type === 'dir';
  const out: SizeNode = { ...strip(root), dir: isDir(root.path) } as SizeNode;
  const queue: [SizeNode, SizeNode][] = [[root, out]];
  while (queue.length) {
    const [src, dst] = queue.shift()!;
    if (!src.children?.length) continue;
    if (budget <= 0) continue; // shown as a folder to zoom into
    const kids = [...src.children].sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1));
    const room = Math.max(1, Math.min(MAP_CHILDREN, budget));
    const keep = kids.length > room ? kids.slice(0, room - 1) : kids;
    const rest = kids.slice(keep.length);
    dst.children = keep.map((k) => {
      const c = { ...strip(k), dir: isDir(k.path) } as SizeNode;
      queue.push([k, c]);
      return c;
    });
    if (rest.length) {
      // The folded block takes the colour of the layer behind most of its bytes.
      const byLayer = new Map<number, number>();
      for (const k of rest) if (k.layer !== undefined) byLayer.set(k.layer, (byLayer.get(k.layer) ?? 0) + k.bytes);
      const top = [...byLayer].sort((x, y) => y[1] - x[1])[0];
      dst.children.push({ name: `… ${rest.length} more`, path: src.path, bytes: rest.reduce((n, k) => n + k.bytes, 0), folded: rest.length, ...(top ? { layer: top[0] } : {}) });
    }
    budget -= dst.children.length;
  }
  return out;
}

function strip(n: SizeNode): SizeNode {
  return { name: n.name, path: n.path, bytes: n.bytes, ...(n.layer !== undefined ? { layer: n.layer } : {}) };
}

export function largestOf(s: Shown, layer: string | null, n: number): Response<'image.largest'> {
  const { tree, writer } = treeOf(s, layer);
  return {
    files: largestFiles(tree, n, writer).map((f) => ({ path: f.path, bytes: f.bytes, ...(f.layer !== undefined && s.names[f.layer] !== undefined ? { layer: s.names[f.layer] } : {}) })),
    // Folders of links and empty files hold no bytes: not worth a row among the largest.
    dirs: largestDirs(tree, n)
      .filter((d) => d.bytes > 0)
      .map((d) => ({ path: d.path, bytes: d.bytes })),
  };
}

const MAX_CHANGES = 5000;

const MAX_DIFF_TEXT = 4 << 20;

export function compareOf(a: { label: string; tree: Tree }, b: { label: string; tree: Tree }, withFileList = false): Response<'image.compare'> {
  const changes = compareTrees(a.tree, b.tree);
  const sizeIn = (t: Tree, p: string) => t.get(p as ImagePath)?.size;
  const typeOf = (p: string) => (b.tree.get(p as ImagePath) ?? a.tree.get(p as ImagePath))?.type ?? 'file';
  const counts = { added: { count: 0, bytes: 0 }, removed: { count: 0, bytes: 0 }, changed: { count: 0, bytes: 0 } };
  const paths = changes.map((c) => {
    const before = c.change === 'added' ? undefined : sizeIn(a.tree, c.path);
    const after = c.change === 'removed' ? undefined : sizeIn(b.tree, c.path);
    const k = counts[c.change];
    k.count++;
    k.bytes += c.change === 'removed' ? (before ?? 0) : (after ?? 0);
    return { path: c.path, change: c.change, type: typeOf(c.path), ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) };
  });
  const out: Response<'image.compare'> = { a: a.label, b: b.label, ...counts, paths: paths.slice(0, MAX_CHANGES), more: Math.max(0, paths.length - MAX_CHANGES) };
  if (withFileList) {
    const text = fileListDiff(a.tree, b.tree, [a.label, b.label]);
    out.fileListDiff = text.length > MAX_DIFF_TEXT ? `${text.slice(0, text.lastIndexOf('\n', MAX_DIFF_TEXT) + 1)}… cut at 4 MiB: scratchyard diff prints it all\n` : text;
  }
  return out;
}

export function sideLabel(side: CompareSide): string {
  if ('build' in side) return side.build === 'current' ? 'the current build' : 'the previous build';
  if ('image' in side) return side.image;
  return `layer ${side.layer}`;
}

/** Where a saved file goes: `to` (a folder keeps the name), else ~/Desktop, ~/Downloads, home. */
async function destination(name: string, to: string | undefined): Promise<string> {
  if (to) {
    const abs = path.resolve(to.replace(/^~(?=$|\/)/, os.homedir()));
    const st = await fs.stat(abs).catch(() => undefined);
    return st?.isDirectory() ? path.join(abs, name) : abs;
  }
  const home = os.homedir();
  for (const d of [path.join(home, 'Desktop'), path.join(home, 'Downloads'), home]) {
    const st = await fs.stat(d).catch(() => undefined);
    if (st?.isDirectory()) return path.join(d, name);
  }
  return path.join(home, name);
}

/** `notes.txt` taken: `notes-2.txt`, `notes-3.txt`… Never over an existing file. */
async function freeName(file: string, write: (tmp: string) => Promise<void>): Promise<string> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const ext = path.extname(file);
  const stem = path.basename(file, ext);
  const tmp = path.join(dir, `.${stem}.scratchyard-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  await write(tmp);
  try {
    for (let n = 1; n < 10_000; n++) {
      const name = n === 1 ? file : path.join(dir, `${stem}-${n}${ext}`);
      try {
        // link() fails when the name exists: no check-then-write race.
        await fs.link(tmp, name);
        return name;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    throw new Error(`${file}: too many files with this name`);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

export async function saveFile(s: Shown, tree: Tree, p: string, to: string | undefined): Promise<Response<'image.saveFile'>> {
  const e = tree.get(imagePath(p));
  if (!e) throw new Error(`${p}: not in the image`);
  if (e.type !== 'file') throw new Error(`${p}: a ${e.type === 'dir' ? 'folder' : e.type}, not a file: Export layer writes folders as a tar`);
  const data = await s.store.read(e.digest!);
  const dest = await destination(baseName(imagePath(p)) || 'file', to);
  const written = await freeName(dest, (tmp) => fs.writeFile(tmp, data, { mode: 0o644, flag: constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY }));
  return { path: written, bytes: data.length };
}

/** A layer's own tar (entries and whiteouts), written by our deterministic tar writer. */
export async function exportLayer(s: Shown, layer: string, to: string | undefined): Promise<Response<'image.exportLayer'>> {
  const i = s.names.indexOf(layer);
  if (i === -1) throw new Error(`no layer named "${layer}"`);
  const own = s.own(i);
  const items: TarItem[] = treeItems(own).map((it) => (baseName(it.path).startsWith(WHITEOUT_PREFIX) && 'entry' in it && it.entry.size === 0 ? { path: it.path, whiteout: true as const } : it));
  const stem = (s.kind === 'build' ? `${s.subject}-${layer}` : `${path.basename(s.subject).replace(/\.(tar|tgz|tar\.gz)$/, '')}-layer-${i + 1}`).replace(/[^A-Za-z0-9_.-]+/g, '-');
  const dest = await destination(`${stem}.tar`, to);
  let size = 0;
  const hash = createHash('sha256');
  const written = await freeName(dest, async (tmp) => {
    const fh = await fs.open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    try {
      for await (const chunk of tarStream(s.store, items, s.epoch) as AsyncIterable<Buffer>) {
        size += chunk.length;
        hash.update(chunk);
        await fh.write(chunk);
      }
    } finally {
      await fh.close();
    }
  });
  return { path: written, bytes: size, digest: `sha256:${hash.digest('hex')}` };
}

