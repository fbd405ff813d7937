// Running the image in a VM, in docker or everywhere at once, and the table of
// what each runner answered (exit code, time, whether stdout matched), each
// runner's output one click away.
import { useStore } from '../store';
import { ALL_RUNNERS, useRunResults } from '../runResults';

const LABEL: Record<string, string> = { chroot: 'chroot', vm: 'VM', docker: 'docker', podman: 'podman' };

/** The header's "Run in" buttons after chroot: VM, docker, everywhere. Visible text is
 *  the short word after the group's "Run in" label; the accessible name is whole. */
export function RunnerButtons() {
  const { building, problems } = useStore();
  const { running, compare } = useRunResults();
  const off = building || !!problems.length || !!running;
  return (
    <>
      <button aria-label="Run in VM" onClick={() => void compare(['vm'])} disabled={off}>
        VM
      </button>
      <button aria-label="Run in docker" onClick={() => void compare(['docker'])} disabled={off}>
        docker
      </button>
      <button aria-label="Run everywhere" title="Every runner, one table of results" onClick={() => void compare(ALL_RUNNERS)} disabled={off}>
        everywhere
      </button>
    </>
  );
}

/** The header's "Open" button after shell: the VM's serial console in a terminal. */
export function VmConsoleButton() {
  const { building, problems } = useStore();
  const { openVmConsole } = useRunResults();
  return (
    <button aria-label="Open VM console" onClick={() => void openVmConsole()} disabled={building || !!problems.length}>
      VM console
    </button>
  );
}

function seconds(ms?: number): string {
  return ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`;
}

export function RunResults() {
  const { running, rows, agree, shown, show } = useRunResults();
  if (!running && !rows.length) return null;
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
    </section>
  );
}
