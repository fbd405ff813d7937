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
import { engineRunArgs, ensureLoaded, runDocker, type EngineRunFlags } from '../run/docker';
import { ensurePodmanImage, runPodman } from '../run/podman';
import { requireTool } from '../tools/registry';
import { VmFailedError, chooseAccel, guestMemoryMiB, qemuCommand, requireKernel, runVm, type Accel, type QemuCommand, type VmSettings } from '../run/vm';
import { materialize } from '../store/materialize';
import { DEFAULT_PATH, type RunOutcome, type RunSpec } from '../model/runspec';
import { asRealRoot, identityFor, prepareRoot, runSandboxed, userSwitch, type PreparedRoot, type SandboxMount } from '../tools/sandbox';
import { resolveUser } from '../model/users';
import { imagePath, resolveLinkTarget } from '../model/path';
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

/** docker run's own flags: what a run may change of the image config (one definition, beside the engines that take them as themselves). */
export type RunFlags = EngineRunFlags;

/** docker's rule: ENTRYPOINT + (arguments given, else CMD); --entrypoint drops CMD. */
export function runSpec(recipe: Recipe, args: string[], flags: RunFlags = {}): RunSpec {
  const c = recipe.config;
  const entry = flags.entrypoint !== undefined ? (flags.entrypoint ? [flags.entrypoint] : []) : (c.entrypoint ?? []);
  const cmd = flags.entrypoint !== undefined ? [] : (c.cmd ?? []);
  const argv = [...entry, ...(args.length ? args : cmd)];
  if (argv.length === 0) throw new NoCommandError();
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...c.env, ...flags.env };
  return { argv, env, workdir: flags.workdir ?? c.workdir ?? '/' };
}

/** A small file of the image (following its symlinks inside the tree), or undefined. */
async function imageText(tree: Tree, store: BlobStore, p: string): Promise<string | undefined> {
  let at = imagePath(p);
  for (let hops = 0; hops < 16; hops++) {
    const e = tree.get(at);
    if (!e) return undefined;
    if (e.type === 'symlink' && e.target !== undefined) at = resolveLinkTarget(at, e.target);
    else if (e.type === 'file' && e.digest && e.size <= 4 << 20) return (await store.read(e.digest)).toString();
    else return undefined;
  }
  return undefined;
}

/** The full process of a run: runSpec plus the user resolved in the image's own passwd and group, and docker's HOME. */
export async function imageProcess(recipe: Recipe, tree: Tree, store: BlobStore, args: string[], flags: RunFlags = {}): Promise<RunSpec> {
  const spec = runSpec(recipe, args, flags);
  const want = flags.user ?? recipe.config.user;
  const user = resolveUser(want, await imageText(tree, store, '/etc/passwd'), await imageText(tree, store, '/etc/group'));
  const home = user.home === '/' && user.uid === 0 ? '/root' : user.home;
  return { ...spec, env: { HOME: home, ...spec.env }, user };
}

export interface RunOptions extends Omit<BuildOptions, 'formats'> {
  runner: RunnerName;
  args: string[];
  flags?: RunFlags;
  io?: Pick<ExecOptions, 'onStdout' | 'onStderr' | 'inherit' | 'signal'>;
  /** The VM runner's kernel, timeout and acceleration. */
  vm?: VmSettings;
}

export type RunResult = RunOutcome & { runner: RunnerName; accel?: Accel };

export async function runImage(opts: RunOptions): Promise<RunResult> {
  if (opts.runner === 'vm') return runImageInVm(opts);
  if (opts.runner === 'docker' || opts.runner === 'podman') return runImageInEngine(opts);
  const result = await build({ ...opts, formats: [] });
  const flags = opts.flags ?? {};
  const tree = result.states[result.states.length - 1];
  const spec = await imageProcess(result.recipe, tree, result.store, opts.args, flags);
  const switchUser = await userSwitch(spec.user);
  const image = await materializeImage(tree, result.store, switchUser?.mounts);
  try {
    // A normal user reaches other ids only through its subordinate range.
    const identity = await identityFor({ subordinate: switchUser !== undefined });
    const sandbox = { prepared: image.prepared, work: image.work, process: spec, identity, switchUser, network: flags.network === 'host' };
    const outcome = await runSandboxed(sandbox, { ...opts.io, timeoutMs: flags.timeoutMs });
    return { ...outcome, runner: opts.runner };
  } finally {
    await removeWorkDir(image.work);
  }
}

/** The initrd (from the cache when it was made before) for `spec` in the built image. */
export async function initrdFor(opts: Omit<BuildOptions, 'formats'>, spec: (r: BuildResult) => WrapperSpec | Promise<WrapperSpec>): Promise<{ path: string; unpacked: number; result: BuildResult }> {
  const result = await build({ ...opts, formats: [] });
  const tree = result.states[result.states.length - 1];
  // The build's own store: it knows which packs hold imported contents (a Debian base's).
  const store = result.store;
  const cache = new BuildCache(opts.cacheDir);
  await cache.open();
  try {
    const blob = await initrdBlob(store, cache, tree, treeDigest(tree), await spec(result), result.recipe.epoch, true);
    return { path: store.pathOf(blob.digest), unpacked: blob.unpacked, result };
  } finally {
    await store.close();
  }
}

