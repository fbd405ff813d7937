// The app's other runners: every runner on one image for the "Run results"
// table, and the commands a terminal runs, all through the Runner seam on the
// session's last build (runs never build).
import type { EngineEvent, Response, RunFlagsRequest, RunnerId } from '../../shared/contract';
import { terminalFor, type RunFlags } from '../engine/entry/run';
import { allAgree, compareRows, runAll } from '../engine/entry/compare';
import { runnerFor } from '../engine/run/registry';
import { DEFAULT_PROBE_TIMEOUT_MS, type ProbeSpec } from '../engine/run/probe';
import type { BuiltImage, Runner, TerminalCommand } from '../engine/run/runner';

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

/** Where a comparison's live progress goes: run.runner events under the window's name for it. */
export interface CompareProgress {
  run: string;
  emit: (e: EngineEvent) => void;
}

/**
 * Every runner on the image at once. With `progress`, each runner says when its
 * program starts (its image readied: prepare called after the runner's own
 * check) and when it ends, so the window's rows move while the slow ones run.
 */
export async function compareRunners(image: BuiltImage, runners: RunnerId[], args: string[], signal?: AbortSignal, flags?: RunFlagsRequest, progress?: CompareProgress): Promise<Response<'runs.compare'>> {
  const t0 = performance.now();
  const request = { args, flags: runFlagsOf(flags) };
  const outcomes = await Promise.all(
    runners.map(async (name) => {
      const runner = progress ? announcing(runnerFor(name), progress) : runnerFor(name);
      const [{ matches: _, ...row }] = await runAll(image, [runner], request, { signal }, probeOf(flags));
      progress?.emit({ event: 'run.runner', run: progress.run, runner: name, state: 'ended', elapsedMs: Math.round(performance.now() - t0), row: cutRow(row) });
      return row;
    }),
  );
  const rows = compareRows(outcomes);
  return { agree: allAgree(rows), rows: rows.map(cutRow) };
}

/** Output beyond MAX_OUTPUT cut (the CLI has it whole). */
function cutRow<R extends { stdout?: string; stderr?: string }>(r: R): R {
  const cut = (s?: string) => (s !== undefined && s.length > MAX_OUTPUT ? s.slice(0, MAX_OUTPUT) + '\n[output cut]\n' : s);
  return { ...r, stdout: cut(r.stdout), stderr: cut(r.stderr) };
}

/** `runner`, saying "running" when asked to prepare: runAll prepares only a runner that passed its check. */
function announcing(runner: Runner, progress: CompareProgress): Runner {
  return {
    name: runner.name,
    needsArchive: runner.needsArchive,
    abilities: () => runner.abilities(),
    problem: () => runner.problem(),
    prepare: (image, request) => {
      progress.emit({ event: 'run.runner', run: progress.run, runner: runner.name, state: 'running' });
      return runner.prepare(image, request);
    },
  };
}

/** What a terminal runs for `runner` (the program, or for the VM a shell); release() when it has ended. */
export function terminalCommand(image: BuiltImage, runner: RunnerId, args: string[], shell: boolean, flags: RunFlags = {}): Promise<{ command: TerminalCommand; release: () => Promise<void> }> {
  return terminalFor(image, runner, { args, flags }, { shell });
}
