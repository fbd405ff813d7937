// Running the image in a VM, in docker or everywhere at once, and the table of
// what each runner answered (exit code, time, whether stdout matched), each
// runner's output one click away.
import { engineBlocked, useStore } from '../store';
import { ALL_RUNNERS, useRunResults, type RunRow } from '../runResults';
import { shellJoin } from '../runFlags';
import { useRunOptions } from '../runOptions';

const LABEL: Record<string, string> = { chroot: 'chroot', vm: 'VM', docker: 'docker', podman: 'podman' };

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

function seconds(ms?: number): string {
  return ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`;
}

export function RunResults() {
  const { running, rows, agree, shown, show, checks } = useRunResults();
  if (!running && !rows.length && !checks.length) return null;
  const open = rows.find((r) => r.runner === shown);
  return (
    <section className="run-results" aria-label="Runners">
      {running && (
        <p className="muted" aria-live="polite">
          Running in {running.map((r) => LABEL[r]).join(', ')}… (a VM boot takes a few seconds)
        </p>
      )}
      {rows.length > 0 && (
        <div className="run-results-body">
          <div>
            <h2>Run results</h2>
            <table role="table" aria-label="Run results" className="doctor">
              <thead>
                <tr>
                  <th>Runner</th>
                  <th>Exit code</th>
                  <th>Time</th>
                  <th>stdout</th>
                  <th>Note</th>
                  <th>Output</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.runner}>
                    <td>{LABEL[r.runner]}</td>
                    <td className="mono">{r.code ?? '–'}</td>
                    <td className="mono">{seconds(r.ms)}</td>
                    <td className={r.skipped ? 'muted' : r.matches ? 'ok' : 'error'}>{r.skipped ? 'skipped' : r.error !== undefined ? 'failed' : r.matches ? 'matches' : 'differs'}</td>
                    <td className="muted">{r.error ?? [r.timedOut ? 'timed out' : '', r.accel ? `accel ${r.accel}` : ''].filter(Boolean).join(', ')}</td>
                    <td>
                      {r.stdout !== undefined && (
                        <button aria-pressed={shown === r.runner} onClick={() => show(shown === r.runner ? undefined : r.runner)} aria-label={`Output of ${LABEL[r.runner]}`}>
                          Output
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.length > 1 && agree !== undefined && (
              <p className={agree ? 'ok' : 'error'} aria-live="polite">
                {agree ? 'All runners agree.' : 'The runners disagree.'} <span className="muted">(exit code and stdout compared)</span>
              </p>
            )}
          </div>
          {open && (
            <div className="run-output">
              <h3>{LABEL[open.runner]} stdout</h3>
              <pre aria-label={`stdout of ${LABEL[open.runner]}`}>{open.stdout}</pre>
              {open.stderr ? (
                <>
                  <h3>{LABEL[open.runner]} stderr</h3>
                  <pre aria-label={`stderr of ${LABEL[open.runner]}`}>{open.stderr}</pre>
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
                <th key={r}>{LABEL[r]}</th>
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
                        <button aria-pressed={checkShown?.[0] === i && checkShown[1] === runner} aria-label={`Output of command ${i + 1} in ${LABEL[runner]}`} title={r.error ?? r.accel} onClick={() => showCheck(checkShown?.[0] === i && checkShown[1] === runner ? undefined : [i, runner])}>
                          {text}
                        </button>
                      ) : (
                        <span title={r?.error}>{c.running ? '…' : text}</span>
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
            Command {checkShown![0] + 1} in {LABEL[open.runner]}
          </h3>
          {open.error && <p className="error">{open.error}</p>}
          <pre aria-label={`stdout of command ${checkShown![0] + 1} in ${LABEL[open.runner]}`}>{open.stdout}</pre>
          {open.stderr ? <pre aria-label={`stderr of command ${checkShown![0] + 1} in ${LABEL[open.runner]}`}>{open.stderr}</pre> : null}
        </div>
      )}
    </div>
  );
}

function ellipsis(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
