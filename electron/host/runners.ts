// The app's other runners: every runner on one image for the "Run results"
// table, and the commands a terminal runs, all through the Runner seam on the
// session's last build (runs never build).
import type { Response, RunFlagsRequest, RunnerId } from '../../shared/contract';
import { terminalFor, type RunFlags } from '../engine/entry/run';
import { allAgree, runAll } from '../engine/entry/compare';
import { runnerFor } from '../engine/run/registry';
import { DEFAULT_PROBE_TIMEOUT_MS, type ProbeSpec } from '../engine/run/probe';
import type { BuiltImage, TerminalCommand } from '../engine/run/runner';

/** Output beyond this is cut in the table's reply (the CLI has it whole). */
const MAX_OUTPUT = 256 * 1024;

/** The contract's run flags (validated by its schema) as the engine takes them. */
export function runFlagsOf(f: RunFlagsRequest | undefined): RunFlags {
  if (!f) return {};
  const { timeoutS, probe: _, ...rest } = f;
  return { ...rest, ...(timeoutS !== undefined ? { timeoutMs: timeoutS * 1000 } : {}) };
}

/** The contract's probe (validated by its schema), if the run asks for one. */
export function probeOf(f: RunFlagsRequest | undefined): ProbeSpec | undefined {
  if (!f?.probe) return undefined;
  return { command: f.probe.command, timeoutMs: f.probe.timeoutS !== undefined ? f.probe.timeoutS * 1000 : DEFAULT_PROBE_TIMEOUT_MS };
}

export async function compareRunners(image: BuiltImage, runners: RunnerId[], args: string[], signal?: AbortSignal, flags?: RunFlagsRequest): Promise<Response<'runs.compare'>> {
  const rows = await runAll(image, runners.map((r) => runnerFor(r)), { args, flags: runFlagsOf(flags) }, { signal }, probeOf(flags));
  const cut = (s?: string) => (s !== undefined && s.length > MAX_OUTPUT ? s.slice(0, MAX_OUTPUT) + '\n[output cut]\n' : s);
  return { agree: allAgree(rows), rows: rows.map((r) => ({ ...r, stdout: cut(r.stdout), stderr: cut(r.stderr) })) };
}

/** What a terminal runs for `runner` (the program, or for the VM a shell); release() when it has ended. */
export function terminalCommand(image: BuiltImage, runner: RunnerId, args: string[], shell: boolean, flags: RunFlags = {}): Promise<{ command: TerminalCommand; release: () => Promise<void> }> {
  return terminalFor(image, runner, { args, flags }, { shell });
}
