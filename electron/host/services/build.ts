// Builds: start, cancel, the history kept per project, and the last build
// restored from that history and out/ when a project opens (nothing rebuilt).
import { buildRows } from '../packages';
import path from 'node:path';
import { z } from 'zod';
import { PLAN_MAX_NODES, type BuildReply, type EngineEvent } from '../../../shared/contract';
import { build, type BuildResult } from '../../engine/entry/build';
import type { BuildEvent, PlanNode } from '../../engine/model/events';
import { readJsonCapped } from '../../engine/store/integrity';
import { openNamed, replyLayers, restoredBuild, shownOfBuild, shownOfImage } from '../inspect';
import { lockState } from '../../engine/inspect/packages';
import type { Handlers } from './handler';
import { readHistory, recordBuild, type BuildRecord } from './history';
import type { HostState } from './state';

export async function runBuild(state: HostState): Promise<BuildReply> {
  state.building?.abort();
  const ac = new AbortController();
  state.building = ac;
  const t0 = performance.now();
  const recipeFile = state.recipeFile();
  const drawn = drawnBuild();
  try {
    const r = await build({
      project: state.projectPath,
      cacheDir: state.cacheDir,
      formats: ['docker', 'oci', 'rootfs'],
      signal: ac.signal,
      onEvent: (e) => {
        const event = engineEvent(e);
        drawn.see(event);
        state.emit(event);
      },
    });
    state.setResult(r);
    // The Packages rows, made now in the background and kept for this build's restoring after a reload.
    void buildRows(r, state.cacheDir).catch(() => undefined);
    const record = { ...recordOf(r, performance.now() - t0), ...drawn.record() };
    await recordBuild(state.cacheDir, recipeFile, record).catch((e: Error) => state.emit({ event: 'log', line: `build history not written: ${e.message}` }));
    return { ok: true, manifestDigest: record.manifestDigest, layers: record.layers, record, ...(record.lock ? { lock: record.lock } : {}) };
  } catch (e) {
    const message = e instanceof Error ? (ac.signal.aborted ? 'cancelled' : e.message) : String(e);
    state.emit({ event: 'log', line: `build failed: ${message}` });
    const record: BuildRecord = { at: Date.now(), ms: Math.round(performance.now() - t0), ok: false, error: message.slice(0, 4000), layers: [], size: 0, cacheHits: 0, outputs: {}, ...drawn.record() };
    await recordBuild(state.cacheDir, recipeFile, record).catch(() => {});
    return { ok: false, error: message, layers: [], record };
  } finally {
    if (state.building === ac) state.building = undefined;
  }
}

/** The graph a build planned and each node's last state, as the history keeps them for drawing a restored build. */
function drawnBuild() {
  let graph: PlanNode[] = [];
  const nodes = new Map<string, NonNullable<BuildRecord['nodes']>[number]>();
  return {
    see(e: EngineEvent) {
      if (e.event === 'build.plan') graph = e.graph;
      const fits = (t: string) => t.length <= 1024;
      if (e.event === 'build.node' && e.state !== 'running' && fits(e.id) && fits(e.label) && nodes.size < PLAN_MAX_NODES * 4) nodes.set(e.id, { id: e.id, label: e.label, state: e.state, ...(e.ms !== undefined ? { ms: Math.round(e.ms) } : {}) });
    },
    record(): Pick<BuildRecord, 'graph' | 'nodes'> {
      return graph.length ? { graph, nodes: [...nodes.values()] } : {};
    },
  };
}

function recordOf(r: BuildResult, ms: number): BuildRecord {
  const layers = replyLayers(shownOfBuild(r), r);
  return {
    lock: lockState(r.lock, false),
    at: Date.now(),
    ms: Math.round(ms),
    ok: true,
    manifestDigest: `sha256:${r.manifestDigest}`,
    layers,
    size: layers.reduce((n, l) => n + l.size, 0),
    cacheHits: layers.filter((l) => l.cached).length,
    outputs: Object.fromEntries(Object.entries(r.outputs).filter((e): e is [string, string] => typeof e[1] === 'string')),
  };
}

