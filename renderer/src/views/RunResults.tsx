// Running the image in a VM, in docker or everywhere at once, and the table of
// what each runner answered: a row per runner from the click on (pending,
// running with its seconds, then exit code, skipped or failed, and the time),
// whether exit code and stdout matched, each runner's output one click away.
import { engineBlocked, useStore } from '../store';
import { useEffect, useState } from 'react';
import { ALL_RUNNERS, useRunResults, type RunRow } from '../runResults';
import { agreementLine, anyRunning, rowView, RUNNER_LABEL, type LiveRow } from '../runRows';
import { shellJoin } from '../runFlags';
import { useRunOptions } from '../runOptions';

/** Runs are off while building, with recipe problems, while runners run, or without an engine (`blocked` says why). */
function useRunsOff(): { off: boolean; blocked?: string } {
  const { building, problems } = useStore();
  const blocked = useStore(engineBlocked);
  const { running } = useRunResults();
  return { off: building || !!problems.length || !!running || !!blocked, blocked };
}

/** The header's "Run in" buttons after chroot: VM, docker. Visible text is
 *  the short word after the group's "Run in" label; the accessible name is whole. */
export function RunnerButtons() {
  // With the run dialog's flags, as remembered for this project.
  const run = useRunOptions((o) => o.run);
  const { off, blocked } = useRunsOff();
  return (
    <>
      <button aria-label="Run in VM" onClick={() => void run('vm')} disabled={off} title={blocked}>
        VM
      </button>
      <button aria-label="Run in docker" onClick={() => void run('docker')} disabled={off} title={blocked}>
        docker
      </button>
    </>
  );
}

/** Every runner at once, one table of results (in the header's ⋯ menu). */
export function RunEverywhereButton() {
  const run = useRunOptions((o) => o.run);
  const { off, blocked } = useRunsOff();
  return (
    <button aria-label="Run everywhere" title={blocked ?? 'Every runner, one table of results'} onClick={() => void run('everywhere')} disabled={off}>
      Run everywhere
    </button>
  );
}

/** The header's "Open" button after shell: the VM's serial console in a terminal. */
export function VmConsoleButton() {
  const { building, problems } = useStore();
  const { openVmConsole } = useRunResults();
  const blocked = useStore(engineBlocked);
  return (
    <button aria-label="Open VM console" onClick={() => void openVmConsole()} disabled={building || !!problems.length || !!blocked} title={blocked}>
      Open VM console
    </button>
  );
}

/** Re-renders every second while `ticking`: the running rows' elapsed seconds. */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [ticking]);
  return now;
}

/** What a row's Note says beside its state: the probe, a timeout, the VM's acceleration. */
function noteOf(r: LiveRow): string {
  const o = r.outcome;
  if (!o || o.skipped || o.error !== undefined) return '';
  const probe = o.probe && `probe ${o.probe.code === 0 ? 'answered' : 'failed'} after ${o.probe.attempts} ${o.probe.attempts === 1 ? 'try' : 'tries'}, service exit ${o.probe.serviceCode}${o.probe.error ? `: ${o.probe.error}` : ''}`;
  return [probe ?? '', o.timedOut ? 'stopped at the timeout' : '', o.accel ? `accel ${o.accel}` : ''].filter(Boolean).join(', ');
}

