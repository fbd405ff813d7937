// Turning a tree into a real folder to run. Files are copied (reflinked where
// the filesystem can) out of the blob store, never hard-linked: a program that
// writes to its files must not be able to change the store. Everything is
// owned by whoever runs the build unless `owners` (real root) asks for the
// recipe's; a normal user's build steps get theirs inside the sandbox's user
// namespace (tools/idmap.ts). Every entry is created under a folder this
// function made: a tree that puts a path under a symlink is refused, so the
// image can never redirect a write onto the host.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ImagePath } from '../../../shared/brand';
import { ROOT, parentOf } from '../model/path';
import { sortedPaths, type Tree } from '../model/tree';
import type { BlobStore } from './blobs';

export interface MaterializeReport {
  /** Device nodes and fifos that could not be created without root. */
  skipped: ImagePath[];
}

export async function materialize(tree: Tree, store: BlobStore, dir: string, opts: { owners?: boolean } = {}): Promise<MaterializeReport> {
  const skipped: ImagePath[] = [];
  const firstOfLink = new Map<string, string>();
  const paths = sortedPaths(tree);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  for (const p of paths) {
    const e = tree.get(p)!;
    const host = p === ROOT ? dir : path.join(dir, p);
    if (parentOf(p) !== ROOT && tree.get(parentOf(p))?.type !== 'dir') throw new Error(`cannot materialize ${p}: its parent ${parentOf(p)} is not a folder in the tree`);
    switch (e.type) {
      case 'dir':
        if (p !== ROOT) await fs.mkdir(host, { mode: 0o700 });
        break;
      case 'file': {
        const first = e.link ? firstOfLink.get(e.link) : undefined;
        if (first) await fs.link(first, host);
        else {
          await store.copyTo(e.digest!, host, e.mode);
          if (e.link) firstOfLink.set(e.link, host);
        }
        break;
      }
      case 'symlink':
        await fs.symlink(e.target!, host);
        break;
      default:
        // Device nodes and fifos need mknod: the sandbox's /dev provides the safe ones.
        skipped.push(p);
        continue;
    }
    // Build steps run as real root keep the recipe's owners (set-id bits are restored below).
    if (opts.owners) await fs.lchown(host, e.uid, e.gid);
  }
  if (opts.owners) for (const p of paths) if (tree.get(p)!.type === 'file' && tree.get(p)!.mode & 0o6000) await fs.chmod(path.join(dir, p), tree.get(p)!.mode);
  // Directory modes last, deepest first, so read-only folders do not stop their own filling.
  for (const p of paths.filter((q) => tree.get(q)!.type === 'dir').reverse()) {
    await fs.chmod(p === ROOT ? dir : path.join(dir, p), tree.get(p)!.mode);
  }
  return { skipped };
}

/** Remove a materialized root, including folders a program left without write permission. */
export async function removeRoot(dir: string): Promise<void> {
  const fix = async (d: string): Promise<void> => {
    await fs.chmod(d, 0o700).catch(() => {});
    for (const ent of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (ent.isDirectory()) await fix(path.join(d, ent.name));
    }
  };
  await fix(dir);
  await fs.rm(dir, { recursive: true, force: true });
}
