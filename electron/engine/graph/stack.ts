// Evaluating the layer stack: every source applied in order over the state
// below it, giving the image's state after each layer.
import { fileSystemPathProblem } from '../../../shared/grammar';
import type { ImagePath } from '../../../shared/brand';
import type { LockEntry } from '../../../shared/lock';
import type { Layer, Recipe, Source, SourceOf } from '../../../shared/recipe';
import { imagePath, isUnder, joinImage } from '../model/path';
import { placeEntry, putEntry, removeSubtree, sortedPaths, emptyTree, TreeConflictError, type Tree } from '../model/tree';
import { RecipeError, runSource, type SourceContext, type SourceResult } from '../sources';
import { imageLock, loadBase, noteBaseDigest, type BaseImage } from '../sources/image';
import type { FileOrigin } from '../sources/types';
import { hostWarnings, type HostBrought } from '../sources/host-warnings';
import { landing } from '../sources/elf/view';
import type { RegistryAccess } from '../oci/transport';
import type { BlobStore } from '../store/blobs';
import type { BuildCache } from '../store/cache';
import type { NodeReporter } from '../model/events';
import type { SourceRef } from '../model/sbom';
import { hostFilesByPackage, statusDEntries, type HostPackage } from '../sources/host-packages';

export interface StackResult {
  /** State after each layer, bottom first. */
  states: Tree[];
  /** What each layer's sources put (for the libs source of the layers below). */
  puts: Tree[];
  /** Which of those files came out of a stage, and from where in it. */
  origins: Map<ImagePath, FileOrigin>[];
  /** Final tree of each build-only stage, by name. */
  stages: Map<string, Tree>;
  /**
   * The image's layers, bottom first, one per state: the recipe's, under which
   * a base image's own layers go (named LAYER~1, LAYER~2…; when the first layer
   * holds nothing but the image source, its top layer takes the layer's name).
   */
  layers: Layer[];
  /** The base image under the stack, if the first layer starts with one: it is layers[0..base.layers.length). */
  base?: BaseImage;
  /** Which source put each path of the image (for SBOMs). */
  brought: Map<ImagePath, SourceRef>;
}

export interface StackEnv {
  projectDir: string;
  store: BlobStore;
  cache: BuildCache;
  report: NodeReporter;
  signal?: AbortSignal;
  /** How image sources reach registries. */
  registry?: RegistryAccess;
  /** `build --locked`: the lock's entry for a source field. */
  locked?: (field: string) => LockEntry | undefined;
  /** Each source as evaluated for the image (not the first pass of a recipe with libs), for the lock. */
  onSource?: (field: string, source: Source, result: SourceResult) => void;
}

/**
 * A libs source needs the files of the layers above it, which are evaluated
 * after it. So a recipe with one is evaluated twice: once without libraries
 * to learn what the upper layers hold, then for real. Sources are cheap to
 * re-run: host files come from the stat cache, tarballs from the build cache.
 */
export async function evaluateStack(recipe: Recipe, env: StackEnv): Promise<StackResult> {
  // Stages first, in order: a stage may use the ones before it, the image any of them.
  const stages = new Map<string, Tree>();
  for (const [i, stage] of recipe.stages.entries()) {
    const r = await evaluateLayers(stage.layers, `stages[${i}].layers`, `${stage.name}/`, { epoch: recipe.epoch, statusD: false }, env, stages);
    stages.set(stage.name, r.states[r.states.length - 1]);
  }
  const r = await evaluateLayers(recipe.layers, 'layers', '', { epoch: recipe.epoch, statusD: recipe.dpkgStatusD }, env, stages);
  if (!r.base) return { states: r.states, puts: r.puts, origins: r.origins, brought: r.brought, stages, layers: recipe.layers };
  return { ...withBaseLayers(recipe.layers, r, r.base), brought: r.brought, stages, base: r.base };
}

/** The stack with the base's layers as layers of their own under the recipe's. */
function withBaseLayers(layers: Layer[], r: Omit<StackResult, 'stages' | 'layers'>, base: BaseImage): Pick<StackResult, 'states' | 'puts' | 'origins' | 'layers'> {
  const first = layers[0];
  const alone = first.sources.length === 1;
  const n = base.layers.length;
  const own: Layer[] = base.layers.map((_, k) => ({
    name: alone && k === n - 1 ? first.name : `${first.name}~${k + 1}`,
    sources: [],
    comment: alone && k === n - 1 && first.comment ? first.comment : `base ${base.ref} layer ${k + 1} of ${n}`,
  }));
  const keep = alone ? 1 : 0;
  return {
    layers: [...own, ...layers.slice(keep)],
    states: [...base.states, ...r.states.slice(keep)],
    puts: [...base.layers.map((): Tree => new Map()), ...r.puts.slice(keep)],
    origins: [...base.layers.map(() => new Map<ImagePath, FileOrigin>()), ...r.origins.slice(keep)],
  };
}

