// The bottom dock (issue 15): build log, terminals and run results as tabs,
// each terminal and the results closable; collapses to its tab bar, resizes
// by dragging its edge or with the arrow keys, never past half the window.
import { BuildSummary } from './BuildSummary';
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { api } from '../api';
import { DOCK_MIN, dockMax, useDock } from '../dock';
import { rovingTarget } from '../keys';
import { useRunResults } from '../runResults';
import { useStore, type RunView } from '../store';
import { BuildPanel } from './Panels';
import { RunResults } from './RunResults';
import { Terminal } from './Terminal';

const STEP = 24;

/** Where the main view starts: the dock may take at most half the window below it. */
function useDockMax(): number {
  const [max, setMax] = useState(() => dockMax(window.innerHeight, 50));
  useLayoutEffect(() => {
    const measure = () => {
      const main = document.querySelector('.app > main');
      setMax(dockMax(window.innerHeight, main ? main.getBoundingClientRect().top : 50));
    };
    measure();
    window.addEventListener('resize', measure);
    const ro = new ResizeObserver(measure);
    const head = document.querySelector('.app > header');
    if (head) ro.observe(head);
    return () => {
      window.removeEventListener('resize', measure);
      ro.disconnect();
    };
  }, []);
  return max;
}

export function Dock() {
  const { runs, building, nodes } = useStore();
  // The last build's line (this session's, or restored on open) sits in the bar, in sight when collapsed.
  const record = useStore((s) => s.build?.record);
  const results = useRunResults();
  const dock = useDock();
  const max = useDockMax();
  const height = Math.min(dock.height, max);
  const hasResults = !!results.running || results.rows.length > 0 || results.checks.length > 0;
  const tabs: { id: string; label: string; run?: RunView }[] = [
    { id: 'build', label: building ? 'Build…' : 'Build' },
    ...runs.map((r) => ({ id: r.id, label: `${r.title}${r.code !== undefined ? ` (exit ${r.code})` : ' …'}`, run: r })),
    ...(hasResults ? [{ id: 'results', label: results.running ? 'Run results…' : 'Run results' }] : []),
  ];
  const active = tabs.some((t) => t.id === dock.tab) ? dock.tab : 'build';

  // Something new to see opens the dock on it: a build, a terminal, run results.
  useShowOn(building, 'build');
  const lastRun = runs[runs.length - 1]?.id;
  useShowOn(lastRun, lastRun ?? 'build');
  useShowOn(!!results.running || results.checks.some((c) => c.running), 'results');

  // Before the first build there is nothing to show: the dock is its bar and a hint, no empty box.
  const idle = !building && nodes.length === 0 && tabs.length === 1;
  const close = (t: { id: string; run?: RunView }) => {
    if (t.run) {
      void api.request({ cmd: 'term.close', id: t.id }).catch(() => {});
      useStore.setState((s) => ({ runs: s.runs.filter((r) => r.id !== t.id), activeRun: s.activeRun === t.id ? undefined : s.activeRun }));
    } else if (t.id === 'results') useRunResults.setState({ rows: [], checks: [], agree: undefined, shown: undefined, checkShown: undefined });
    if (active === t.id) dock.show('build');
  };
  const onTabKey = (e: KeyboardEvent, i: number) => {
    const next = rovingTarget(e.key, i, tabs.length, 'horizontal');
    if (next === undefined) return;
    e.preventDefault();
    const t = tabs[next];
    dock.show(t.id);
    document.getElementById(`dock-tab-${t.id}`)?.focus();
  };
  return (
    <footer className={`dock ${dock.collapsed || idle ? 'collapsed' : ''}`} style={dock.collapsed || idle ? undefined : { height }} aria-label="Bottom panel">
      {!dock.collapsed && !idle && <ResizeHandle height={height} max={max} />}
      <div className="dock-bar">
        <div role="tablist" aria-label="Bottom panel tabs" className="dock-tabs">
          {tabs.map((t, i) => (
            <span key={t.id} className={`dock-tab ${active === t.id ? 'on' : ''}`}>
              <button
                id={`dock-tab-${t.id}`}
                role="tab"
                aria-selected={active === t.id && !dock.collapsed}
                tabIndex={active === t.id ? 0 : -1}
                onClick={() => (active === t.id && !dock.collapsed ? dock.setCollapsed(true) : dock.show(t.id))}
                onKeyDown={(e) => onTabKey(e, i)}
              >
                {t.label}
              </button>
              {t.id !== 'build' && (
                <button className="close" aria-label={`Close ${t.run ? t.run.title : 'run results'}`} title={t.run ? 'Close (ends the process)' : 'Close'} onClick={() => close(t)}>
                  ×
                </button>
              )}
            </span>
          ))}
        </div>
        {record ? <BuildSummary /> : idle && <span className="muted dock-hint">Press Build to compile the recipe into layers and archives; its log, terminals and run results show here.</span>}
        {!idle && (
        <button className="small dock-toggle" aria-expanded={!dock.collapsed} aria-label={dock.collapsed ? 'Expand the bottom panel' : 'Collapse the bottom panel'} title={dock.collapsed ? 'Expand' : 'Collapse'} onClick={() => dock.setCollapsed(!dock.collapsed)}>
          {dock.collapsed ? '▴' : '▾'}
        </button>
        )}
      </div>
      {/* Terminals stay mounted while collapsed or behind another tab: their scrollback lives in xterm. */}
      <div className="dock-body" hidden={dock.collapsed || idle}>
        <div role="tabpanel" aria-label="Build" hidden={active !== 'build'} className="dock-panel">
          <BuildPanel />
        </div>
        {runs.map((r) => (
          <div key={r.id} role="tabpanel" aria-label={r.title} hidden={active !== r.id} className="dock-panel">
            <section className="runs" aria-label="Runs">
              <p className="result" aria-live="polite">
                {r.code === undefined ? 'running…' : `exit code ${r.code} in ${r.ms} ms`}
                {r.code === undefined && (
                  // Ends the process as docker stop would; the tab stays with its output and exit code.
                  <button className="small run-stop" aria-label={`Stop ${r.title}`} onClick={() => void api.request({ cmd: 'term.close', id: r.id }).catch(() => {})}>
                    Stop
                  </button>
                )}
              </p>
              <Terminal id={r.id} label={r.title} interactive={r.kind === 'shell'} />
            </section>
          </div>
        ))}
        {hasResults && (
          <div role="tabpanel" aria-label="Run results" hidden={active !== 'results'} className="dock-panel scroll">
            <RunResults />
          </div>
        )}
      </div>
    </footer>
  );
}