async function runImageInVm(opts: RunOptions): Promise<RunResult> {
  const flags = opts.flags ?? {};
  if (flags.network === 'host') throw new VmFailedError('--network host: the VM runner has no network to share (the guest has none); not supported');
  const rd = await initrdFor(opts, async (r) => ({ mode: 'run', ...(await imageProcess(r.recipe, r.states[r.states.length - 1], r.store, opts.args, flags)) }));
  const timeoutMs = flags.timeoutMs ?? opts.vm?.timeoutMs;
  const outcome = await runVm(rd.path, rd.unpacked, { cacheDir: opts.cacheDir, ...opts.vm, timeoutMs, timeoutIsResult: flags.timeoutMs !== undefined }, opts.io);
  return { ...outcome, runner: 'vm' };
}

/**
 * qemu booting the image with the program (or, for `shell`, the initrd's
 * busybox sh) on its serial console: for a terminal in the app.
 */
export async function vmTerminalCommand(opts: Omit<BuildOptions, 'formats'> & { args: string[]; shell: boolean; vm?: VmSettings; flags?: RunFlags }): Promise<QemuCommand> {
  const rd = await initrdFor(opts, async (r) => {
    if (!opts.shell) return { mode: 'console', ...(await imageProcess(r.recipe, r.states[r.states.length - 1], r.store, opts.args, opts.flags)) };
    const recipe = { ...r.recipe, config: { ...r.recipe.config, entrypoint: [BUSYBOX_PATH, 'sh'], cmd: [] } };
    return { mode: 'console', ...runSpec(recipe, []) };
  });
  const settings = { cacheDir: opts.cacheDir, ...opts.vm };
  return qemuCommand({ kernel: requireKernel(settings.kernel), initrd: rd.path, memMiB: guestMemoryMiB(rd.unpacked), accel: await chooseAccel(settings) });
}

/** `docker run -it` of the image (loaded first when the engine lacks it), for a terminal in the app. */
export async function dockerTerminalCommand(opts: Omit<BuildOptions, 'formats'> & { args: string[]; flags?: RunFlags }): Promise<QemuCommand> {
  const result = await build({ ...opts, formats: ['docker'] });
  runSpec(result.recipe, opts.args, opts.flags);
  const tag = imageReference(result.recipe).full;
  const docker = await ensureLoaded(result.outputs.docker!, tag, imageMeta(result.recipe, result.layers).config.digest, opts.signal);
  return { file: docker, args: ['run', '--rm', '-it', ...engineRunArgs(opts.flags ?? {}), tag, ...opts.args] };
}

/** `podman run -it` of the image by its ID (loaded first when podman lacks it), for a terminal in the app. */
export async function podmanTerminalCommand(opts: Omit<BuildOptions, 'formats'> & { args: string[]; flags?: RunFlags }): Promise<QemuCommand> {
  const result = await build({ ...opts, formats: ['docker'] });
  runSpec(result.recipe, opts.args, opts.flags);
  const id = imageMeta(result.recipe, result.layers).config.digest;
  const podman = requireTool('podman');
  await ensurePodmanImage(podman, result.outputs.docker!, id, opts.signal);
  return { file: podman, args: ['run', '--rm', '-it', ...engineRunArgs(opts.flags ?? {}), id, ...opts.args] };
}

async function runImageInEngine(opts: RunOptions): Promise<RunResult> {
  const result = await build({ ...opts, formats: ['docker'] });
  runSpec(result.recipe, opts.args); // the same "no command" error as the other runners
  const meta = imageMeta(result.recipe, result.layers);
  const archive = result.outputs.docker!;
  const flags = opts.flags ?? {};
  const outcome =
    opts.runner === 'podman'
      ? await runPodman(archive, meta.config.digest, opts.args, flags, opts.io)
      : await runDocker(archive, imageReference(result.recipe).full, meta.config.digest, opts.args, flags, opts.io);
  return { ...outcome, runner: opts.runner };
}

/** A materialized image in a fresh work folder, ready for the sandbox; remove `work` with removeWorkDir. */
export interface MaterializedImage {
  work: string;
  prepared: PreparedRoot;
}

export async function materializeImage(tree: Tree, store: BlobStore, mounts: SandboxMount[] = []): Promise<MaterializedImage> {
  await sweepDeadWorkDirs();
  const work = await makeWorkDir('run');
  try {
    const root = path.join(work, 'root');
    await materialize(tree, store, root, { owners: asRealRoot() });
    return { work, prepared: await prepareRoot(root, mounts) };
  } catch (e) {
    await removeWorkDir(work);
    throw e;
  }
}
