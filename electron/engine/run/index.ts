// Running an image: build what is missing, materialize the final tree into a
// fresh temporary root, run the entrypoint (or CMD) there, clean up.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Recipe } from '../../../shared/recipe';
import { build, type BuildOptions } from '../graph/build';
import { materialize, removeRoot } from './materialize';
import { DEFAULT_PATH, asRealRoot, prepareRoot, runChroot, type RunOutcome, type RunSpec } from './chroot';

export { asRealRoot };
import type { Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import type { ExecOptions } from '../tools/exec';

export const RUNNERS = ['chroot'] as const;
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
}

export async function runImage(opts: RunOptions): Promise<RunOutcome & { runner: RunnerName }> {
  const result = await build({ ...opts, formats: [] });
  const spec = runSpec(result.recipe, opts.args);
  const root = await materializeImage(result.states[result.states.length - 1], result.store);
  try {
    const outcome = await runChroot(root, spec, opts.io, { realRoot: asRealRoot() });
    return { ...outcome, runner: opts.runner };
  } finally {
    await removeRoot(root);
  }
}

/** A fresh temporary root holding `tree`, ready for the chroot runner; remove it with removeRoot. */
export async function materializeImage(tree: Tree, store: BlobStore): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'scratchyard-run-'));
  try {
    await materialize(tree, store, root, { owners: asRealRoot() });
    await prepareRoot(root);
    return root;
  } catch (e) {
    await removeRoot(root);
    throw e;
  }
}
