// The docker runner: `docker load` of the built docker-archive (skipped when
// the engine already has this very image), then `docker run --rm --network
// none TAG [CMD]`. stdout, stderr and exit code as the chroot runner gives them.
import { randomBytes } from 'node:crypto';
import { imageReference } from '../../../shared/recipe';
import { exec, type ExecOptions } from '../tools/exec';
import { findTool, requireTool } from '../tools/registry';
import { runSpec } from './process';
import type { BuiltImage, Runner, RunningProcess } from './runner';
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
  /** none (default): loopback only; host: the host's network. With `ports`: the engine's private bridge. */
  network?: 'none' | 'host';
  /** -p HOST:CONTAINER[/proto] (checked by publishProblem where they enter): published on 127.0.0.1 only. */
  ports?: string[];
  /** Stop the program after this long; the result says timedOut (code 124). Values are validated where they enter (CLI, contract). */
  timeoutMs?: number;
}

/**
 * -p needs a network the host can reach: it gives the run the engine's private
 * bridge (the default network), so it cannot go with --network none, and
 * --network host already shares every port. The sentence, or undefined.
 */
export function publishConflict(flags: EngineRunFlags): string | undefined {
  if (!flags.ports?.length || flags.network === undefined) return undefined;
  return flags.network === 'none'
    ? '-p publishes a port through a private network: it cannot go with --network none (drop one of them)'
    : '-p with --network host: the host network already shares every port (drop -p)';
}

/** `docker run` / `podman run` options for `flags`; --network none unless asked or a port is published. */
export function engineRunArgs(flags: EngineRunFlags): string[] {
  const ports = flags.ports ?? [];
  return [
    ...(ports.length && flags.network === undefined ? [] : ['--network', flags.network ?? 'none']),
    ...ports.flatMap((p) => ['-p', `127.0.0.1:${p}`]),
    ...(flags.entrypoint !== undefined ? ['--entrypoint', flags.entrypoint] : []),
    ...Object.entries(flags.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...(flags.user !== undefined ? ['--user', flags.user] : []),
    ...(flags.workdir !== undefined ? ['--workdir', flags.workdir] : []),
  ];
}

export function containerName(): string {
  return `scratchyard-run-${process.pid}-${randomBytes(4).toString('hex')}`;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `ENGINE run --rm --name NAME ARGS` as a RunningProcess: stopped (and, at
 * flags.timeoutMs, timed out) with `ENGINE kill`, retried until the client has
 * ended, since a kill can come before the container exists. `failed` tells the
 * engine's own failure to start from the program's exit code.
 */
export function startContainer(
  engine: string,
  runArgs: string[],
  flags: EngineRunFlags,
  io: Pick<ExecOptions, 'onStdout' | 'onStderr' | 'inherit' | 'signal'>,
  failed: (code: number, stderr: string) => Error | undefined,
): RunningProcess {
  const name = containerName();
  const t0 = performance.now();
  let ended = false;
  let stopping = false;
  const kill = async () => {
    while (!ended) {
      await exec(engine, ['kill', name]).catch(() => undefined);
      if (!ended) await sleep(200);
    }
  };
  const stop = () => {
    if (!stopping) void kill();
    stopping = true;
  };
  let timedOut = false;
  const timer = flags.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), stop()), flags.timeoutMs);
  io.signal?.addEventListener('abort', stop, { once: true });
  // stderr is kept even when inherited, to tell the engine's own failure from the program's exit code.
  let err = '';
  const { signal: _, ...own } = io;
  const done = exec(engine, ['run', '--rm', '--name', name, ...runArgs], { ...own, onStderr: own.inherit ? undefined : (d) => ((err += d.toString()), io.onStderr?.(d)) })
    .finally(() => {
      ended = true;
      clearTimeout(timer);
      io.signal?.removeEventListener('abort', stop);
    })
    .then((r): RunOutcome => {
      const ms = performance.now() - t0;
      const stderr = r.stderr || err;
      if (timedOut) return { code: TIMEOUT_CODE, timedOut: true, signal: null, ms, stdout: r.stdout, stderr };
      const e = stopping ? undefined : failed(r.code, stderr);
      if (e) throw e;
      return { code: r.code, signal: r.signal, ms, stdout: r.stdout, stderr };
    });
  return {
    done,
    stop,
    async network() {
      if (flags.network === 'host') return { kind: 'host' };
      while (!ended) {
        const r = await exec(engine, ['inspect', '--format', '{{.State.Pid}}', name]);
        const pid = Number(r.stdout.trim());
        if (r.code === 0 && pid > 0) return { kind: 'pid', pid };
        await sleep(100);
      }
      return undefined;
    },
  };
}

/** The docker runner: the archive loaded under the recipe's tag (skipped when docker holds this very image). */
export const dockerRunner: Runner = {
  name: 'docker',
  needsArchive: true,
  abilities: () => ({ publish: true, probe: process.getuid?.() === 0 }),
  async problem() {
    if (!findTool('docker')) return 'docker not found (apt-get install docker.io)';
    return dockerProblem();
  },
  async prepare(image, request) {
    const archive = requireArchive(image, 'docker');
    runSpec(image.recipe, request.args); // the same "no command" error as the other runners
    const tag = imageReference(image.recipe).full;
    const docker = await ensureLoaded(archive, tag, image.configDigest);
    const args = [...engineRunArgs(request.flags), tag, ...request.args];
    return {
      runner: 'docker',
      start: (io) =>
        startContainer(docker, args, request.flags, io, (code, stderr) =>
          code === DOCKER_RUN_FAILED && /docker: Error response from daemon|Unable to find image/.test(stderr) ? new DockerUnavailableError(`docker run ${tag} failed: ${stderr.trim()}`) : undefined,
        ),
      terminal: async () => ({ file: docker, args: ['run', '--rm', '-it', ...args] }),
      release: async () => {},
    };
  },
};

/** The docker-archive docker and podman load; the entry module builds it for them. */
export function requireArchive(image: BuiltImage, runner: string): string {
  if (!image.dockerArchive) throw new Error(`the ${runner} runner needs the image's docker-archive, and this build did not write one`);
  return image.dockerArchive;
}