interface EvalOptions {
  epoch: number;
  /** Write status.d entries for the Debian packages of host files (image layers only). */
  statusD: boolean;
}

async function evaluateLayers(layers: Layer[], fieldBase: string, idPrefix: string, o: EvalOptions, env: StackEnv, stages: Map<string, Tree>) {
  const hasLibs = layers.some((l) => l.sources.some((s) => s.kind === 'libs'));
  if (!hasLibs) return evaluate(layers, fieldBase, idPrefix, o, env, stages, undefined, true);
  const first = await evaluate(layers, fieldBase, idPrefix, o, env, stages, undefined, false);
  return evaluate(layers, fieldBase, idPrefix, o, env, stages, first, true);
}

/** Source kinds whose files are this machine's, at the same path. */
const HOST_KINDS = new Set(['host', 'libs', 'busybox']);

async function evaluate(
  layers: Layer[],
  fieldBase: string,
  idPrefix: string,
  o: EvalOptions,
  env: StackEnv,
  stages: Map<string, Tree>,
  upper: Pick<StackResult, 'puts' | 'origins'> | undefined,
  report: boolean,
): Promise<Omit<StackResult, 'stages' | 'layers'>> {
  let base: BaseImage | undefined;
  const { epoch } = o;
  const bro = new Map<ImagePath, SourceRef>();
  const hostFiles = new Map<HostPackage, ImagePath[]>();
  const states: Tree[] = [];
  const puts: Tree[] = [];
  const origins: Map<ImagePath, FileOrigin>[] = [];
  let state = emptyTree();
  const brought: HostBrought[] = [];
  for (const [li, layer] of layers.entries()) {
    state = new Map(state);
    const layerPut: Tree = new Map();
    const layerOrigins = new Map<ImagePath, FileOrigin>();
    for (const [si, source] of layer.sources.entries()) {
      env.signal?.throwIfAborted();
      const field = `${fieldBase}[${li}].sources[${si}]`;
      const ctx: SourceContext = {
        projectDir: env.projectDir,
        store: env.store,
        cache: env.cache,
        state,
        epoch,
        field,
        stages,
        log: (line) => env.report.log(line),
        signal: env.signal,
        registry: env.registry,
        locked: env.locked?.(field),
        node: (id, label) => (report ? env.report.start(`source:${idPrefix}${layer.name}:${si}:${id}`, `${idPrefix}${layer.name}: ${label}`) : { done() {}, cached() {}, failed() {}, progress() {} }),
      };
      if (source.kind === 'libs' && upper) {
        ctx.filesAbove = filesAbove(layers, li, upper.puts, source.from);
        ctx.libsInputs = libsInputs(li, upper);
      }
      const node = report ? env.report.start(`source:${idPrefix}${layer.name}:${si}`, `${idPrefix}${layer.name}: ${source.kind}`) : undefined;
      try {
        if (source.kind === 'image') {
          // The bottom of the stack (the schema holds it there): the base's final state.
          base = await loadBase(source, ctx);
          const moved = report ? await noteBaseDigest(ctx, env.projectDir, base) : undefined;
          if (moved) env.report.log(moved);
          state = new Map(base.states[base.states.length - 1] ?? emptyTree());
          node?.done(`${base.ref} sha256:${base.digest}${moved ? ' (moved)' : ''}`);
          if (report) env.onSource?.(field, source, { put: new Map(), remove: [], lock: imageLock(field, base) });
          continue;
        }
        const res = await runSource(source, ctx);
        // One record for every path this source put, not one each.
        const ref: SourceRef = { layer: li, source: si, kind: source.kind };
        for (const p of res.remove) removeSubtree(state, p);
        let moved = false;
        const landed: Tree = new Map();
        for (const p of sortedPaths(res.put)) {
          // Every source's paths, whatever made them (a project folder, a build step): a ".wh." name would delete from the layers below.
          const why = fileSystemPathProblem(p);
          if (why) throw new RecipeError(field, `${p} ${why}`);
          const at = landing(state, p);
          const entry = res.put.get(p)!;
          try {
            // A folder the source only passes through leaves what is there.
            if (!placeEntry(state, at, entry)) {
              moved = true;
              continue;
            }
          } catch (e) {
            if (e instanceof TreeConflictError) throw new RecipeError(field, e.message);
            throw e;
          }
          moved ||= at !== p || !!entry.implied;
          landed.set(at, state.get(at)!);
          layerPut.set(at, state.get(at)!);
          bro.set(at, ref);
        }
        // What the source put, where it landed (its warnings, SBOM and stage origins name those paths).
        if (moved) {
          res.put.clear();
          for (const [p, e] of landed) res.put.set(p, e);
        }
        if (report && res.brought) brought.push(res.brought);
        if (report) env.onSource?.(field, source, res);
        if (source.kind === 'copy' && source.from !== undefined) recordStageOrigins(source, stages, res.put, layerOrigins);
        node?.done();
      } catch (e) {
        node?.failed(e as Error);
        throw e;
      }
    }
    if (o.statusD) await addStatusD(li, layerPut, state, bro, hostFiles, env.store);
    states.push(state);
    puts.push(layerPut);
    origins.push(layerOrigins);
  }
  // Once the image is complete: a link is dangling only if no layer put its target.
  if (brought.length) for (const w of await hostWarnings(brought, state, env.store)) env.report.warn(w);
  for (const p of [...bro.keys()]) if (!state.has(p)) bro.delete(p);
  return { states, puts, origins, brought: bro, ...(base ? { base } : {}) };
}

