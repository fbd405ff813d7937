// The smaller views: layer stack, layer diff, file list, YAML, doctor, build and runs.
import { useEffect, useRef, useState } from 'react';
import type { Response } from '../../../shared/contract';
import { api } from '../api';
import { useStore } from '../store';
import { BuildGraph } from './BuildGraph';
import { Terminal } from './Terminal';
import { useCompose } from '../compose';
import { YamlEditor, type YamlEditorHandle } from './YamlEditor';
import { useSaveState } from './ComposeBar';

/** The layer stack moved to LayerStack.tsx when it became editable (issue 6). */
export { LayerStack as Layers } from './LayerStack';

/** The layer diff moved to LayerDiff.tsx when it became a sortable table (issue 15). */
export { LayerDiff } from './LayerDiff';

export function FileList() {
  const { build, layer } = useStore();
  const [lines, setLines] = useState<string[]>([]);
  const [q, setQ] = useState('');
  useEffect(() => {
    if (build?.ok) void api.request({ cmd: 'filelist.get', layer }).then((r) => setLines(r.lines));
  }, [build, layer]);
  if (!build?.ok) return <p className="empty">Build first to list the image's files with their checksums.</p>;
  const shown = q ? lines.filter((l) => l.includes(q)) : lines;
  const text = shown.join('\n') + '\n';
  return (
    <div className="filelist">
      <div className="toolbar">
        <input aria-label="Search the file list" value={q} onChange={(e) => setQ(e.target.value)} placeholder="search…" />
        <button onClick={() => void navigator.clipboard.writeText(text)}>Copy</button>
        <a download={`${layer ?? 'image'}.filelist`} href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}>
          Export
        </a>
        <span className="muted">
          {shown.length} of {lines.length} entries ({layer ?? 'whole image'})
        </span>
      </div>
      <pre aria-label="File list">{text}</pre>
    </div>
  );
}

export function Yaml() {
  const { yaml, problems, stale } = useStore();
  // The same Save as the compose bar: write, rebuild.
  const { save, edit, seal, undo, redo } = useCompose();
  const saveState = useSaveState();
  const editor = useRef<YamlEditorHandle>(null);
  return (
    <div className="yaml yaml-tab">
      <div className="toolbar">
        <button onClick={() => void save()} disabled={saveState.disabled} title={saveState.title}>
          Save
        </button>
        <span className={problems.length ? 'error' : 'muted'}>{problems.length ? `${problems.length} problem${problems.length > 1 ? 's' : ''}` : 'Valid recipe'}</span>
        {stale && <span className="muted">· the layer stack shows the last text that parsed</span>}
        {/* The editor takes Tab to indent: said where a keyboard user looks, with the way out. */}
        <span className="muted toolbar-note keys-hint">In the editor, Tab indents; Esc then Tab moves on.</span>
      </div>
      {problems.length > 0 && (
        // Above the editor, so a long file never pushes them out of sight; a click puts the cursor on the spot.
        <ul role="alert" aria-label="Problems" className="problems">
          {problems.map((p, i) => (
            <li key={i}>
              <button className="problem" onClick={() => editor.current?.jumpTo(p.line, p.column)} title="Show in the editor">
                line {p.line}, column {p.column}: <b>{p.field || 'recipe'}</b>: {p.message}
              </button>
            </li>
          ))}
        </ul>
      )}
      <YamlEditor ref={editor} label="scratchyard.yaml" value={yaml} problems={problems} onChange={(text, group) => (group ? edit(text, group) : void useStore.getState().editYaml(text))} onBlur={seal} onUndo={undo} onRedo={redo} />
    </div>
  );
}

