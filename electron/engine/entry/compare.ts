// One image, every runner: which runners can run here, the runs themselves,
// and whether their answers (stdout and exit code, or the probe's) agree.
import type { BuildOptions } from './build';
import { DockerUnavailableError } from '../run/docker';
import { RUNNERS, RunnerUnsupportedError, type BuiltImage, type Runner, type RunnerName, type RunIo, type RunRequest } from '../run/runner';
import { runnerFor, type RunnerSettings } from '../run/registry';
import type { ProbeSpec } from '../run/probe';
import { NoKernelError, VmFailedError, VmTimeoutError } from '../run/vm';
import { buildFor, runOn, type RunFlags } from './run';

export interface RunnerRow {
  runner: RunnerName;
  /** Why the runner could not run (unavailable, not supported, or failed before the program's end). */
  error?: string;
  skipped?: boolean;
  code?: number;
  ms?: number;
  stdout?: string;
  stderr?: string;
  accel?: string;
  timedOut?: boolean;
  /** With --probe: code and stdout above are the probe's. */
  probe?: { code: number; attempts: number; timedOut: boolean; error?: string; serviceCode: number };
  /** stdout and exit code equal to what most runners gave. */
  matches: boolean;
}

/** Why a runner cannot run on this machine, or undefined when it can. */
export function runnerProblem(runner: RunnerName): Promise<string | undefined> {
  return runnerFor(runner).problem();
}

/** Errors a runner reports as a result row rather than as a failure of the whole comparison. */
export function isRunnerError(e: unknown): e is Error {
  return e instanceof VmTimeoutError || e instanceof VmFailedError || e instanceof NoKernelError || e instanceof DockerUnavailableError;
}

/** Mark each row: does its (stdout, exit code) equal the most common answer? */
export function compareRows(rows: Omit<RunnerRow, 'matches'>[]): RunnerRow[] {
  const ran = rows.filter((r) => !r.skipped && r.error === undefined);
  const key = (r: Omit<RunnerRow, 'matches'>) => JSON.stringify([r.code, r.stdout]);
  const counts = new Map<string, number>();
  for (const r of ran) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  return rows.map((r) => ({ ...r, matches: !r.skipped && r.error === undefined && key(r) === best }));
}

/** Whether every runner that could run gave the same answer (and at least one ran). */
export function allAgree(rows: RunnerRow[]): boolean {
  const considered = rows.filter((r) => !r.skipped);
  return considered.length > 0 && considered.every((r) => r.matches);
}

export interface CompareOptions extends Omit<BuildOptions, 'formats'>, RunnerSettings {
  runners?: RunnerName[];
  args: string[];
  flags?: RunFlags;
  probe?: ProbeSpec;
}

/**
 * Run the image with each of `runners` (default: all) that this machine has.
 * The image is built once; the runs then go in parallel (the VM is the long
 * one), each timed on its own, each given the same built image.
 */
export async function runEverywhere(opts: CompareOptions): Promise<RunnerRow[]> {
  const runners = (opts.runners ?? [...RUNNERS]).map((name) => runnerFor(name, opts));
  const image = await buildFor(opts, runners);
  try {
    return await runAll(image, runners, { args: opts.args, flags: opts.flags ?? {} }, { signal: opts.signal }, opts.probe);
  } finally {
    await image.store.close();
  }
}

/** Every runner of `runners` on one built image (the app's last build, or runEverywhere's). */
export async function runAll(image: BuiltImage, runners: Runner[], request: RunRequest, io: RunIo, probe?: ProbeSpec): Promise<RunnerRow[]> {
  const rows = await Promise.all(
    runners.map(async (runner): Promise<Omit<RunnerRow, 'matches'>> => {
      const problem = await runner.problem();
      if (problem) return { runner: runner.name, skipped: true, error: problem };
      try {
        const r = await runOn(image, runner, request, io, probe);
        const p = r.probe && { code: r.probe.code, attempts: r.probe.attempts, timedOut: r.probe.timedOut, serviceCode: r.service?.code ?? r.code, ...(r.probe.error ? { error: r.probe.error } : {}) };
        return { runner: runner.name, code: r.code, ms: Math.round(r.ms), stdout: r.stdout, stderr: r.stderr, ...(r.accel ? { accel: r.accel } : {}), ...(r.timedOut ? { timedOut: true } : {}), ...(p ? { probe: p } : {}) };
      } catch (e) {
        // Not supported here (-p in the chroot), or an engine that answers but cannot start containers: not part of the comparison.
        if (e instanceof RunnerUnsupportedError || (e instanceof DockerUnavailableError && e.cannotRun)) return { runner: runner.name, skipped: true, error: e.message };
        if (isRunnerError(e)) return { runner: runner.name, error: e.message };
        throw e;
      }
    }),
  );
  return compareRows(rows);
}

/** The table `run --runner all` prints. */
export function formatRunTable(rows: RunnerRow[]): string {
  const probed = rows.some((r) => r.probe);
  const head = ['runner', 'exit', 'time', ...(probed ? ['probe'] : []), 'exit+stdout', 'note'];
  const body = rows.map((r) => [
    r.runner,
    r.code === undefined ? '-' : String(r.code),
    r.ms === undefined ? '-' : `${(r.ms / 1000).toFixed(2)} s`,
    ...(probed ? [!r.probe ? '-' : r.probe.code === 0 ? `ok (${r.probe.attempts} tries)` : `FAILED (${r.probe.attempts} tries)`] : []),
    r.skipped ? (r.error?.includes('not supported') ? 'not supported' : 'skipped') : r.error !== undefined ? 'error' : r.matches ? 'matches' : 'DIFFERS',
    r.error ?? [r.probe?.error ?? '', r.timedOut ? 'timed out' : '', r.accel ? `accel ${r.accel}` : ''].filter(Boolean).join(', '),
  ]);
  const last = head.length - 1;
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (i === last ? 0 : row[i].length))));
  const table = [head, ...body].map((row) => row.map((c, i) => (i === last ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
  const what = probed ? "the probe's exit code and stdout (the service is stopped after it; its own output is not compared)" : 'exit code and stdout (stderr and time are not compared)';
  return `${table}\ncompared: ${what}\n`;
}
