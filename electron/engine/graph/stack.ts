// Evaluating the layer stack: every source applied in order over the state
// below it, giving the image's state after each layer.
import type { ImagePath } from '../../../shared/brand';
import type { LockEntry } from '../../../shared/lock';
import type { Layer, Recipe, Source, SourceOf } from '../../../shared/recipe';
import { imagePath, isUnder, joinImage } from '../model/path';
import { putEntry, removeSubtree, sortedPaths, emptyTree, TreeConflictError, type Tree } from '../model/tree';
import { RecipeError, runSource, type SourceContext, type SourceResult } from '../sources';
import type { FileOrigin } from '../sources/types';
import { hostWarnings, type HostBrought } from '../sources/host-warnings';
import type { BlobStore } from '../store/blobs';
import type { BuildCache } from '../store/cache';
import type { NodeReporter } from '../model/events';

export interface StackResult {
  /** State after each layer, bottom first. */
  states: Tree[];
  /** What each layer's sources put (for the libs source of the layers below). */
  puts: Tree[];
  /** Which of those files came out of a stage, and from where in it. */
  origins: Map<ImagePath, FileOrigin>[];
  /** Final tree of each build-only stage, by name. */
  stages: Map<string, Tree>;
}

export interface StackEnv {
  projectDir: string;
  store: BlobStore;
  cache: BuildCache;
  report: NodeReporter;
  signal?: AbortSignal;
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
    const r = await evaluateLayers(stage.layers, `stages[${i}].layers`, `${stage.name}/`, recipe.epoch, env, stages);
    stages.set(stage.name, r.states[r.states.length - 1]);
  }
  const r = await evaluateLayers(recipe.layers, 'layers', '', recipe.epoch, env, stages);
  return { ...r, stages };
}

async function evaluateLayers(layers: Layer[], fieldBase: string, idPrefix: string, epoch: number, env: StackEnv, stages: Map<string, Tree>) {
  const hasLibs = layers.some((l) => l.sources.some((s) => s.kind === 'libs'));
  if (!hasLibs) return evaluate(layers, fieldBase, idPrefix, epoch, env, stages, undefined, true);
  const first = await evaluate(layers, fieldBase, idPrefix, epoch, env, stages, undefined, false);
  return evaluate(layers, fieldBase, idPrefix, epoch, env, stages, first, true);
}

async function evaluate(
  layers: Layer[],
  fieldBase: string,
  idPrefix: string,
  epoch: number,
  env: StackEnv,
  stages: Map<string, Tree>,
  upper: Pick<StackResult, 'puts' | 'origins'> | undefined,
  report: boolean,
): Promise<Omit<StackResult, 'stages'>> {
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
        locked: env.locked?.(field),
        node: (id, label) => (report ? env.report.start(`source:${idPrefix}${layer.name}:${si}:${id}`, `${idPrefix}${layer.name}: ${label}`) : { done() {}, cached() {}, failed() {}, progress() {} }),
      };
      if (source.kind === 'libs' && upper) {
        ctx.filesAbove = filesAbove(layers, li, upper.puts, source.from);
        ctx.libsInputs = libsInputs(li, upper);
      }
      const node = report ? env.report.start(`source:${idPrefix}${layer.name}:${si}`, `${idPrefix}${layer.name}: ${source.kind}`) : undefined;
      try {
        const res = await runSource(source, ctx);
        for (const p of res.remove) removeSubtree(state, p);
        for (const p of sortedPaths(res.put)) {
          try {
            putEntry(state, p, res.put.get(p)!);
          } catch (e) {
            if (e instanceof TreeConflictError) throw new RecipeError(field, e.message);
            throw e;
          }
          layerPut.set(p, res.put.get(p)!);
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
    states.push(state);
    puts.push(layerPut);
    origins.push(layerOrigins);
  }
  // Once the image is complete: a link is dangling only if no layer put its target.
  if (brought.length) for (const w of await hostWarnings(brought, state, env.store)) env.report.warn(w);
  return { states, puts, origins };
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
