// The process every runner runs: the image config with docker's run flags
// applied (entrypoint + cmd, env, workdir), and the user resolved in the
// image's own /etc/passwd and /etc/group.
import type { Recipe } from '../../../shared/recipe';
import type { BlobStore } from '../store/blobs';
import { DEFAULT_PATH, type RunSpec } from '../model/runspec';
import { resolveUser } from '../model/users';
import { imagePath, resolveLinkTarget } from '../model/path';
import type { Tree } from '../model/tree';
import type { EngineRunFlags } from './docker';

export class NoCommandError extends Error {
  constructor() {
    super('the image has no entrypoint or cmd: set config.entrypoint in the recipe or pass a command after --');
  }
}

/** docker's rule: ENTRYPOINT + (arguments given, else CMD); --entrypoint drops CMD. */
export function runSpec(recipe: Recipe, args: string[], flags: EngineRunFlags = {}): RunSpec {
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
export async function imageProcess(recipe: Recipe, tree: Tree, store: BlobStore, args: string[], flags: EngineRunFlags = {}): Promise<RunSpec> {
  const spec = runSpec(recipe, args, flags);
  const want = flags.user ?? recipe.config.user;
  const user = resolveUser(want, await imageText(tree, store, '/etc/passwd'), await imageText(tree, store, '/etc/group'), flags.user !== undefined ? '--user' : 'config.user');
  const home = user.home === '/' && user.uid === 0 ? '/root' : user.home;
  return { ...spec, env: { HOME: home, ...spec.env }, user };
}
