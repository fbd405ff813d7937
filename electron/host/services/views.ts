// The views of what is shown (the last build, a restored one, or an opened
// image): folder pages, file bytes (with an ELF's libraries found), file lists
// and a layer's diff.
import type { ImagePath } from '../../../shared/brand';
import type { Response, TreeRow } from '../../../shared/contract';
import { layerFileList, layerIndex } from '../../engine/graph/layers';
import { diffTrees } from '../../engine/model/diff';
import { fileList } from '../../engine/model/filelist';
import { indexOf, indexTree } from '../../engine/model/index';
import { baseName, imagePath, resolveLinkTarget } from '../../engine/model/path';
import type { Entry, Tree } from '../../engine/model/tree';
import { systemDirs } from '../../engine/sources/elf/closure';
import { isElf, parseElf, type ElfInfo } from '../../engine/sources/elf/parse';
import { filteredPage, ownFileList, type Shown } from '../inspect';
import { layerSizes, type TreeFilter } from '../../engine/inspect';
import type { Handlers } from './handler';
import type { HostState, View } from './state';

/** Views of a build-only stage are asked for as layer "stage:NAME". */
const STAGE = 'stage:';

/** The merged image (layer null) or the state after one layer, with what that layer changed. */
export function viewOf(state: HostState, layer: string | null): View {
  const key = layer ?? '';
  const cached = state.views.get(key);
  if (cached) return cached;
  const r = state.shown();
  let v: View;
  if (layer === null) {
    const tree = r.states[r.states.length - 1];
    v = { tree, index: indexOf(tree) };
  } else if (layer.startsWith(STAGE)) {
    const tree = r.stages.get(layer.slice(STAGE.length));
    if (!tree) throw new Error(`no stage named "${layer.slice(STAGE.length)}"`);
    v = { tree, index: indexTree(tree) };
  } else {
    const i = layerNumber(r, layer);
    const base = r.base(i);
    const ch = diffTrees(base, r.states[i]);
    const tree: Tree = new Map(r.states[i]);
    const change = new Map<string, 'added' | 'modified' | 'removed'>();
    for (const p of ch.added) change.set(p, 'added');
    for (const p of ch.modified) change.set(p, 'modified');
    // Removed entries stay visible (struck through), as dive shows them.
    for (const [p, e] of base) {
      if (!tree.has(p)) {
        tree.set(p, e);
        change.set(p, 'removed');
      }
    }
    // Folder sizes are the layer's own bytes below them, not the whole state's.
    v = { tree, index: { ...indexTree(tree), sizes: layerSizes(tree, (p) => change.get(p) ?? 'unchanged') }, change };
  }
  state.views.set(key, v);
  return v;
}

function layerNumber(s: Shown, layer: string): number {
  const i = s.names.indexOf(layer);
  if (i === -1) throw new Error(`no layer named "${layer}"`);
  return i;
}

function treePage(state: HostState, layer: string | null, dir: string, offset: number, limit: number): Response<'tree.page'> {
  const v = viewOf(state, layer);
  const kids = v.index.children.get(imagePath(dir)) ?? [];
  return { rows: kids.slice(offset, offset + limit).map((p) => treeRow(state, v, layer, p)), total: kids.length };
}

/** The filtered tree (a path or glob over the whole tree): matches, and the folders leading to them. */
function filteredTreePage(state: HostState, layer: string | null, dir: string, filter: TreeFilter, offset: number, limit: number): Response<'tree.page'> {
  const v = viewOf(state, layer);
  const page = filteredPage(v, dir, filter, offset, limit);
  return { rows: page.rows.map((r) => ({ ...treeRow(state, v, layer, r.path), depth: r.depth, match: r.match })), total: page.total, matches: page.matches };
}

function treeRow(state: HostState, v: View, layer: string | null, p: ImagePath): TreeRow {
  const shown = state.shown();
  const e = v.tree.get(p)!;
  return {
    path: p,
    name: baseName(p),
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size: v.index.sizes.get(p) ?? 0,
    ...(e.target !== undefined ? { target: e.target } : {}),
    layer: layer?.startsWith(STAGE) ? layer : (shown.writers.get(p) ?? shown.names[0]),
    children: v.index.children.get(p)?.length ?? 0,
    ...(v.change ? { change: v.change.get(p) ?? 'unchanged' } : {}),
  };
}