/** Opens the dock on `tab` each time `signal` turns truthy or changes to another truthy value. */
function useShowOn(signal: unknown, tab: string) {
  const before = useRef(signal);
  useEffect(() => {
    if (signal && signal !== before.current) useDock.getState().show(tab);
    before.current = signal;
  }, [signal, tab]);
}

/** The dock's top edge: drag it, or focus it and use the arrow keys (Home: smallest, End: tallest). */
function ResizeHandle({ height, max }: { height: number; max: number }) {
  const setHeight = useDock((d) => d.setHeight);
  const drag = useRef<{ y: number; h: number } | undefined>(undefined);
  const onDown = (e: PointerEvent<HTMLDivElement>) => {
    drag.current = { y: e.clientY, h: height };
    e.currentTarget.setPointerCapture(e.pointerId);
  };
  const onMove = (e: PointerEvent<HTMLDivElement>) => {
    if (drag.current) setHeight(Math.min(max, drag.current.h + drag.current.y - e.clientY));
  };
  const onKey = (e: KeyboardEvent) => {
    const to = e.key === 'ArrowUp' ? height + STEP : e.key === 'ArrowDown' ? height - STEP : e.key === 'Home' ? DOCK_MIN : e.key === 'End' ? max : undefined;
    if (to === undefined) return;
    e.preventDefault();
    setHeight(Math.min(max, to));
  };
  return (
    <div
      className="dock-handle"
      role="separator"
      aria-orientation="horizontal"
      aria-label="Resize the bottom panel"
      aria-valuemin={DOCK_MIN}
      aria-valuemax={max}
      aria-valuenow={height}
      tabIndex={0}
      onPointerDown={onDown}
      onPointerMove={onMove}
      onPointerUp={() => (drag.current = undefined)}
      onKeyDown={onKey}
    />
  );
}