/**
 * The status.d entries of the Debian packages whose files this layer brought
 * from the host, listing every file of each package the image holds so far.
 */
async function addStatusD(li: number, layerPut: Tree, state: Tree, bro: Map<ImagePath, SourceRef>, hostFiles: Map<HostPackage, ImagePath[]>, store: BlobStore): Promise<void> {
  const mine = [...layerPut].filter(([p]) => bro.get(p)?.layer === li && HOST_KINDS.has(bro.get(p)!.kind));
  if (!mine.length) return;
  const found = await hostFilesByPackage(mine, store);
  if (!found.size) return;
  const touched = new Map<HostPackage, ImagePath[]>();
  for (const [pkg, paths] of found) {
    const all = [...(hostFiles.get(pkg) ?? []), ...paths].filter((p) => state.has(p));
    hostFiles.set(pkg, all);
    touched.set(pkg, all);
  }
  const entries = await statusDEntries(touched, state, store);
  const ref: SourceRef = { layer: li, source: -1, kind: 'status.d' };
  for (const p of sortedPaths(entries)) {
    putEntry(state, p, entries.get(p)!);
    layerPut.set(p, entries.get(p)!);
    bro.set(p, ref);
  }
}

function filesAbove(layers: Layer[], li: number, puts: Tree[], from: string[] | undefined): Tree {
  const out: Tree = new Map();
  layers.forEach((l, i) => {
    const wanted = from ? from.includes(l.name) : i > li;
    if (wanted) for (const [p, e] of puts[i]) out.set(p as ImagePath, e);
  });
  return out;
}

/** Every file the layers above `li` put, the upper ones last, with the stage origins of those from a stage. */
function libsInputs(li: number, upper: Pick<StackResult, 'puts' | 'origins'>): NonNullable<SourceContext['libsInputs']> {
  const origins = new Map<ImagePath, FileOrigin>();
  const all: Tree = new Map();
  for (let i = li + 1; i < upper.puts.length; i++) {
    for (const [p, e] of upper.puts[i]) all.set(p, e);
    for (const [p, o] of upper.origins[i]) origins.set(p, o);
    // A later layer's own file replaces a stage file at the same path.
    for (const p of upper.puts[i].keys()) if (!upper.origins[i].has(p)) origins.delete(p);
  }
  return { origins, upper: all };
}

/** For `copy from:` a stage: the path in the stage of each file put (the copy maps src onto dest). */
function recordStageOrigins(source: SourceOf<'copy'>, stages: Map<string, Tree>, put: Tree, out: Map<ImagePath, FileOrigin>): void {
  const stage = stages.get(source.from!);
  const src = imagePath(source.src);
  if (!stage) return;
  const folder = stage.get(src)?.type === 'dir';
  const dest = imagePath(source.dest);
  for (const p of put.keys()) {
    if (!folder) out.set(p, { stage: source.from!, path: src });
    else if (p === dest || isUnder(p, dest)) out.set(p, { stage: source.from!, path: p === dest ? src : joinImage(src, p.slice(dest === '/' ? 1 : dest.length + 1)) });
  }
}
