// The run dialog: docker's run flags (a command replacing cmd, --entrypoint,
// -e, --user, --workdir, --network, --timeout, -p) and a service's probe for a
// chroot terminal or the runners' table. Checked as typed against the contract, each problem at its
// field; remembered per project for the session. Enter runs, Esc closes.
import { useEffect, useRef, type KeyboardEvent, type ReactNode, type RefObject } from 'react';
import { keepTabInside } from '../focusTrap';
import { flagSummary, type RunField } from '../runFlags';
import { currentRequest, remembered, useRunOptions, type RunTarget } from '../runOptions';
import { useRunResults } from '../runResults';
import { engineBlocked, useStore } from '../store';

const TARGETS: [RunTarget, string][] = [
  ['chroot', 'chroot (in a terminal)'],
  ['vm', 'VM'],
  ['docker', 'docker'],
  ['podman', 'podman'],
  ['everywhere', 'everywhere (table of results)'],
];

/** The "options…" button of the header's Run group; a dot when flags are set, their summary as its description. */
export function RunOptionsButton() {
  const { building, problems } = useStore();
  const blocked = useStore(engineBlocked);
  const running = useRunResults((r) => r.running);
  const { setOpen } = useRunOptions();
  useRunOptions((o) => o.byProject); // re-render when the options change
  const { args, flags, errors } = currentRequest();
  const summary = flagSummary(args, flags);
  const set = summary !== '' || Object.keys(errors).length > 0;
  return (
    <button
      aria-label="Run with options…"
      aria-description={summary ? `in use: ${summary}` : undefined}
      title={blocked ?? (summary ? `Runs use: ${summary}` : 'Command, entrypoint, env, user, workdir, network, timeout, ports, probe')}
      onClick={() => setOpen(true)}
      disabled={building || !!problems.length || !!running || !!blocked}
      className={set ? 'has-options' : ''}
    >
      options…{set ? ' ●' : ''}
    </button>
  );
}

interface TextField {
  key: Exclude<RunField, 'network' | 'env'>;
  label: string;
  placeholder: string;
  hint?: string;
  /** A number of seconds: a short box. */
  seconds?: boolean;
}

const FIELDS: TextField[] = [
  { key: 'args', label: 'Command', placeholder: "the image's cmd", hint: 'Replaces the cmd, split as a shell would: quotes group words' },
  { key: 'entrypoint', label: 'Entrypoint', placeholder: "the image's entrypoint", hint: 'One program; with it set, the command is its arguments' },
  { key: 'user', label: 'User', placeholder: "the image's user", hint: 'uid[:gid] or a name in the image' },
  { key: 'workdir', label: 'Working folder', placeholder: "the image's workdir" },
  { key: 'timeout', label: 'Timeout (seconds)', placeholder: 'none', hint: 'The program is stopped then, and the result says so', seconds: true },
];

/** A service test-run: ports to publish, and a probe beside it (issue 13). */
const SERVICE_FIELDS: TextField[] = [
  { key: 'ports', label: 'Ports', placeholder: 'none, e.g. 8080:80 8443:443', hint: 'HOST:CONTAINER, blanks between; on 127.0.0.1 (docker, podman)' },
  { key: 'probe', label: 'Probe', placeholder: 'none, e.g. wget -qO- http://127.0.0.1:80/', hint: 'Runs on the host in the service\'s network until it succeeds, then the service stops; its exit code and stdout are compared' },
  { key: 'probeTimeout', label: 'Probe for (seconds)', placeholder: '10', hint: 'How long the probe is retried (default 10)', seconds: true },
];

/** Every field's label, to name the fields at fault in the summary line. */
const LABELS: Record<RunField, string> = {
  ...(Object.fromEntries([...FIELDS, ...SERVICE_FIELDS].map((f) => [f.key, f.label])) as Record<TextField['key'], string>),
  env: 'Environment',
  network: 'Network',
};

