// The chroot runner: the image materialized into a fresh work folder and run
// by the sandbox executor (tools/sandbox.ts, shared with build steps) as the
// image config's process: its user, env, workdir, no network unless asked.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BlobStore } from '../store/blobs';
import { materialize } from '../store/materialize';
import { imagePath } from '../model/path';
import { dirEntry, putEntry, TreeConflictError, type Tree } from '../model/tree';
import { findTool } from '../tools/registry';
import { asRealRoot, identityFor, prepareRoot, runSandboxed, sandboxCommand, userSwitch, type PreparedRoot, type SandboxMount } from '../tools/sandbox';
import { makeWorkDir, removeWorkDir, sweepDeadWorkDirs } from '../tools/workdir';
import { imageProcess } from './process';
import type { Runner, RunNetwork, RunningProcess } from './runner';

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

/**
 * The tree with its workdir made, as docker makes a missing one (root's, 0755) when the container
 * starts. Made in the tree, not on disk, so nothing is created through a symlink of the image; a
 * file or symlink in the way leaves the tree as it is (the sandbox then says it cannot chdir).
 */
export function withWorkdir(tree: Tree, workdir: string): Tree {
  let p;
  try {
    p = imagePath(workdir);
  } catch {
    return tree;
  }
  if (p === '/' || tree.has(p)) return tree;
  const copy: Tree = new Map(tree);
  try {
    putEntry(copy, p, dirEntry());
  } catch (e) {
    if (e instanceof TreeConflictError) return tree;
    throw e;
  }
  return copy;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The first process under `pid` (the sandbox's launcher) in another network
 * namespace than ours: bwrap's child, whose namespace a probe joins.
 */
async function sandboxedPid(pid: number): Promise<number | undefined> {
  const own = await fs.readlink('/proc/self/ns/net');
  const queue = [pid];
  for (let seen = 0; queue.length && seen < 64; seen++) {
    const p = queue.shift()!;
    const ns = await fs.readlink(`/proc/${p}/ns/net`).catch(() => undefined);
    if (ns !== undefined && ns !== own) return p;
    const kids = await fs.readFile(`/proc/${p}/task/${p}/children`, 'utf8').catch(() => '');
    queue.push(...kids.split(' ').filter(Boolean).map(Number));
  }
  return undefined;
}

export const chrootRunner: Runner = {
  name: 'chroot',
  needsArchive: false,
  abilities: () => ({ publish: false, probe: true }),
  async problem() {
    return findTool('bwrap') ? undefined : 'bwrap not found (apt-get install bubblewrap)';
  },
  async prepare(image, request) {
    const flags = request.flags;
    const spec = await imageProcess(image.recipe, image.tree, image.store, request.args, flags);
    const switchUser = await userSwitch(spec.user);
    const mat = await materializeImage(withWorkdir(image.tree, spec.workdir), image.store, switchUser?.mounts);
    // A normal user reaches other ids only through its subordinate range.
    const identity = await identityFor({ subordinate: switchUser !== undefined }).catch(async (e: unknown) => {
      await removeWorkDir(mat.work);
      throw e;
    });
    const sandbox = { prepared: mat.prepared, work: mat.work, process: spec, identity, switchUser, network: flags.network === 'host' };
    return {
      runner: 'chroot',
      start(io): RunningProcess {
        const ac = new AbortController();
        const abort = () => ac.abort();
        io.signal?.addEventListener('abort', abort, { once: true });
        let launcher: number | undefined;
        let ended = false;
        const done = runSandboxed(sandbox, { ...io, signal: ac.signal, timeoutMs: flags.timeoutMs, onSpawn: (pid) => (launcher = pid) }).finally(() => {
          ended = true;
          io.signal?.removeEventListener('abort', abort);
        });
        return {
          done,
          stop: abort,
          async network(): Promise<RunNetwork | undefined> {
            if (flags.network === 'host') return { kind: 'host' };
            while (!ended) {
              const pid = launcher === undefined ? undefined : await sandboxedPid(launcher);
              if (pid !== undefined) return { kind: 'pid', pid };
              await sleep(50);
            }
            return undefined;
          },
        };
      },
      terminal: async () => sandboxCommand({ ...sandbox, tty: true }),
      release: () => removeWorkDir(mat.work),
    };
  },
};
