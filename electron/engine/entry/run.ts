// Running an image: build what is missing, materialize the final tree into a
// fresh temporary root, run the entrypoint (or CMD) there in the sandbox, clean up.
import path from 'node:path';
import { imageReference, type Recipe } from '../../../shared/recipe';
import { build, type BuildOptions, type BuildResult } from './build';
import { imageMeta } from '../oci/image';
import { initrdBlob } from '../export/initrd';
import type { WrapperSpec } from '../export/vmwrapper';
import { treeDigest } from '../model/filelist';
import { BuildCache } from '../store/cache';
import type { BlobStore } from '../store/blobs';
import { BUSYBOX_PATH } from '../export/vmwrapper';
import { ensureLoaded, runDocker } from '../run/docker';
import { ensurePodmanImage, runPodman } from '../run/podman';
import { requireTool } from '../tools/registry';
import { chooseAccel, guestMemoryMiB, qemuCommand, requireKernel, runVm, type Accel, type QemuCommand, type VmSettings } from '../run/vm';
import { materialize } from '../store/materialize';
import { DEFAULT_PATH, type RunOutcome, type RunSpec } from '../model/runspec';
import { asRealRoot, identityFor, prepareRoot, runSandboxed, type PreparedRoot } from '../tools/sandbox';
import type { ExecOptions } from '../tools/exec';
import { makeWorkDir, removeWorkDir, sweepDeadWorkDirs } from '../tools/workdir';
import type { Tree } from '../model/tree';

export const RUNNERS = ['chroot', 'vm', 'docker', 'podman'] as const;
export type RunnerName = (typeof RUNNERS)[number];


export class NoCommandError extends Error {
  constructor() {
    super('the image has no entrypoint or cmd: set config.entrypoint in the recipe or pass a command after --');
  }
}

/** docker's rule: ENTRYPOINT + (arguments given, else CMD). */
export function runSpec(recipe: Recipe, args: string[]): RunSpec {
  const c = recipe.config;
  const argv = [...(c.entrypoint ?? []), ...(args.length ? args : (c.cmd ?? []))];
  if (argv.length === 0) throw new NoCommandError();
  const env: Record<string, string> = { PATH: DEFAULT_PATH, HOME: '/root', ...c.env };
  return { argv, env, workdir: c.workdir ?? '/' };
}

export interface RunOptions extends Omit<BuildOptions, 'formats'> {
  runner: RunnerName;
  args: string[];
  io?: Pick<ExecOptions, 'onStdout' | 'onStderr' | 'inherit' | 'signal'>;
  /** The VM runner's kernel, timeout and acceleration. */
  vm?: VmSettings;
}

export type RunResult = RunOutcome & { runner: RunnerName; accel?: Accel };

export async function runImage(opts: RunOptions): Promise<RunResult> {
  if (opts.runner === 'vm') return runImageInVm(opts);
  if (opts.runner === 'docker' || opts.runner === 'podman') return runImageInEngine(opts);
  const result = await build({ ...opts, formats: [] });
  const spec = runSpec(result.recipe, opts.args);
  const image = await materializeImage(result.states[result.states.length - 1], result.store);
  try {
    const outcome = await runSandboxed({ prepared: image.prepared, work: image.work, process: spec, identity: await identityFor() }, opts.io);
    return { ...outcome, runner: opts.runner };
  } finally {
    await removeWorkDir(image.work);
  }
}

/** The initrd (from the cache when it was made before) for `spec` in the built image. */
export async function initrdFor(opts: Omit<BuildOptions, 'formats'>, spec: (r: BuildResult) => WrapperSpec): Promise<{ path: string; unpacked: number; result: BuildResult }> {
  const result = await build({ ...opts, formats: [] });
  const tree = result.states[result.states.length - 1];
  // The build's own store: it knows which packs hold imported contents (a Debian base's).
  const store = result.store;
  const cache = new BuildCache(opts.cacheDir);
  await cache.open();
  try {
    const blob = await initrdBlob(store, cache, tree, treeDigest(tree), spec(result), result.recipe.epoch, true);
    return { path: store.pathOf(blob.digest), unpacked: blob.unpacked, result };
  } finally {
    await store.close();
  }
}