export function RunDialog() {
  const o = useRunOptions();
  const first = useRef<HTMLInputElement>(null);
  // Focus the first field on open, and give it back to where it was on close.
  useEffect(() => {
    if (!o.open) return;
    const before = document.activeElement as HTMLElement | null;
    first.current?.focus();
    return () => before?.focus?.();
  }, [o.open]);
  if (!o.open) return null;
  const { form, target } = remembered(o);
  const { args, flags, errors } = currentRequest();
  const problem = (k: RunField) => errors[k] ?? o.refused[k];
  const bad = Object.keys(errors).length > 0;
  const go = () => o.run();
  const onKey = (e: KeyboardEvent<HTMLElement>) => {
    keepTabInside(e);
    if (e.key === 'Escape') {
      e.stopPropagation();
      o.setOpen(false);
    }
    // In the env lines Enter is a new line; Ctrl+Enter runs from anywhere.
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void go();
    }
  };
  const err = (k: RunField) =>
    problem(k) ? (
      <span id={`run-${k}-err`} role="alert" className="error">
        {problem(k)}
      </span>
    ) : null;
  const described = (k: RunField, hint = false) => [problem(k) ? `run-${k}-err` : '', hint ? `run-${k}-hint` : ''].filter(Boolean).join(' ') || undefined;
  const textRow = (f: TextField, ref?: RefObject<HTMLInputElement | null>) => (
    <FieldRow key={f.key} id={`run-${f.key}`} label={f.label}>
      <input
        id={`run-${f.key}`}
        ref={ref}
        className={f.seconds ? 'short' : ''}
        inputMode={f.seconds ? 'decimal' : undefined}
        spellCheck={false}
        value={form[f.key]}
        placeholder={f.placeholder}
        aria-invalid={!!problem(f.key)}
        aria-describedby={described(f.key, !!f.hint)}
        onChange={(e) => o.update({ [f.key]: e.target.value })}
      />
      {f.hint && (
        <span id={`run-${f.key}-hint`} className="muted hint">
          {f.hint}
        </span>
      )}
      {err(f.key)}
    </FieldRow>
  );
  const faulty = (Object.keys(LABELS) as RunField[]).filter((k) => problem(k)).map((k) => LABELS[k]);
  const summary = flagSummary(args, flags);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && o.setOpen(false)}>
      <form
        role="dialog"
        aria-modal="true"
        aria-labelledby="run-dialog-title"
        className="run-dialog"
        onKeyDown={onKey}
        onSubmit={(e) => {
          e.preventDefault();
          void go();
        }}
      >
        <h2 id="run-dialog-title">Run the image</h2>
        <div className="run-grid">
          <label htmlFor="run-target">Run in</label>
          <div>
            <select id="run-target" value={target} onChange={(e) => o.setTarget(e.target.value as RunTarget)}>
              {TARGETS.map(([t, label]) => (
                <option key={t} value={t}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          {FIELDS.map((f, i) => textRow(f, i === 0 ? first : undefined))}
          <FieldRow id="run-env" label="Environment">
            <textarea
              id="run-env"
              rows={3}
              spellCheck={false}
              value={form.env}
              placeholder="NAME=value, one a line"
              aria-invalid={!!problem('env')}
              aria-describedby={described('env', true)}
              onChange={(e) => o.update({ env: e.target.value })}
            />
            <span id="run-env-hint" className="muted hint">
              NAME=value, one a line, added to the image's env (Ctrl+Enter runs)
            </span>
            {err('env')}
          </FieldRow>
          <FieldRow id="run-network" label="Network">
            <select id="run-network" value={form.network} aria-invalid={!!problem('network')} aria-describedby={described('network')} onChange={(e) => o.update({ network: e.target.value as '' | 'none' | 'host' })}>
              <option value="">none (default)</option>
              <option value="host">host (the machine's network)</option>
            </select>
            {err('network')}
          </FieldRow>
          <h3 className="run-section">Service test-run</h3>
          {SERVICE_FIELDS.map((f) => textRow(f))}
        </div>
        <p className="muted summary" aria-label="As docker run flags">
          {faulty.length ? <span className="error">Fix {faulty.join(', ')} to run.</span> : summary ? <code>{summary}</code> : "The image's own config, as it is."}
        </p>
        <div className="buttons">
          <button type="submit" className="primary" disabled={bad}>
            Run
          </button>
          <button type="button" onClick={o.reset}>
            Reset
          </button>
          <button type="button" onClick={() => o.setOpen(false)}>
            Close
          </button>
        </div>
      </form>
    </div>
  );
}

function FieldRow({ id, label, children }: { id: string; label: string; children: ReactNode }) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <div className="run-field">{children}</div>
    </>
  );
}
