// The build graph laid out in columns by depth (sources → layers → image →
// outputs): a longest-path layering, then each column ordered by where the
// nodes it reads sit (a barycenter sweep). Pure: tens of nodes, no library.
import type { PlanNode } from '../../shared/contract';
import { duration } from './format';

export interface Placed {
  node: PlanNode;
  /** Column: the longest chain of dependencies under the node. */
  col: number;
  /** Row within the column. */
  row: number;
}

export interface GraphLayout {
  placed: Placed[];
  /** Dependency → dependant, both placed (unknown ids and self-edges left out). */
  edges: { from: Placed; to: Placed }[];
  columns: number;
  /** The tallest column's node count. */
  rows: number;
}

export function layoutGraph(nodes: PlanNode[]): GraphLayout {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depsOf = (n: PlanNode) => n.deps.filter((d) => d !== n.id && byId.has(d));
  // Longest path from a node with no dependencies; a cycle (never planned, but never trusted) is cut where it closes.
  const col = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (n: PlanNode): number => {
    const known = col.get(n.id);
    if (known !== undefined) return known;
    if (visiting.has(n.id)) return -1;
    visiting.add(n.id);
    let d = 0;
    for (const dep of depsOf(n)) d = Math.max(d, depth(byId.get(dep)!) + 1);
    visiting.delete(n.id);
    col.set(n.id, d);
    return d;
  };
  for (const n of nodes) depth(n);

  const columns: PlanNode[][] = [];
  for (const n of nodes) (columns[col.get(n.id)!] ??= []).push(n);
  // Order each column by the mean row of what it reads, the plan's order breaking ties.
  const row = new Map<string, number>();
  const planIndex = new Map(nodes.map((n, i) => [n.id, i]));
  for (const column of columns) {
    if (!column) continue;
    const key = (n: PlanNode) => {
      const rows = depsOf(n)
        .map((d) => row.get(d))
        .filter((r): r is number => r !== undefined);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : planIndex.get(n.id)!;
    };
    const keyed = column.map((n) => ({ n, k: key(n), i: planIndex.get(n.id)! }));
    keyed.sort((a, b) => a.k - b.k || a.i - b.i);
    keyed.forEach(({ n }, r) => row.set(n.id, r));
  }
  const placed = nodes.map((node) => ({ node, col: col.get(node.id)!, row: row.get(node.id)! }));
  const at = new Map(placed.map((p) => [p.node.id, p]));
  const edges = placed.flatMap((to) => depsOf(to.node).map((d) => ({ from: at.get(d)!, to })).filter((e) => e.from.col < e.to.col));
  return { placed, edges, columns: columns.length, rows: Math.max(0, ...columns.map((c) => c?.length ?? 0)) };
}

export type ShownState = 'waiting' | 'running' | 'cached' | 'done' | 'failed' | 'not run';

/** What a node shows: its own state, or — for a planned node that never reported — waiting, or not run once the build ended. */
export function shownState(reported: ShownState | undefined, building: boolean): ShownState {
  return reported ?? (building ? 'waiting' : 'not run');
}

/** "7 nodes · 3 done · 4 cached · 0 failed · 1.4 s": the line under the graph. */
export function totalLine(states: ShownState[], ms: number | undefined): string {
  const count = (s: ShownState) => states.filter((x) => x === s).length;
  const parts = [`${states.length} node${states.length === 1 ? '' : 's'}`, `${count('done')} done`, `${count('cached')} cached`];
  if (count('failed')) parts.push(`${count('failed')} failed`);
  if (count('running')) parts.push(`${count('running')} running`);
  if (count('waiting')) parts.push(`${count('waiting')} waiting`);
  if (count('not run')) parts.push(`${count('not run')} not run`);
  if (ms !== undefined) parts.push(duration(ms));
  return parts.join(' · ');
}