export function Doctor() {
  const [d, setD] = useState<Response<'doctor'>>();
  useEffect(() => void api.request({ cmd: 'doctor' }).then(setD), []);
  if (!d) return <p className="empty">Checking the native tools…</p>;
  return (
    <table className="doctor" aria-label="Native tools">
      <thead>
        <tr>
          <th>Tool</th>
          <th>State</th>
          <th>Used for</th>
        </tr>
      </thead>
      <tbody>
        {d.tools.map((t) => (
          <tr key={t.command}>
            <td className="mono">{t.command}</td>
            <td>{t.path ? <span className="ok">{t.version ?? 'found'}</span> : <span className="error">missing: apt-get install {t.debianPackage}</span>}</td>
            <td className="muted">{t.purpose}</td>
          </tr>
        ))}
        <tr>
          <td>user namespaces</td>
          <td className={d.userNamespaces.ok ? 'ok' : 'error'}>{d.userNamespaces.detail}</td>
          <td className="muted">rootless chroot runs</td>
        </tr>
        <tr>
          <td>/dev/kvm</td>
          <td>{d.kvm.detail}</td>
          <td className="muted">VM runs</td>
        </tr>
        {d.kernel && (
          <tr>
            <td>kernel</td>
            <td className={d.kernel.path ? 'ok' : 'error'}>{d.kernel.detail}</td>
            <td className="muted">VM runs</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

export function BuildPanel() {
  const { nodes, plan, graph, graphMs, building, warnings, build } = useStore();
  const finished = nodes.filter((n) => n.state !== 'running').length;
  const bar = <progress aria-label="Build progress" max={plan || 1} value={finished} />;
  // A restored build draws the graph its record kept; an older record has none: it shows at the next build.
  const idle = build?.restored ? 'The graph of a build shows here while it runs: press Build to see it.' : 'Press Build to compile the recipe into layers and archives.';
  // A restored build's log was not kept: its graph takes the whole width.
  const showLog = building || (nodes.length > 0 && !build?.restored);
  return (
    <section className={`build${showLog ? '' : ' no-log'}`} aria-label="Build">
      <div className="nodes">
        {graph.length > 0 ? (
          <BuildGraph graph={graph} nodes={nodes} building={building} ms={graphMs} progress={bar} />
        ) : (
          building || nodes.length ? bar : <span className="muted">{idle}</span>
        )}
        {graph.length === 0 && (
          // A plan too large to draw (or none yet): the nodes as they report.
          <ul aria-label="Build graph">
            {nodes
              .filter((n) => !n.id.startsWith('source:') || n.id.split(':').length > 3)
              .map((n) => (
                <li key={n.id} className={n.state}>
                  {n.label} <span className="state">{n.state}</span> {n.ms !== undefined && <span className="muted">{n.ms} ms</span>}
                  {n.state === 'running' && n.progress !== undefined && <progress aria-label={`${n.label} progress`} max={1} value={n.progress} />}
                </li>
              ))}
          </ul>
        )}
        {warnings.length > 0 && (
          <ul className="warnings" aria-label="Build warnings">
            {warnings.map((w, i) => (
              <li key={i} title={`from ${w.host} (${w.field})`}>
                <span className="kind">{w.kind}</span> <code>{w.image}</code> {w.reason}
              </li>
            ))}
          </ul>
        )}
      </div>
      {/* No empty log box before the first build (issue 15): the log's bytes wait in the terminal registry. */}
      {showLog && <Terminal id="build" label="Build log" />}
    </section>
  );
}

export function Runs() {
  const { runs, activeRun } = useStore();
  const run = runs.find((r) => r.id === activeRun);
  if (!run) return <p className="empty">Run in chroot or Open shell to try the image; its output appears here.</p>;
  return (
    <section className="runs" aria-label="Runs">
      <div className="tabs">
        {runs.map((r) => (
          <button key={r.id} className={r.id === activeRun ? 'on' : ''} onClick={() => useStore.setState({ activeRun: r.id })}>
            {r.title} {r.code !== undefined ? `(exit ${r.code})` : '…'}
          </button>
        ))}
      </div>
      <p className="result" aria-live="polite">
        {run.code === undefined ? 'running…' : `exit code ${run.code} in ${run.ms} ms`}
      </p>
      <Terminal key={run.id} id={run.id} label={run.title} interactive={run.kind === 'shell'} />
    </section>
  );
}
