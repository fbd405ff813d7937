// The build graph drawn as a graph (issue 15): the plan's nodes in columns by
// depth, edges from what a node reads to it, each node's state in colour AND
// word, its time, a running node's progress. The nodes are a list (one tab
// stop, arrow keys between them) so screen readers and tests read it as one.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import type { PlanNode } from '../../../shared/contract';
import { layoutGraph, shownState, totalLine, type Placed, type ShownState } from '../buildGraph';
import type { NodeView } from '../store';
import { duration } from '../format';

// Node width shrinks to fit the pane (down to MIN_W) so a narrow window still shows the outputs.
const MAX_W = 148;
const MIN_W = 108;
const H = 36;
const COL_GAP = 22;
const ROW_GAP = 6;
const PAD = 4;

const ICON: Record<ShownState, string> = { waiting: '○', running: '◐', cached: '↺', done: '✓', failed: '✗', 'not run': '–' };

/** A node's own report, and that of its sub-nodes (a debian source's download and install) folded into it. */
interface Shown {
  state: ShownState;
  view?: NodeView;
  sub?: NodeView;
}

function showNodes(graph: PlanNode[], nodes: NodeView[], building: boolean): Map<string, Shown> {
  const own = new Map(nodes.map((n) => [n.id, n]));
  const planned = new Set(graph.map((n) => n.id));
  const subs = new Map<string, NodeView>();
  for (const n of nodes) {
    if (planned.has(n.id)) continue;
    const parent = graph.find((p) => n.id.startsWith(`${p.id}:`));
    // The running sub-node says most; else the last one to report.
    if (parent && (subs.get(parent.id)?.state !== 'running' || n.state === 'running')) subs.set(parent.id, n);
  }
  return new Map(graph.map((p) => [p.id, { state: shownState(own.get(p.id)?.state, building), view: own.get(p.id), sub: subs.get(p.id) }]));
}

