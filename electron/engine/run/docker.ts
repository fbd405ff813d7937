// The docker runner: `docker load` of the built docker-archive (skipped when
// the engine already has this very image), then `docker run --rm --network
// none TAG [CMD]`. stdout, stderr and exit code as the chroot runner gives them.
import { randomBytes } from 'node:crypto';
import { exec, type ExecOptions } from '../tools/exec';
import { requireTool } from '../tools/registry';
import { TIMEOUT_CODE, type RunOutcome } from '../model/runspec';

/** The run flags docker and podman take as themselves (they resolve the user and env in the image). */
export interface EngineRunFlags {
  /** Replaces config.entrypoint and drops config.cmd, as `docker run --entrypoint` does. */
  entrypoint?: string;
  /** Added to (and overriding) config.env. */
  env?: Record<string, string>;
  /** Replaces config.user: name, uid, name:group or uid:gid, resolved in the image. */
  user?: string;
  workdir?: string;
  /** none (default): loopback only; host: the host's network. */
  network?: 'none' | 'host';
  /** Stop the program after this long; the result says timedOut (code 124). Values are validated where they enter (CLI, contract). */
  timeoutMs?: number;
}

/** `docker run` / `podman run` options for `flags`; --network none unless asked. */
export function engineRunArgs(flags: EngineRunFlags): string[] {
  return [
    '--network', flags.network ?? 'none',
    ...(flags.entrypoint !== undefined ? ['--entrypoint', flags.entrypoint] : []),
    ...Object.entries(flags.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...(flags.user !== undefined ? ['--user', flags.user] : []),
    ...(flags.workdir !== undefined ? ['--workdir', flags.workdir] : []),
  ];
}

export function containerName(): string {
  return `scratchyard-run-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Kill the container `name` after `ms` (none: never); `fired` tells whether it did. */
export function stopAtTimeout(engine: string, name: string, ms: number | undefined): { clear: () => void; fired: () => boolean } {
  let fired = false;
  const timer = ms === undefined ? undefined : setTimeout(() => {
    fired = true;
    void exec(engine, ['kill', name]).catch(() => undefined);
  }, ms);
  return { clear: () => clearTimeout(timer), fired: () => fired };
}

/** The container engine (docker or podman) cannot be used; `cannotRun`: it answers but cannot start containers here. */
export class DockerUnavailableError extends Error {
  readonly cannotRun: boolean;
  constructor(message: string, opts: { cannotRun?: boolean } = {}) {
    super(message);
    this.cannotRun = opts.cannotRun ?? false;
  }
}

/** docker's own exit codes for "could not run the container at all". */
const DOCKER_RUN_FAILED = 125;

/** A clear sentence for why the engine cannot be used, or undefined when it can. */
export async function dockerProblem(docker = requireTool('docker')): Promise<string | undefined> {
  const r = await exec(docker, ['version', '--format', '{{.Server.Version}}']).catch((e: Error) => ({ code: 1, stdout: '', stderr: e.message }));
  if (r.code === 0 && r.stdout.trim()) return undefined;
  const err = r.stderr.trim();
  if (/permission denied/i.test(err)) return `no permission on the docker socket (${lastLine(err)}): add yourself to the docker group (sudo usermod -aG docker $USER, then log in again)`;
  if (/cannot connect|is the docker daemon running|no such file/i.test(err)) return `no docker engine answers (${lastLine(err)}): start it (sudo systemctl start docker)`;
  return `docker does not work here: ${lastLine(err) || `exit code ${r.code}`}`;
}

function lastLine(s: string): string {
  return s.split('\n').filter(Boolean).pop() ?? '';
}

/** Load `archive` unless the engine already holds `tag` as this very image; returns the docker client's path. */
export async function ensureLoaded(archive: string, tag: string, configDigest: string, signal?: AbortSignal): Promise<string> {
  const docker = requireTool('docker');
  const have = await exec(docker, ['image', 'inspect', '--format', '{{.Id}}', tag]);
  // Only a failure that is not "no such image" pays for asking what is wrong with the engine.
  if (have.code !== 0 && !/no such image/i.test(have.stderr)) throw new DockerUnavailableError((await dockerProblem(docker)) ?? `docker image inspect ${tag} failed: ${have.stderr.trim()}`);
  if (have.code !== 0 || have.stdout.trim() !== `sha256:${configDigest}`) {
    const load = await exec(docker, ['load', '-q', '-i', archive], { signal });
    if (load.code !== 0) throw new DockerUnavailableError(`docker load -i ${archive} failed: ${load.stderr.trim()}`);
  }
  return docker;
}

/**
 * Load `archive` unless the engine already holds `tag` as the image with this
 * config digest, then run it.
 */
export async function runDocker(
  archive: string,
  tag: string,
  configDigest: string,
  args: string[],
  flags: EngineRunFlags = {},
  io: Pick<ExecOptions, 'onStdout' | 'onStderr' | 'inherit' | 'signal'> = {},
): Promise<RunOutcome> {
  const docker = await ensureLoaded(archive, tag, configDigest, io.signal);
  const name = containerName();
  const t0 = performance.now();
  const stop = stopAtTimeout(docker, name, flags.timeoutMs);
  const r = await exec(docker, ['run', '--rm', '--name', name, ...engineRunArgs(flags), tag, ...args], io).finally(stop.clear);
  const ms = performance.now() - t0;
  if (stop.fired()) return { code: TIMEOUT_CODE, timedOut: true, signal: null, ms, stdout: r.stdout, stderr: r.stderr };
  if (r.code === DOCKER_RUN_FAILED && /docker: Error response from daemon|Unable to find image/.test(r.stderr)) {
    throw new DockerUnavailableError(`docker run ${tag} failed: ${r.stderr.trim()}`);
  }
  return { code: r.code, signal: r.signal, ms, stdout: r.stdout, stderr: r.stderr };
}
