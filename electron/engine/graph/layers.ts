// Per-layer views of a built image: a layer's changes against its diffbase,
// and which layer last wrote each path.
import type { ImagePath } from '../../../shared/brand';
import type { Recipe } from '../../../shared/recipe';
import { diffOverBase, type LayerChanges } from '../model/diff';
import { sha256 } from '../model/digest';
import { fileListLine } from '../model/filelist';
import { layerItems } from '../oci/tarwriter';
import { emptyTree, type Tree } from '../model/tree';

export function layerIndex(recipe: Recipe, name: string): number {
  return recipe.layers.findIndex((l) => l.name === name);
}

/** The state a layer is diffed against: its diffbase's, or the layer under it. */
export function baseState(recipe: Recipe, states: Tree[], i: number): Tree {
  const db = recipe.layers[i].diffbase;
  const b = db !== undefined ? layerIndex(recipe, db) : i - 1;
  return b >= 0 ? states[b] : emptyTree();
}

export function layerChanges(recipe: Recipe, states: Tree[], i: number): LayerChanges {
  return diffOverBase(baseState(recipe, states, i), i > 0 ? states[i - 1] : emptyTree(), states[i]);
}

/** path -> name of the highest layer that added or modified it. */
export function lastWriters(recipe: Recipe, states: Tree[]): Map<ImagePath, string> {
  const out = new Map<ImagePath, string>();
  states.forEach((_, i) => {
    const ch = layerChanges(recipe, states, i);
    for (const p of [...ch.added, ...ch.modified]) out.set(p, recipe.layers[i].name);
  });
  return out;
}

/** One layer's own entries as the file list shows them: what its tar holds, whiteouts included. */
export function layerFileList(recipe: Recipe, states: Tree[], i: number): string[] {
  const empty = sha256('');
  return layerItems(layerChanges(recipe, states, i)).map((it) => ('whiteout' in it ? `.${it.path} 0100644-0-0-${empty}` : fileListLine(it.path, it.entry)));
}