async function readFile(state: HostState, layer: string | null, p: string, max: number): Promise<Response<'file.read'>> {
  const v = viewOf(state, layer);
  const e = v.tree.get(imagePath(p));
  if (!e) throw new Error(`${p}: not in the image`);
  if (e.type !== 'file') return { size: 0, base64: '', truncated: false };
  const bytes = await state.shown().store.read(e.digest!);
  const out: Response<'file.read'> = { size: e.size, base64: bytes.subarray(0, max).toString('base64'), truncated: bytes.length > max };
  if (isElf(bytes)) {
    try {
      const info = parseElf(bytes);
      out.elf = { elfClass: info.elfClass, interp: info.interp, needed: info.needed.map((name) => findLib(state.shown(), v.tree, name, info)) };
    } catch {
      // Not a readable ELF: the hex view still shows it.
    }
  }
  return out;
}

/** Where a NEEDED library is inside the image, searched as the loader would without a cache. */
function findLib(shown: Shown, tree: Tree, name: string, target: ElfInfo): { name: string; path?: string; layer?: string } {
  for (const dir of [...systemDirs(target), '/lib64', '/usr/lib64']) {
    let p = imagePath(`${dir}/${name}`);
    let e: Entry | undefined = tree.get(p);
    for (let hops = 0; e?.type === 'symlink' && hops < 10; hops++) {
      p = resolveLinkTarget(p, e.target!);
      e = tree.get(p);
    }
    if (e?.type === 'file') return { name, path: p, layer: shown.writers.get(p) };
  }
  return { name };
}

function fileListOf(state: HostState, layer: string | null): string[] {
  const r = state.shown();
  if (layer === null) return fileList(r.states[r.states.length - 1]);
  if (layer.startsWith(STAGE)) return fileList(viewOf(state, layer).tree);
  // An opened image, or a build restored from its layout: what each layer's tar holds.
  if (state.image || !state.result) return ownFileList(r, layerNumber(r, layer));
  const b = state.built();
  return layerFileList(b.recipe, b.states, layerIndex(b.recipe, layer));
}

function diffLayer(state: HostState, layer: string): Response<'diff.layer'> {
  const r = state.shown();
  const i = layerNumber(r, layer);
  const base = r.base(i);
  const ch = diffTrees(base, r.states[i]);
  const size = (t: Tree, p: string) => t.get(p as ImagePath)?.size ?? 0;
  const sum = (ps: string[], t: Tree) => ps.reduce((n, p) => n + size(t, p), 0);
  const removedAll = [...base.keys()].filter((p) => !r.states[i].has(p));
  return {
    added: { count: ch.added.length, bytes: sum(ch.added, r.states[i]) },
    modified: { count: ch.modified.length, bytes: sum(ch.modified, r.states[i]) },
    removed: { count: removedAll.length, bytes: sum(removedAll, base) },
    paths: [
      ...ch.added.map((p) => ({ path: p, change: 'added' as const, size: size(r.states[i], p) })),
      ...ch.modified.map((p) => ({ path: p, change: 'modified' as const, size: size(r.states[i], p) })),
      ...removedAll.map((p) => ({ path: p, change: 'removed' as const, size: size(base, p) })),
    ].sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
}

export const viewHandlers: Handlers<'tree.page' | 'file.read' | 'filelist.get' | 'diff.layer'> = {
  'tree.page': (req, state) => (req.filter ? filteredTreePage(state, req.layer, req.dir, req.filter, req.offset, req.limit) : treePage(state, req.layer, req.dir, req.offset, req.limit)),
  'file.read': (req, state) => readFile(state, req.layer, req.path, req.max),
  'filelist.get': (req, state) => ({ lines: fileListOf(state, req.layer) }),
  'diff.layer': (req, state) => diffLayer(state, req.layer),
};