/**
 * The project's last successful build, shown as it was: its record from the
 * history at once, and its trees from the OCI layout it wrote to out/, read in
 * the background (requests for views wait for them). The layout must still
 * name the recorded manifest (checked now, cheaply, in its index.json) and hold
 * the recorded layers (checked when read); else only the record shows.
 */
export async function restoreLastBuild(state: HostState): Promise<BuildReply | undefined> {
  const { records, problem } = await readHistory(state.cacheDir, state.recipeFile());
  if (problem) state.emit({ event: 'log', line: `build history: ${problem} (ignored)` });
  const last = records.find((r) => r.ok);
  if (!last) return undefined;
  const reply: BuildReply = { ok: true, manifestDigest: last.manifestDigest, layers: last.layers, record: last, restored: true, ...(last.lock ? { lock: last.lock } : {}) };
  const oci = last.outputs.oci;
  const gone = (why: string): BuildReply => ({ ...reply, ok: false, error: `${oci ?? 'out/'}: ${why}: press Build` });
  if (!oci) return gone('the last build wrote no OCI layout');
  const index = await readJsonCapped(path.join(oci, 'index.json'), 1 << 20).catch(() => undefined);
  if (!index || !('value' in index)) return gone("the last build's output is gone");
  const listed = ociIndex.safeParse(index.value);
  if (!listed.success || !listed.data.manifests.some((m) => m.digest === last.manifestDigest)) return gone('no longer holds the last build (rebuilt or changed elsewhere)');
  const generation = state.generation;
  state.restoring = (async () => {
    const img = await openNamed(await state.store(), oci);
    const same = img.layers.length === last.layers.length && img.layers.every((l, i) => digestOf(l.digest) === last.layers[i].digest);
    if (!same) throw new Error(`${oci} no longer holds the layers of the last build: press Build`);
    if (generation !== state.generation) return;
    const shown = shownOfImage(oci, img, await state.store());
    const names = last.layers.map((l) => l.name);
    state.restored = { record: last, img, shown: restoredBuild(shown, names, state.recipeFile()) };
    state.reset();
  })().catch((e: unknown) => state.emit({ event: 'log', line: `the last build is not shown: ${e instanceof Error ? e.message : String(e)}` }));
  return reply;
}

const ociIndex = z.object({ manifests: z.array(z.object({ digest: z.string() })).max(1000) });

const digestOf = (d: string) => (d.startsWith('sha256:') ? d : `sha256:${d}`);

export const buildHandlers: Handlers<'build.start' | 'build.cancel' | 'build.history'> = {
  'build.start': (_req, state) => {
    state.writable();
    return runBuild(state);
  },
  'build.cancel': (_req, state) => {
    state.building?.abort();
    return { cancelled: !!state.building };
  },
  'build.history': async (_req, state) => ({ records: (await readHistory(state.cacheDir, state.recipeFile())).records }),
};

/** The plan's graph within the contract's bounds, or none (the window then lists nodes as they report). */
function planGraph(graph: PlanNode[]): PlanNode[] {
  const fits = graph.length <= PLAN_MAX_NODES && graph.every((n) => n.deps.length <= PLAN_MAX_NODES && n.id.length <= 1024 && n.label.length <= 1024 && n.deps.every((d) => d.length <= 1024));
  return fits ? graph : [];
}

/** A build event as the window receives it. */
function engineEvent(e: BuildEvent): EngineEvent {
  if (e.type === 'plan') return { event: 'build.plan', nodes: e.nodes, graph: planGraph(e.graph) };
  if (e.type === 'log') return { event: 'log', line: e.line };
  if (e.type === 'warning') return { event: 'build.warning', kind: e.kind, image: e.image, host: e.host, reason: e.reason, field: e.field };
  return { ...e, event: 'build.node' };
}
