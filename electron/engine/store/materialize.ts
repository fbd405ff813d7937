// Turning a tree into a real folder to run. Files are copied (reflinked where
// the filesystem can) out of the blob store, never hard-linked: a program that
// writes to its files must not be able to change the store. Everything is
// owned by whoever runs the build: the chroot runner maps only that user (to
// root), so the recipe's other ids could not be shown inside anyway.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ImagePath } from '../../../shared/brand';
import { ROOT } from '../model/path';
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
        // Device nodes and fifos need mknod: only the chroot runner's bind-mounted /dev provides them.
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
