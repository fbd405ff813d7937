// The project's build history: one line per build, Rebuild, and Compare with
// previous (per layer: its size then and now, and whether its digest changed).
import { useState } from 'react';
import type { BuildRecord } from '../../../shared/contract';
import { summaryLine } from '../buildSummary';
import { bytes } from '../format';
import { engineBlocked, useStore } from '../store';

export function History() {
  const { history, project, building, runBuild } = useStore();
  const blocked = useStore(engineBlocked);
  const [comparing, setComparing] = useState(false);
  const [latest, previous] = history.filter((r) => r.ok);
  const now = Date.now();
  return (
    <details className="history">
      <summary>History ({history.length})</summary>
      {/* Opens upward over the view (the bar may sit at the window's foot): the bar keeps its tabs and summary. */}
      <div className="history-panel">
        <div className="toolbar">
          <button onClick={() => void runBuild()} disabled={building || !!blocked} title={blocked ?? 'Build the project again (cached nodes are reused)'}>
            Rebuild
          </button>
          <button onClick={() => setComparing((c) => !c)} disabled={!previous} aria-pressed={comparing} title={previous ? 'The last two successful builds, layer by layer' : 'Needs two successful builds'}>
            Compare with previous
          </button>
        </div>
        {comparing && latest && previous && <LayerChanges before={previous} after={latest} />}
        <ol aria-label="Build history" className="history-list">
          {history.map((r) => (
            <li key={r.at} className={r.ok ? 'ok' : 'failed'} title={r.manifestDigest}>
              {summaryLine(r, now, project?.dir)}
            </li>
          ))}
        </ol>
      </div>
    </details>
  );
}

function LayerChanges({ before, after }: { before: BuildRecord; after: BuildRecord }) {
  const names = [...new Set([...before.layers.map((l) => l.name), ...after.layers.map((l) => l.name)])];
  return (
    <table aria-label="Compared with the previous build" className="history-compare">
      <thead>
        <tr>
          <th>Layer</th>
          <th>Before</th>
          <th>After</th>
          <th>Digest</th>
        </tr>
      </thead>
      <tbody>
        {names.map((n) => {
          const a = before.layers.find((l) => l.name === n);
          const b = after.layers.find((l) => l.name === n);
          return (
            <tr key={n}>
              <td>{n}</td>
              <td>{a ? bytes(a.size) : '—'}</td>
              <td>{b ? bytes(b.size) : '—'}</td>
              <td>{!a ? 'added' : !b ? 'removed' : a.digest === b.digest ? 'same' : 'changed'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
