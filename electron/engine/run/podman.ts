// The podman runner: the docker runner's contract with podman. Images are
// found and run by their ID (the config digest): `podman load` names an OCI
// layout after its ref.name annotation ("latest"), and short names need a
// registries.conf alias, so the ID is the one name that means this image.
// Where podman is installed but cannot start containers (rlimits in some
// sandboxes), the error says so and `run --runner all` skips it.
import { exec, type ExecOptions } from '../tools/exec';
import { requireTool } from '../tools/registry';
import { TIMEOUT_CODE, type RunOutcome } from '../model/runspec';
import { DockerUnavailableError, containerName, engineRunArgs, stopAtTimeout, type EngineRunFlags } from './docker';

/** podman's exit codes when the container could not be created or its command not started. */
const PODMAN_FAILED = new Set([125, 126, 127]);

/** A clear sentence for why podman cannot be used, or undefined when it answers. */
export async function podmanProblem(): Promise<string | undefined> {
  const r = await exec(requireTool('podman'), ['version', '--format', '{{.Client.Version}}']).catch((e: Error) => ({ code: 1, stdout: '', stderr: e.message }));
  return r.code === 0 ? undefined : `podman does not work here: ${lastLine(r.stderr) || `exit code ${r.code}`}`;
}

const lastLine = (s: string) => s.split('\n').filter(Boolean).pop() ?? '';

/** Load the archive (through its manifest.json: docker-archive transport) unless podman holds this image ID. */
export async function ensurePodmanImage(podman: string, archive: string, id: string, signal?: AbortSignal): Promise<void> {
  const have = await exec(podman, ['image', 'exists', id]);
  if (have.code === 0) return;
  if (have.code !== 1) throw new DockerUnavailableError((await podmanProblem()) ?? `podman image exists failed: ${lastLine(have.stderr)}`);
  const load = await exec(podman, ['pull', '-q', `docker-archive:${archive}`], { signal });
  if (load.code !== 0) throw new DockerUnavailableError(`podman pull docker-archive:${archive} failed: ${lastLine(load.stderr)}`);
}

export async function runPodman(archive: string, configDigest: string, args: string[], flags: EngineRunFlags = {}, io: Pick<ExecOptions, 'onStdout' | 'onStderr' | 'inherit' | 'signal'> = {}): Promise<RunOutcome> {
  const podman = requireTool('podman');
  await ensurePodmanImage(podman, archive, configDigest, io.signal);
  const t0 = performance.now();
  // stderr is kept even when inherited, to tell podman's own failure from the program's exit code.
  let err = '';
  const name = containerName();
  const stop = stopAtTimeout(podman, name, flags.timeoutMs);
  const r = await exec(podman, ['run', '--rm', '--name', name, ...engineRunArgs(flags), configDigest, ...args], { ...io, onStderr: (d) => ((err += d.toString()), io.onStderr?.(d)) }).finally(stop.clear);
  const ms = performance.now() - t0;
  if (stop.fired()) return { code: TIMEOUT_CODE, timedOut: true, signal: null, ms, stdout: r.stdout, stderr: r.stderr || err };
  const stderr = r.stderr || err;
  if (PODMAN_FAILED.has(r.code ?? -1) && /^Error: /m.test(stderr) && /runc|crun|OCI|container/i.test(stderr)) {
    throw new DockerUnavailableError(`podman cannot run containers here: ${lastLine(stderr).replace(/^Error: /, '')}`, { cannotRun: true });
  }
  return { code: r.code, signal: r.signal, ms, stdout: r.stdout, stderr };
}
