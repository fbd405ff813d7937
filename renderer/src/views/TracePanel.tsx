// A host source's trace in the Source tab: its commands (one a line, split as
// a shell would), the Trace action, what each command kept (with the bytes each
// file adds), dropped and why, and the check of the result in every runner.
// Also the warnings the last build gave for the source.
import { useEffect, useState } from 'react';
import type { Problem } from '../../../shared/contract';
import { bytes } from '../format';
import { sourceKey, useTrace, warningsOf, type TraceResult } from '../hostSources';
import { shellJoin, shellSplit } from '../runFlags';
import { useRunResults } from '../runResults';
import { useStore } from '../store';

/** The `trace:` commands as lines; the YAML changes only when every line splits. */
export function TraceCommandsField({ value, problem, onChange, sourceId }: { value: unknown; problem?: Problem; onChange: (v: string[][] | undefined) => void; sourceId: string }) {
  const fromValue = () => (Array.isArray(value) ? value.map((argv) => (Array.isArray(argv) ? shellJoin(argv.map(String)) : String(argv))).join('\n') : '');
  const [draft, setDraft] = useState(fromValue);
  const [splitError, setSplitError] = useState<string>();
  // Another source selected, or the YAML edited elsewhere: show what the recipe says.
  const valueKey = JSON.stringify(value ?? null);
  useEffect(() => {
    const now = fromValue();
    setDraft((d) => (sameCommands(d, now) ? d : now));
  }, [sourceId, valueKey]);
  const edit = (text: string) => {
    setDraft(text);
    const commands: string[][] = [];
    for (const [i, line] of text.split('\n').entries()) {
      if (!line.trim()) continue;
      try {
        commands.push(shellSplit(line));
      } catch (e) {
        setSplitError(`line ${i + 1}: ${(e as Error).message}`);
        return;
      }
    }
    setSplitError(undefined);
    onChange(commands.length ? commands : undefined);
  };
  const message = splitError ?? problem?.message;
  return (
    <div className="field">
      <label htmlFor="f-trace">Trace commands (one a line, split as a shell would; the program an absolute host path)</label>
      <textarea
        id="f-trace"
        rows={3}
        spellCheck={false}
        value={draft}
        placeholder={'/usr/bin/python3 -c "import json"'}
        aria-invalid={!!message}
        aria-describedby={message ? 'f-trace-err' : undefined}
        onChange={(e) => edit(e.target.value)}
      />
      {message && (
        <span id="f-trace-err" role="alert" className="error">
          {message}
        </span>
      )}
    </div>
  );
}

function sameCommands(a: string, b: string): boolean {
  try {
    const split = (t: string) => JSON.stringify(t.split('\n').filter((l) => l.trim()).map(shellSplit));
    return split(a) === split(b);
  } catch {
    return false;
  }
}

/** The Trace action and its report, for the host source at [layer, source]. */
export function TracePanel({ layer, source, hasCommands }: { layer: number; source: number; hasCommands: boolean }) {
  const entry = useTrace((t) => t.byKey[sourceKey(layer, source)]);
  const trace = useTrace((t) => t.trace);
  const building = useStore((s) => s.building);
  return (
    <section className="trace" aria-label="Trace">
      <div className="toolbar">
        <button type="button" onClick={() => void trace(layer, source)} disabled={!hasCommands || entry?.running || building}>
          Trace
        </button>
        <span className="muted">
          {entry?.running
            ? 'Tracing (strace, in the sandbox, the host read-only)…'
            : hasCommands
              ? 'Runs each command under strace now and keeps what it used in scratchyard.trace/.'
              : 'Add a command to trace first.'}
        </span>
      </div>
      {entry?.error && (
        <p role="alert" className="error">
          {entry.error}
        </p>
      )}
      {entry?.result && <TraceReport result={entry.result} />}
    </section>
  );
}

function TraceReport({ result }: { result: TraceResult }) {
  const check = useRunResults((r) => r.checkTraced);
  const checking = useRunResults((r) => r.checks.some((c) => c.running));
  const files = new Set(result.commands.flatMap((c) => c.kept.map((k) => k.path))).size;
  return (
    <div className="trace-report">
      <p aria-label="Trace total">
        <b>{bytes(result.bytes)}</b> added by {files} traced file{files === 1 ? '' : 's'} <span className="muted">(the libraries they need come on top, at build time)</span>
      </p>
      {result.commands.map((c, i) => (
        <TracedCommand key={i} c={c} />
      ))}
      <div className="toolbar">
        <button type="button" onClick={() => void check(result.commands.map((c) => c.argv))} disabled={checking} title="Build, then run each traced command in the image with chroot, VM, docker and podman">
          Check in every runner
        </button>
        <span className="muted">Each command runs in the built image, its program as the entrypoint; the rows show in Run results below.</span>
      </div>
    </div>
  );
}

function TracedCommand({ c }: { c: TraceResult['commands'][number] }) {
  const [q, setQ] = useState('');
  const kept = q ? c.kept.filter((k) => k.path.includes(q)) : c.kept;
  const command = shellJoin(c.argv);
  return (
    <article aria-label={`Trace of ${command}`}>
      <h4 className="command">{command}</h4>
      <p className="muted">
        {c.kept.length} kept ({bytes(c.bytes)}) · {c.dropped.length} path{c.dropped.length === 1 ? '' : 's'} not taken · listed in <code>{c.list}</code>
      </p>
      <div className="toolbar">
        <input aria-label="Filter the kept files" placeholder="filter…" value={q} onChange={(e) => setQ(e.target.value)} />
      </div>
      <div className="scroll">
        <table aria-label="Kept files">
          <thead>
            <tr>
              <th>Kept file</th>
              <th className="num">Adds</th>
            </tr>
          </thead>
          <tbody>
            {kept.map((k) => (
              <tr key={k.path}>
                <td className="mono">
                  {k.path}
                  {k.type === 'symlink' && <span className="muted"> → {k.target}</span>}
                </td>
                <td className="num">{k.type === 'symlink' ? 'link' : bytes(k.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details>
        <summary>
          {c.dropped.length} path{c.dropped.length === 1 ? '' : 's'} not taken, and why
        </summary>
        <div className="scroll">
          <table aria-label="Dropped paths">
            <thead>
              <tr>
                <th>Path</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {c.dropped.map((d) => (
                <tr key={d.path}>
                  <td className="mono">{d.path}</td>
                  <td className="muted">{d.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </article>
  );
}

/** The last build's warnings for this source (dangling links, private-looking files…). */
export function SourceWarnings({ layer, source }: { layer: number; source: number }) {
  const warnings = warningsOf(
    useStore((s) => s.warnings),
    layer,
    source,
  );
  if (!warnings.length) return null;
  return (
    <section aria-label="Warnings of this source">
      <h4>
        {warnings.length} warning{warnings.length === 1 ? '' : 's'} from the last build
      </h4>
      <ul className="source-warnings">
        {warnings.map((w, i) => (
          <li key={i}>
            <span className="kind">{w.kind}</span> <code>{w.image}</code> {w.reason} <span className="muted">(from {w.host})</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
