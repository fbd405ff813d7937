// The build graph (issue 15): the plan read from a recipe (pure), its layout in
// columns (pure), and the plan a real EngineSession sends for the hello
// example, checked against the recipe and against the node events that follow.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventSchema, PLAN_MAX_NODES, type EngineEvent, type PlanNode, type Response } from '../../shared/contract';
import { recipeSchema, type RecipeInput } from '../../shared/recipe';
import { planOf } from '../../electron/engine/graph/plan';
import { layoutGraph, shownState, totalLine } from '../../renderer/src/buildGraph';
import { tempDir } from '../helpers/env';
import { copyExample, writeProject } from '../helpers/projects';
import { sessionBridge } from '../helpers/session';

const recipe = (r: Omit<RecipeInput, 'name'>) => recipeSchema.parse({ name: 'g', ...r });
const deps = (g: PlanNode[], id: string) => g.find((n) => n.id === id)?.deps;

describe('planOf: the graph a recipe builds', () => {
  const twoLayers = recipe({
    stages: [{ name: 'tools', layers: [{ name: 'base', sources: [{ kind: 'busybox' }] }, { name: 'gen', sources: [{ kind: 'run', command: 'echo hi > /x' }] }] }],
    layers: [
      { name: 'libs', sources: [{ kind: 'libs' }] },
      {
        name: 'app',
        diffbase: 'libs',
        sources: [
          { kind: 'run', command: 'true', mounts: [{ stage: 'tools', at: '/t' }] },
          { kind: 'copy', from: 'tools', src: '/x', dest: '/x' },
        ],
      },
    ],
  });

  it('sources → layers → image → outputs, with the stages and libs reads as edges', () => {
    const g = planOf(twoLayers, { formats: ['docker', 'oci'], sbom: true });
    expect(g.map((n) => `${n.kind} ${n.id}`)).toEqual([
      'stage source:tools/base:0',
      'stage source:tools/gen:0',
      'source source:libs:0',
      'source source:app:0',
      'source source:app:1',
      'layer layer:libs',
      'layer layer:app',
      'image image',
      'sbom sbom',
      'export export:docker',
      'export export:oci',
    ]);
    // A run step reads the state under it: the stage layer below; the copy and the mount read the stage.
    expect(deps(g, 'source:tools/gen:0')).toEqual(['source:tools/base:0']);
    expect(deps(g, 'source:app:0')).toEqual(['source:tools/base:0', 'source:tools/gen:0', 'layer:libs']);
    expect(deps(g, 'source:app:1')).toEqual(['source:tools/base:0', 'source:tools/gen:0']);
    // libs reads the layers above it, except where that would close a cycle (the run step reads the layer below).
    expect(deps(g, 'source:libs:0')).toEqual(['source:app:1']);
    expect(deps(g, 'layer:app')).toEqual(['source:app:0', 'source:app:1', 'layer:libs']);
    expect(deps(g, 'image')).toEqual(['layer:libs', 'layer:app']);
    expect(deps(g, 'export:oci')).toEqual(['image']);
    expect(planOf(twoLayers, { formats: [], sbom: false }).map((n) => n.id).slice(-1)).toEqual(['image']);
  });

  it("a base image's layers, once known, hang from the image source", () => {
    const r = recipe({ layers: [{ name: 'base', sources: [{ kind: 'image', ref: 'oci:b' }] }, { name: 'app', sources: [{ kind: 'busybox' }] }] });
    const stack = [{ name: 'base~1', sources: [] }, { name: 'base', sources: [] }, ...r.layers.slice(1)];
    const g = planOf(r, { formats: ['docker'], sbom: false, layers: stack });
    expect(g.filter((n) => n.kind === 'layer').map((n) => [n.id, n.deps])).toEqual([
      ['layer:base~1', ['source:base:0']],
      ['layer:base', ['source:base:0']],
      ['layer:app', ['source:app:0']],
    ]);
  });
});

describe('layoutGraph: columns by depth', () => {
  const n = (id: string, ...d: string[]): PlanNode => ({ id, label: id, kind: 'source', deps: d });

  it('puts each node one column right of its deepest dependency, and orders columns by what they read', () => {
    const l = layoutGraph([n('a'), n('b'), n('c'), n('L2', 'c'), n('L1', 'a', 'b'), n('img', 'L1', 'L2'), n('out', 'img')]);
    const at = Object.fromEntries(l.placed.map((p) => [p.node.id, [p.col, p.row]]));
    expect(at).toEqual({ a: [0, 0], b: [0, 1], c: [0, 2], L1: [1, 0], L2: [1, 1], img: [2, 0], out: [3, 0] });
    expect(l.columns).toBe(4);
    expect(l.rows).toBe(3);
    expect(l.edges.map((e) => `${e.from.node.id}>${e.to.node.id}`).sort()).toEqual(['L1>img', 'L2>img', 'a>L1', 'b>L1', 'c>L2', 'img>out'].sort());
  });

  it('survives what a plan never holds: a cycle, a dangling id, a self-edge', () => {
    const l = layoutGraph([n('x', 'y', 'nowhere'), n('y', 'x'), n('z', 'z')]);
    expect(l.placed).toHaveLength(3);
    // Every edge drawn goes left to right.
    expect(l.edges.every((e) => e.from.col < e.to.col)).toBe(true);
    expect(l.edges).toHaveLength(1);
  });

  it('says what never ran once the build ended, and totals it', () => {
    expect(shownState(undefined, true)).toBe('waiting');
    expect(shownState(undefined, false)).toBe('not run');
    expect(totalLine(['done', 'cached', 'cached', 'failed', 'not run'], 1500)).toBe('5 nodes · 1 done · 2 cached · 1 failed · 1 not run · 1.50 s');
  });
});