async function runImageInVm(opts: RunOptions): Promise<RunResult> {
  const rd = await initrdFor(opts, (r) => ({ mode: 'run', ...runSpec(r.recipe, opts.args) }));
  const outcome = await runVm(rd.path, rd.unpacked, { cacheDir: opts.cacheDir, ...opts.vm }, opts.io);
  return { ...outcome, runner: 'vm' };
}

/**
 * qemu booting the image with the program (or, for `shell`, the initrd's
 * busybox sh) on its serial console: for a terminal in the app.
 */
export async function vmTerminalCommand(opts: Omit<BuildOptions, 'formats'> & { args: string[]; shell: boolean; vm?: VmSettings }): Promise<QemuCommand> {
  const rd = await initrdFor(opts, (r) => {
    const recipe = opts.shell ? { ...r.recipe, config: { ...r.recipe.config, entrypoint: [BUSYBOX_PATH, 'sh'], cmd: [] } } : r.recipe;
    return { mode: 'console', ...runSpec(recipe, opts.shell ? [] : opts.args) };
  });
  const settings = { cacheDir: opts.cacheDir, ...opts.vm };
  return qemuCommand({ kernel: requireKernel(settings.kernel), initrd: rd.path, memMiB: guestMemoryMiB(rd.unpacked), accel: await chooseAccel(settings) });
}

/** `docker run -it` of the image (loaded first when the engine lacks it), for a terminal in the app. */
export async function dockerTerminalCommand(opts: Omit<BuildOptions, 'formats'> & { args: string[] }): Promise<QemuCommand> {
  const result = await build({ ...opts, formats: ['docker'] });
  runSpec(result.recipe, opts.args);
  const tag = imageReference(result.recipe).full;
  const docker = await ensureLoaded(result.outputs.docker!, tag, imageMeta(result.recipe, result.layers).config.digest, opts.signal);
  return { file: docker, args: ['run', '--rm', '-it', '--network', 'none', tag, ...opts.args] };
}

/** `podman run -it` of the image by its ID (loaded first when podman lacks it), for a terminal in the app. */
export async function podmanTerminalCommand(opts: Omit<BuildOptions, 'formats'> & { args: string[] }): Promise<QemuCommand> {
  const result = await build({ ...opts, formats: ['docker'] });
  runSpec(result.recipe, opts.args);
  const id = imageMeta(result.recipe, result.layers).config.digest;
  const podman = requireTool('podman');
  await ensurePodmanImage(podman, result.outputs.docker!, id, opts.signal);
  return { file: podman, args: ['run', '--rm', '-it', '--network', 'none', id, ...opts.args] };
}

async function runImageInEngine(opts: RunOptions): Promise<RunResult> {
  const result = await build({ ...opts, formats: ['docker'] });
  runSpec(result.recipe, opts.args); // the same "no command" error as the other runners
  const meta = imageMeta(result.recipe, result.layers);
  const archive = result.outputs.docker!;
  const outcome =
    opts.runner === 'podman'
      ? await runPodman(archive, meta.config.digest, opts.args, opts.io)
      : await runDocker(archive, imageReference(result.recipe).full, meta.config.digest, opts.args, opts.io);
  return { ...outcome, runner: opts.runner };
}

/** A materialized image in a fresh work folder, ready for the sandbox; remove `work` with removeWorkDir. */
export interface MaterializedImage {
  work: string;
  prepared: PreparedRoot;
}

export async function materializeImage(tree: Tree, store: BlobStore): Promise<MaterializedImage> {
  await sweepDeadWorkDirs();
  const work = await makeWorkDir('run');
  try {
    const root = path.join(work, 'root');
    await materialize(tree, store, root, { owners: asRealRoot() });
    return { work, prepared: await prepareRoot(root) };
  } catch (e) {
    await removeWorkDir(work);
    throw e;
  }
}