export function RunResults() {
  const { rows, agree, shown, show, checks, running } = useRunResults();
  const live = anyRunning(rows);
  const now = useNow(rows.some((r) => r.phase === 'running'));
  if (!rows.length && !checks.length) {
    // The table was closed while its runners still run: say so until they end.
    return running ? <p className="muted">Still running in {running.map((r) => RUNNER_LABEL[r]).join(', ')}; the closed table's results are dropped.</p> : null;
  }
  const open = rows.find((r) => r.runner === shown)?.outcome;
  return (
    <section className="run-results" aria-label="Runners">
      {rows.length > 0 && (
        <div className="run-results-body">
          <div>
            <h2>Run results</h2>
            <table role="table" aria-label="Run results" className="doctor run-rows" aria-busy={live}>
              <thead>
                <tr>
                  <th>Runner</th>
                  <th>State</th>
                  <th>Time</th>
                  <th>Compared</th>
                  <th>Note</th>
                  <th>Output</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const v = rowView(r, now);
                  const label = RUNNER_LABEL[r.runner];
                  return (
                    <tr key={r.runner} data-runner={r.runner} data-state={v.state.split(' ')[0]}>
                      <th scope="row">{label}</th>
                      <td className={`state ${v.cls}`}>
                        {v.cls === 'running' && <span className="spinner" aria-hidden="true" />}
                        {v.state}
                      </td>
                      <td className="mono" title={r.outcome?.ms !== undefined ? `the program itself: ${(r.outcome.ms / 1000).toFixed(2)} s; the rest readied the image for ${label}` : undefined}>
                        {v.elapsed}
                      </td>
                      <td className={v.verdict === 'matches' ? 'ok' : v.verdict === 'differs' ? 'error' : 'muted'}>{v.verdict ?? (r.phase === 'ended' ? '–' : '')}</td>
                      <td className="note">
                        {v.reason ? <Reason label={label} line={v.reason.line} details={v.reason.details} /> : <span className="muted">{noteOf(r)}</span>}
                      </td>
                      <td>
                        {r.outcome?.stdout !== undefined && (
                          <button className="small" aria-pressed={shown === r.runner} onClick={() => show(shown === r.runner ? undefined : r.runner)} aria-label={`Output of ${label}`}>
                            Output
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <p className={live || rows.length < 2 || agree === undefined ? 'muted' : agree ? 'ok' : 'error'} aria-live="polite">
              {live ? 'Running: exit code and stdout are compared once every runner has ended (a VM without KVM takes minutes).' : rows.length > 1 && agree !== undefined ? agreementLine(rows, agree) : ''}
            </p>
          </div>
          {open && (
            <div className="run-output">
              <h3>{RUNNER_LABEL[open.runner]} stdout</h3>
              <pre aria-label={`stdout of ${RUNNER_LABEL[open.runner]}`}>{open.stdout}</pre>
              {open.stderr ? (
                <>
                  <h3>{RUNNER_LABEL[open.runner]} stderr</h3>
                  <pre aria-label={`stderr of ${RUNNER_LABEL[open.runner]}`}>{open.stderr}</pre>
                </>
              ) : null}
            </div>
          )}
        </div>
      )}
      {checks.length > 0 && <TraceChecks />}
    </section>
  );
}

/** Why a runner was skipped or failed: one line; the whole text behind a disclosure. */
function Reason({ label, line, details }: { label: string; line: string; details?: string }) {
  if (!details) return <span className="reason">{line}</span>;
  return (
    <details className="reason">
      <summary aria-label={`${line}: details for ${label}`}>
        {line} <span className="muted">(details)</span>
      </summary>
      <pre aria-label={`Why ${label} did not run`}>{details}</pre>
    </details>
  );
}

function cellText(r: RunRow | undefined): { text: string; cls: string } {
  if (!r) return { text: '–', cls: 'muted' };
  if (r.skipped) return { text: 'skipped', cls: 'muted' };
  if (r.error !== undefined) return { text: 'failed', cls: 'error' };
  const code = r.code ?? '–';
  return { text: `exit ${code}${r.timedOut ? ', timed out' : ''}`, cls: r.code === 0 ? 'ok' : 'error' };
}

/** The traced commands (a host source's Trace, "Check in every runner"): a row each, a cell per runner. */
function TraceChecks() {
  const { checks, checkShown, showCheck } = useRunResults();
  const open = checkShown && checks[checkShown[0]]?.rows.find((r) => r.runner === checkShown[1]);
  return (
    <div className="run-results-body">
      <div>
        <h2>Traced commands in the built image</h2>
        <table aria-label="Traced commands in every runner" className="doctor check-table">
          <thead>
            <tr>
              <th>Command</th>
              {ALL_RUNNERS.map((r) => (
                <th key={r}>{RUNNER_LABEL[r]}</th>
              ))}
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {checks.map((c, i) => (
              <tr key={i}>
                <td className="mono" title={shellJoin(c.argv)}>
                  {ellipsis(shellJoin(c.argv), 60)}
                </td>
                {ALL_RUNNERS.map((runner) => {
                  const r = c.rows.find((x) => x.runner === runner);
                  const { text, cls } = cellText(r);
                  return (
                    <td key={runner} className={cls}>
                      {r && (r.stdout !== undefined || r.stderr || r.error) ? (
                        <button aria-pressed={checkShown?.[0] === i && checkShown[1] === runner} aria-label={`Output of command ${i + 1} in ${RUNNER_LABEL[runner]}`} title={r.error ?? r.accel} onClick={() => showCheck(checkShown?.[0] === i && checkShown[1] === runner ? undefined : [i, runner])}>
                          {text}
                        </button>
                      ) : (
                        <span title={r?.error}>{!r && c.running ? (c.started?.includes(runner) ? 'running…' : 'pending') : text}</span>
                      )}
                    </td>
                  );
                })}
                <td className={c.running ? 'muted' : c.error || !c.agree ? 'error' : 'ok'}>{c.running ? 'running…' : c.error ? c.error : c.agree && c.rows.every((r) => r.skipped || r.code === 0) ? 'succeeds everywhere' : c.agree ? 'all agree' : 'the runners disagree'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open && (
        <div className="run-output">
          <h3>
            Command {checkShown![0] + 1} in {RUNNER_LABEL[open.runner]}
          </h3>
          {open.error && <p className="error">{open.error}</p>}
          <pre aria-label={`stdout of command ${checkShown![0] + 1} in ${RUNNER_LABEL[open.runner]}`}>{open.stdout}</pre>
          {open.stderr ? <pre aria-label={`stderr of command ${checkShown![0] + 1} in ${RUNNER_LABEL[open.runner]}`}>{open.stderr}</pre> : null}
        </div>
      )}
    </div>
  );
}

function ellipsis(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
