// The Runner seam: one interface that the chroot, VM, docker and podman
// runners implement, and that the run table, the CLI and the app use. A runner
// takes an image a build already produced (BuiltImage: runs never build),
// prepares it (materialize a root, make an initrd, load an archive), starts its
// process, streams its output, stops it on demand, and gives its outcome.
import type { Recipe } from '../../../shared/recipe';
import type { BlobStore } from '../store/blobs';
import type { Tree } from '../model/tree';
import type { RunOutcome } from '../model/runspec';
import type { ExecOptions } from '../tools/exec';
import type { EngineRunFlags } from './docker';
import type { Accel } from './vm';

export const RUNNERS = ['chroot', 'vm', 'docker', 'podman'] as const;
export type RunnerName = (typeof RUNNERS)[number];

/** What a build already produced; everything a runner may need of it. */
export interface BuiltImage {
  recipe: Recipe;
  /** The image's final tree; contents in `store`. */
  tree: Tree;
  store: BlobStore;
  cacheDir: string;
  /** The image config's digest: its ID in docker and podman. */
  configDigest: string;
  /** The docker-archive the build wrote, when it wrote one (docker and podman need it). */
  dockerArchive?: string;
}

/** What to run: the arguments after `--` and docker's run flags. */
export interface RunRequest {
  args: string[];
  flags: EngineRunFlags;
}

export type RunIo = Pick<ExecOptions, 'onStdout' | 'onStderr' | 'inherit' | 'signal'>;

export type RunnerOutcome = RunOutcome & { accel?: Accel };

/** Where a process beside the run finds the run's network. */
export type RunNetwork =
  /** The host's own (--network host). */
  | { kind: 'host' }
  /** The namespace of this host process (nsenter --net=/proc/PID/ns/net). */
  | { kind: 'pid'; pid: number };

export interface RunningProcess {
  /** Settles when the process has ended (and its container or sandbox is gone). */
  done: Promise<RunnerOutcome>;
  /** End it now: done then resolves with the outcome of the killed process. */
  stop(): void;
  /** The run's network once its process runs; undefined when it ended first. */
  network(): Promise<RunNetwork | undefined>;
}

/** A command for a terminal (the app's PTY): qemu on a serial console, docker run -it, the sandbox. */
export interface TerminalCommand {
  file: string;
  args: string[];
  env?: Record<string, string>;
}

/** A prepared run: its image readied for one process; release() frees what prepare made. */
export interface Prepared {
  readonly runner: RunnerName;
  start(io: RunIo): RunningProcess;
  /** The same process as a command for a terminal (a PTY); release() once it has ended. */
  terminal(): Promise<TerminalCommand>;
  release(): Promise<void>;
}

/** What a runner can do beyond running a process. */
export interface RunnerAbilities {
  /** -p HOST:CONTAINER */
  publish: boolean;
  /** --probe: join the run's network from the host. */
  probe: boolean;
}

export interface Runner {
  readonly name: RunnerName;
  /** docker and podman load the docker-archive: the build must write one. */
  readonly needsArchive: boolean;
  abilities(): RunnerAbilities;
  /** Why it cannot run on this machine, or undefined when it can. */
  problem(): Promise<string | undefined>;
  prepare(image: BuiltImage, request: RunRequest): Promise<Prepared>;
}

/** The runner cannot do what the run asks (-p in the chroot, a probe in the VM): a usage fault, and "not supported" in the table. */
export class RunnerUnsupportedError extends Error {
  constructor(runner: RunnerName, what: string) {
    super(`${what}: not supported by the ${runner} runner`);
  }
}

/** Refuse what `runner` cannot do, before anything is prepared. */
export function checkAbilities(runner: Runner, request: RunRequest, probe: boolean): void {
  const can = runner.abilities();
  if (request.flags.ports?.length && !can.publish) throw new RunnerUnsupportedError(runner.name, `-p ${request.flags.ports.join(' -p ')} (publishing a port; docker and podman can)`);
  if (probe && !can.probe) throw new RunnerUnsupportedError(runner.name, `--probe (a command beside the service in its network${runner.name === 'docker' || runner.name === 'podman' ? ': needs root, to enter the container\'s network namespace' : ''})`);
}