describe('build.plan from a real session', () => {
  const work = tempDir('sy-graph-');
  const events: EngineEvent[] = [];
  afterAll(() => sessions.forEach((s) => s.dispose()));
  const sessions: { dispose(): void }[] = [];
  const run = async (project: string) => {
    const { session, bridge } = sessionBridge(project, path.join(work, 'cache'));
    sessions.push(session);
    bridge.onEvent((e) => events.push(e));
    await session.handle({ cmd: 'project.open' });
    events.length = 0;
    return (await session.handle({ cmd: 'build.start' })) as Response<'build.start'>;
  };

  it("carries the hello recipe's graph, and every planned node reports under its id", async () => {
    const b = await run(copyExample('hello', path.join(work, 'hello')));
    expect(b.ok, b.error).toBe(true);
    for (const e of events) expect(eventSchema.safeParse(e).success).toBe(true);
    const plan = events.find((e) => e.event === 'build.plan');
    if (plan?.event !== 'build.plan') throw new Error('no build.plan');
    const g = plan.graph;
    expect(plan.nodes).toBe(g.length);
    // hello: layer libs (libs), layer app (busybox, host, symlink, dir, file); docker, oci, rootfs and the sbom.
    expect(g.filter((n) => n.kind === 'source').map((n) => n.label)).toEqual(['libs: libs', 'app: busybox', 'app: host', 'app: symlink', 'app: dir', 'app: file']);
    expect(deps(g, 'source:libs:0')).toEqual(['source:app:0', 'source:app:1', 'source:app:2', 'source:app:3', 'source:app:4']);
    expect(deps(g, 'layer:libs')).toEqual(['source:libs:0']);
    expect(deps(g, 'layer:app')).toEqual(['source:app:0', 'source:app:1', 'source:app:2', 'source:app:3', 'source:app:4']);
    expect(deps(g, 'image')).toEqual(['layer:libs', 'layer:app']);
    expect(g.filter((n) => n.kind === 'export').map((n) => [n.id, n.deps])).toEqual([
      ['export:docker', ['image']],
      ['export:oci', ['image']],
      ['export:rootfs', ['image']],
    ]);
    // Each planned node ended in a state, under the same id and label.
    const ended = new Map(events.flatMap((e) => (e.event === 'build.node' && e.state !== 'running' ? [[e.id, e]] : [])));
    for (const n of g) expect([n.id, ended.get(n.id)?.label, ended.get(n.id)?.state]).toEqual([n.id, n.label, 'done']);
  });

  it("a plan beyond the contract's bounds goes without its graph, and the build goes on", async () => {
    const files = Array.from({ length: PLAN_MAX_NODES }, (_, i) => `      - kind: file\n        path: /f${i}\n        content: x\n`).join('');
    const b = await run(writeProject(path.join(work, 'wide'), `name: wide\nsbom: false\nlayers:\n  - name: app\n    sources:\n${files}`));
    expect(b.ok, b.error).toBe(true);
    const plan = events.find((e) => e.event === 'build.plan');
    expect(plan).toMatchObject({ nodes: PLAN_MAX_NODES + 5, graph: [] });
  }, 60_000);

  // With a libs source, the stack is first evaluated without events: the failure still names its node.
  it('a missing file fails its source node, and nothing downstream of it ran', async () => {
    const p = writeProject(path.join(work, 'broken'), 'name: broken\nlayers:\n  - name: libs\n    sources:\n      - kind: libs\n  - name: app\n    sources:\n      - kind: busybox\n      - kind: copy\n        src: missing.txt\n        dest: /missing.txt\n');
    const b = await run(p);
    expect(b.ok).toBe(false);
    const ended = new Map(events.flatMap((e) => (e.event === 'build.node' && e.state !== 'running' ? [[e.id, e.state]] : [])));
    expect(ended.get('source:app:1')).toBe('failed');
    expect(events.find((e) => e.event === 'build.node' && e.state === 'failed')).toMatchObject({ label: 'app: copy', detail: expect.stringContaining('missing.txt') });
    expect(ended.has('layer:app')).toBe(false);
    expect(ended.has('image')).toBe(false);
  });
});
