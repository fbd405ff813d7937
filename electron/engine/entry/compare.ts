// One image, every runner: which runners can run here, the runs themselves,
// and whether their answers (stdout and exit code) agree.
import { build, type BuildOptions } from './build';
import { findTool } from '../tools/registry';
import { DockerUnavailableError, dockerProblem } from '../run/docker';
import { podmanProblem } from '../run/podman';
import { RUNNERS, runImage, type RunOptions, type RunnerName, type RunResult } from './run';
import { NoKernelError, VmFailedError, VmTimeoutError, findKernel } from '../run/vm';

export interface RunnerRow {
  runner: RunnerName;
  /** Why the runner could not run (unavailable, or failed before the program's end). */
  error?: string;
  skipped?: boolean;
  code?: number;
  ms?: number;
  stdout?: string;
  stderr?: string;
  accel?: string;
  timedOut?: boolean;
  /** stdout and exit code equal to what most runners gave. */
  matches: boolean;
}

/** Why a runner cannot run on this machine, or undefined when it can. */
export async function runnerProblem(runner: RunnerName): Promise<string | undefined> {
  switch (runner) {
    case 'chroot':
      return findTool('bwrap') ? undefined : 'bwrap not found (apt-get install bubblewrap)';
    case 'vm':
      if (!findTool('qemu')) return 'qemu-system-x86_64 not found (apt-get install qemu-system-x86)';
      if (!process.env.SCRATCHYARD_KERNEL && !findKernel()) return new NoKernelError().message;
      return undefined;
    case 'docker':
      if (!findTool('docker')) return 'docker not found (apt-get install docker.io)';
      return dockerProblem();
    case 'podman':
      if (!findTool('podman')) return 'podman not found (apt-get install podman)';
      return podmanProblem();
  }
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

/**
 * Run the image with each of `runners` (default: all) that this machine has.
 * The image is built once first; the runs then go in parallel (the VM is the
 * long one), each timed on its own.
 */
export async function runEverywhere(opts: Omit<RunOptions, 'runner' | 'io'> & { runners?: RunnerName[]; signal?: AbortSignal }): Promise<RunnerRow[]> {
  const runners = opts.runners ?? [...RUNNERS];
  const buildOpts: BuildOptions = { ...opts, formats: runners.includes('docker') || runners.includes('podman') ? ['docker'] : [] };
  await build(buildOpts);
  const rows = await Promise.all(
    runners.map(async (runner): Promise<Omit<RunnerRow, 'matches'>> => {
      const problem = await runnerProblem(runner);
      if (problem) return { runner, skipped: true, error: problem };
      try {
        const r: RunResult = await runImage({ ...opts, onEvent: undefined, runner, io: { signal: opts.signal } });
        return { runner, code: r.code, ms: Math.round(r.ms), stdout: r.stdout, stderr: r.stderr, ...(r.accel ? { accel: r.accel } : {}), ...(r.timedOut ? { timedOut: true } : {}) };
      } catch (e) {
        // An engine that answers but cannot start containers on this machine is not there, for a comparison.
        if (e instanceof DockerUnavailableError && e.cannotRun) return { runner, skipped: true, error: e.message };
        if (isRunnerError(e)) return { runner, error: e.message };
        throw e;
      }
    }),
  );
  return compareRows(rows);
}

/** The table `run --runner all` prints. */
export function formatRunTable(rows: RunnerRow[]): string {
  const head = ['runner', 'exit', 'time', 'exit+stdout', 'note'];
  const body = rows.map((r) => [
    r.runner,
    r.code === undefined ? '-' : String(r.code),
    r.ms === undefined ? '-' : `${(r.ms / 1000).toFixed(2)} s`,
    r.skipped ? 'skipped' : r.error !== undefined ? 'error' : r.matches ? 'matches' : 'DIFFERS',
    r.error ?? [r.timedOut ? 'timed out' : '', r.accel ? `accel ${r.accel}` : ''].filter(Boolean).join(', '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (i === 4 ? 0 : row[i].length))));
  const table = [head, ...body].map((row) => row.map((c, i) => (i === 4 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
  return `${table}\ncompared: exit code and stdout (stderr and time are not compared)\n`;
}
