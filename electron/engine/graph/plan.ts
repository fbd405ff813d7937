// The build graph as a build will run it, read from the recipe before anything
// runs: one node per source (of a stage or of a layer), layer, the image and
// each output, each with the nodes it reads. The ids are the ones the node
// events of entry/build.ts and graph/stack.ts carry.
import type { Layer, Recipe, Source } from '../../../shared/recipe';
import type { PlanNode } from '../model/events';

export interface PlanOptions {
  formats: readonly string[];
  sbom: boolean;
  /** The stack once a base image is loaded: its layers (named LAYER~k) under the recipe's (graph/stack.ts). */
  layers?: Layer[];
}

/** Sources whose result depends on the state under them, not only on their own spec. */
function readsState(s: Source): boolean {
  return s.kind === 'run' || s.kind === 'users' || s.kind === 'remove' || s.kind === 'libs' || (s.kind === 'host' && s.libs);
}

/** Stages a source reads: `copy from:` and run mounts. */
function stagesRead(s: Source): string[] {
  if (s.kind === 'copy' && s.from !== undefined) return [s.from];
  if (s.kind === 'run') return s.mounts.flatMap((m) => ('stage' in m ? [m.stage] : []));
  return [];
}

export const sourceId = (prefix: string, layer: string, i: number) => `source:${prefix}${layer}:${i}`;
export const layerId = (name: string) => `layer:${name}`;

export function planOf(recipe: Recipe, o: PlanOptions): PlanNode[] {
  const nodes: PlanNode[] = [];
  const byId = new Map<string, PlanNode>();
  const add = (n: PlanNode) => {
    nodes.push(n);
    byId.set(n.id, n);
  };
  const stageSources = new Map<string, string[]>();
  const libsEdges: [PlanNode, string[]][] = [];

  /** The sources of a stack of layers; `below` is what the first layer's state-reading sources read. */
  const addSources = (layers: Layer[], prefix: string, kind: 'stage' | 'source', stateBelow: (li: number) => string | undefined) => {
    const ids: string[] = [];
    layers.forEach((layer, li) => {
      layer.sources.forEach((s, si) => {
        const id = sourceId(prefix, layer.name, si);
        const deps = stagesRead(s).flatMap((st) => stageSources.get(st) ?? []);
        if (readsState(s)) {
          const before = si > 0 ? sourceId(prefix, layer.name, si - 1) : stateBelow(li);
          if (before) deps.push(before);
        }
        const node: PlanNode = { id, label: `${prefix}${layer.name}: ${s.kind}`, kind, deps };
        add(node);
        ids.push(id);
        // libs reads what the layers above it put: known once they are all listed.
        if (s.kind === 'libs') libsEdges.push([node, layers.flatMap((l, i) => ((s.from ? s.from.includes(l.name) : i > li) ? l.sources.map((_, k) => sourceId(prefix, l.name, k)) : []))]);
      });
    });
    return ids;
  };

  for (const stage of recipe.stages) {
    const last = (li: number) => {
      for (let i = li - 1; i >= 0; i--) if (stage.layers[i].sources.length) return sourceId(`${stage.name}/`, stage.layers[i].name, stage.layers[i].sources.length - 1);
      return undefined;
    };
    stageSources.set(stage.name, addSources(stage.layers, `${stage.name}/`, 'stage', last));
  }
  addSources(recipe.layers, '', 'source', (li) => (li > 0 ? layerId(recipe.layers[li - 1].name) : undefined));

  // The image's layers: each made of its sources, diffed against its diffbase.
  const stack = o.layers ?? recipe.layers;
  const own = new Set(recipe.layers.map((l) => l.name));
  const image = recipe.layers[0].sources[0]?.kind === 'image' ? sourceId('', recipe.layers[0].name, 0) : undefined;
  const baseCount = o.layers ? o.layers.length - recipe.layers.length + (image && recipe.layers[0].sources.length === 1 ? 1 : 0) : 0;
  stack.forEach((layer, i) => {
    const fromBase = i < baseCount || !own.has(layer.name);
    const recipeLayer = recipe.layers.find((l) => l.name === layer.name);
    const deps = fromBase ? (image ? [image] : []) : (recipeLayer?.sources ?? []).map((_, k) => sourceId('', layer.name, k));
    if (layer.diffbase !== undefined) deps.push(layerId(layer.diffbase));
    add({ id: layerId(layer.name), label: `layer ${layer.name}`, kind: 'layer', deps });
  });
  for (const [node, deps] of libsEdges) for (const d of deps) if (!reaches(byId, d, node.id)) node.deps.push(d);

  add({ id: 'image', label: `image ${recipe.tag ?? `${recipe.name}:latest`}`, kind: 'image', deps: stack.map((l) => layerId(l.name)) });
  if (o.sbom) add({ id: 'sbom', label: 'sbom', kind: 'sbom', deps: ['image'] });
  for (const f of o.formats) add({ id: `export:${f}`, label: `export ${f}`, kind: 'export', deps: f === 'oci' && o.sbom && recipe.sbomInLayout ? ['image', 'sbom'] : ['image'] });
  return nodes;
}

/** Does `from` depend, through any path, on `to`? (An edge that would close a cycle is left out.) */
function reaches(byId: Map<string, PlanNode>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(byId.get(id)?.deps ?? []));
  }
  return false;
}