export function BuildGraph({ graph, nodes, building, ms, progress }: { graph: PlanNode[]; nodes: NodeView[]; building: boolean; ms?: number; progress?: ReactNode }) {
  // Nodes that reported without being planned (none today) are drawn too, on their own.
  const all = useMemo(() => {
    const ids = new Set(graph.map((n) => n.id));
    const extra = nodes.filter((n) => !ids.has(n.id) && !graph.some((p) => n.id.startsWith(`${p.id}:`)));
    return [...graph, ...extra.map((n): PlanNode => ({ id: n.id, label: n.label, kind: 'source', deps: [] }))];
  }, [graph, nodes]);
  const layout = useMemo(() => layoutGraph(all), [all]);
  const shown = showNodes(all, nodes, building);
  // The roving tab stop (kept when focus leaves), and the node focused now (its edges lit).
  const [stop, setStop] = useState<string>();
  const [focus, setFocus] = useState<string>();
  const refs = useRef(new Map<string, HTMLLIElement>());
  const scroller = useRef<HTMLDivElement>(null);
  const [room, setRoom] = useState<number>();
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setRoom(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const fit = room === undefined ? MAX_W : Math.floor((room - PAD * 2 - Math.max(0, layout.columns - 1) * COL_GAP) / Math.max(1, layout.columns));
  const W = Math.max(MIN_W, Math.min(MAX_W, fit));
  const current = layout.placed.find((p) => p.node.id === stop) ?? layout.placed[0];

  // Top-aligned: in a low dock, the layers, the image and the outputs are in sight without scrolling.
  const pos = (p: Placed) => ({ x: PAD + p.col * (W + COL_GAP), y: PAD + p.row * (H + ROW_GAP) });
  const width = PAD * 2 + layout.columns * W + Math.max(0, layout.columns - 1) * COL_GAP;
  const height = PAD * 2 + layout.rows * H + Math.max(0, layout.rows - 1) * ROW_GAP;
  const labelOf = new Map(all.map((n) => [n.id, n.label]));

  const move = (to: Placed | undefined) => {
    if (!to) return;
    setStop(to.node.id);
    refs.current.get(to.node.id)?.focus();
  };
  const onKey = (e: KeyboardEvent) => {
    if (!current) return;
    const inCol = (c: number) => layout.placed.filter((p) => p.col === c).sort((a, b) => a.row - b.row);
    const nearest = (c: number, prefer: string[]) => {
      const col = inCol(c);
      const linked = col.filter((p) => prefer.includes(p.node.id));
      const y = pos(current).y;
      return (linked.length ? linked : col).sort((a, b) => Math.abs(pos(a).y - y) - Math.abs(pos(b).y - y))[0];
    };
    const dependants = layout.edges.filter((x) => x.from === current).map((x) => x.to.node.id);
    const to: Record<string, () => Placed | undefined> = {
      ArrowDown: () => inCol(current.col)[current.row + 1],
      ArrowUp: () => inCol(current.col)[current.row - 1],
      ArrowRight: () => nearest(current.col + 1, dependants),
      ArrowLeft: () => nearest(current.col - 1, current.node.deps),
      Home: () => layout.placed[0],
      End: () => layout.placed[layout.placed.length - 1],
    };
    if (!to[e.key]) return;
    e.preventDefault();
    move(to[e.key]());
  };

  // The build's own time, the one its summary gives: shown once it has ended.
  const total = building ? undefined : ms;
  return (
    <div className="build-graph">
      <div className="graph-head">
        <p className="graph-total" aria-label="Build graph total">
          {totalLine(
            layout.placed.map((p) => shown.get(p.node.id)!.state),
            total,
          )}
        </p>
        {progress}
      </div>
      <div className="graph-scroll" ref={scroller}>
        <div className="graph-canvas" style={{ width, height }}>
          <svg className="graph-edges" width={width} height={height} aria-hidden="true">
            {layout.edges.map(({ from, to }) => {
              const a = pos(from);
              const b = pos(to);
              const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
              const mid = (x1 + x2) / 2;
              const lit = focus !== undefined && (from.node.id === focus || to.node.id === focus);
              return <path key={`${from.node.id}>${to.node.id}`} data-from={from.node.id} data-to={to.node.id} className={`edge ${shown.get(from.node.id)!.state.replace(' ', '-')}${lit ? ' lit' : ''}`} d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} />;
            })}
          </svg>
          <ul role="list" aria-label="Build graph" className="graph-nodes" onKeyDown={onKey}>
            {/* The plan's order, not the drawing's: a screen reader reads the build as it runs. */}
            {layout.placed.map((p) => {
              const s = shown.get(p.node.id)!;
              const { x, y } = pos(p);
              const ms = s.view?.ms;
              const progress = s.state === 'running' ? (s.view?.progress ?? s.sub?.progress) : undefined;
              const after = p.node.deps.map((d) => labelOf.get(d)).filter(Boolean);
              const sub = s.sub && s.state === 'running' ? `${s.sub.label.split(' ').pop()} ${s.sub.state}` : undefined;
              const name = `${p.node.label}: ${s.state}${ms !== undefined ? `, ${duration(ms)}` : ''}${sub ? `, ${sub}` : ''}${after.length ? `; reads ${after.join(', ')}` : ''}`;
              return (
                <li
                  key={p.node.id}
                  ref={(el) => void (el ? refs.current.set(p.node.id, el) : refs.current.delete(p.node.id))}
                  className={`gnode ${p.node.kind} ${s.state.replace(' ', '-')}`}
                  style={{ left: x, top: y, width: W, height: H }}
                  tabIndex={p === current ? 0 : -1}
                  onFocus={() => {
                    setStop(p.node.id);
                    setFocus(p.node.id);
                  }}
                  onBlur={() => setFocus((f) => (f === p.node.id ? undefined : f))}
                  aria-label={name}
                  title={[name, s.view?.detail].filter(Boolean).join('\n')}
                  data-id={p.node.id}
                  data-state={s.state}
                >
                  <span className="gnode-label">
                    <span className="gnode-icon" aria-hidden="true">
                      {ICON[s.state]}
                    </span>{' '}
                    {p.node.label}
                  </span>{' '}
                  <span className="gnode-meta">
                    <span className="state">{s.state}</span>
                    {ms !== undefined && <span className="gnode-ms"> {duration(ms)}</span>}
                    {sub && <span className="gnode-sub"> · {sub}</span>}
                  </span>
                  {s.state === 'running' && (progress !== undefined ? <progress aria-label={`${p.node.label} progress`} max={1} value={progress} /> : <span className="gnode-busy" aria-hidden="true" />)}
                </li>
              );
            })}
          </ul>
        </div>
      </div>
    </div>
  );
}
