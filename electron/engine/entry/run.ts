// Running an image: build it once (or take a build already made), then hand
// the built image to a runner through the Runner seam (run/runner.ts). Runs
// never build: every runner gets the same BuiltImage.
import type { BuildOptions, BuildResult } from './build';
import { build } from './build';
import { imageMeta } from '../oci/image';
import type { TerminalCommand } from '../run/runner';
import { checkAbilities, type BuiltImage, type Runner, type RunnerName, type RunnerOutcome, type RunIo, type RunRequest } from '../run/runner';
import { runnerFor, type RunnerSettings } from '../run/registry';
import { runWithProbe, type ProbeResult, type ProbeSpec } from '../run/probe';
import { vmShellCommand, type VmSettings } from '../run/vm';
import type { EngineRunFlags } from '../run/docker';

export { RUNNERS, type RunnerName } from '../run/runner';
export { NoCommandError, imageProcess, runSpec } from '../run/process';
export { materializeImage, type MaterializedImage } from '../run/chroot';

/** docker run's own flags: what a run may change of the image config (one definition, beside the engines that take them as themselves). */
export type RunFlags = EngineRunFlags;

/** What a build made, as the runners take it. */
export function imageOf(result: BuildResult, cacheDir: string): BuiltImage {
  return {
    recipe: result.recipe,
    tree: result.states[result.states.length - 1],
    store: result.store,
    cacheDir,
    configDigest: imageMeta(result.recipe, result.layers).config.digest,
    dockerArchive: result.outputs.docker,
  };
}

/** One build for all of `runners` (with the docker-archive when one of them loads it). */
export async function buildFor(opts: Omit<BuildOptions, 'formats'>, runners: Runner[]): Promise<BuiltImage> {
  const result = await build({ ...opts, formats: runners.some((r) => r.needsArchive) ? ['docker'] : [] });
  return imageOf(result, opts.cacheDir);
}

export type RunResult = RunnerOutcome & {
  runner: RunnerName;
  /** With --probe: the probe's result; code, stdout and stderr are then the probe's, and `service` what the service gave. */
  probe?: ProbeResult;
  service?: RunnerOutcome;
};

/** Run `request` on `runner` with a built image: prepare, start (with the probe beside it when asked), release. */
export async function runOn(image: BuiltImage, runner: Runner, request: RunRequest, io: RunIo = {}, probe?: ProbeSpec): Promise<RunResult> {
  checkAbilities(runner, request, probe !== undefined);
  const prepared = await runner.prepare(image, request);
  try {
    if (!probe) return { ...(await prepared.start(io).done), runner: runner.name };
    const { probe: p, ...service } = await runWithProbe(prepared, probe, io);
    const answer = { code: p.code, stdout: p.stdout, stderr: p.stderr, signal: null, ms: p.ms, ...(service.accel ? { accel: service.accel } : {}) };
    return { ...answer, runner: runner.name, probe: p, service };
  } finally {
    await prepared.release();
  }
}

export interface RunOptions extends Omit<BuildOptions, 'formats'> {
  runner: RunnerName;
  args: string[];
  flags?: RunFlags;
  io?: RunIo;
  /** The VM runner's kernel, timeout and acceleration. */
  vm?: VmSettings;
  /** Test-run as a service: this command beside it, then stop it. */
  probe?: ProbeSpec;
}

/** Build once, then run with one runner. */
export async function runImage(opts: RunOptions): Promise<RunResult> {
  const runner = runnerFor(opts.runner, { vm: opts.vm });
  const request = { args: opts.args, flags: opts.flags ?? {} };
  checkAbilities(runner, request, opts.probe !== undefined);
  const image = await buildFor(opts, [runner]);
  try {
    return await runOn(image, runner, request, opts.io, opts.probe);
  } finally {
    await image.store.close();
  }
}

/** What a terminal in the app runs for `runner` on an image already built: the program, or (shell) a shell in the VM. */
export async function terminalFor(image: BuiltImage, name: RunnerName, request: RunRequest, settings: RunnerSettings & { shell?: boolean } = {}): Promise<{ command: TerminalCommand; release: () => Promise<void> }> {
  if (settings.shell && name === 'vm') return { command: await vmShellCommand(image, settings.vm), release: async () => {} };
  const runner = runnerFor(name, settings);
  checkAbilities(runner, request, false);
  const prepared = await runner.prepare(image, request);
  try {
    return { command: await prepared.terminal(), release: () => prepared.release() };
  } catch (e) {
    await prepared.release();
    throw e;
  }
}
