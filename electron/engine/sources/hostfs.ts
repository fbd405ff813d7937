// Reading host files into trees: one file with its symlink chain, or a whole folder.
import { isUtf8 } from 'node:buffer';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { ImagePath } from '../../../shared/brand';
import { escapeBytes } from '../../../shared/grammar';
import { joinImage, resolveLinkTarget } from '../model/path';
import type { Entry, Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import type { FollowedLink } from './host-warnings';

const MAX_LINKS = 40;

/**
 * Add the host file at `p` to `out` at the same path. A symlink stays a
 * symlink and its target is added too (resolved as it would be inside the
 * image), so soname links like libz.so.1 -> libz.so.1.2.13 survive. Folders
 * are copied whole. Everything is owned by root: ownership is the recipe's.
 * A symlink that leads to a folder is recorded in `followed` (for warnings).
 */
export async function addHostPath(store: BlobStore, out: Tree, p: ImagePath, followed?: FollowedLink[], depth = 0): Promise<void> {
  if (depth > MAX_LINKS) throw new Error(`too many levels of symbolic links at ${p}`);
  if (out.has(p)) return;
  let st: Stats;
  try {
    st = await fs.lstat(p);
  } catch (e) {
    throw new Error(`host file ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`);
  }
  if (st.isSymbolicLink()) {
    const target = await fs.readlink(p);
    out.set(p, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target });
    const to = resolveLinkTarget(p, target);
    await addHostPath(store, out, to, followed, depth + 1);
    if (out.get(to)?.type === 'dir') followed?.push({ link: p, target, folder: to });
  } else if (st.isDirectory()) {
    await scanHostDir(store, p, p, out, { normalizeModes: false });
  } else {
    out.set(p, await hostEntry(store, p, st, { normalizeModes: false }));
  }
}

/** A host file whose name an image cannot hold. */
export class HostNameError extends Error {}

/**
 * A host folder's names, sorted by the caller. Image paths are UTF-8 text: a name that is not is
 * refused here, naming its bytes (decoded, it would become U+FFFD and no longer name the file).
 */
export async function utf8Names(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { encoding: 'buffer' })).map((b) => {
    if (isUtf8(b)) return b.toString('utf8');
    const shown = escapeBytes(b.toString('latin1'));
    throw new HostNameError(`${path.join(dir, shown)}: the name is not UTF-8 text (image paths are UTF-8; rename the file)`);
  });
}

export interface ScanOptions {
  /** Git-like modes (0644/0755 files, 0755 folders): the same tree whatever the umask was. */
  normalizeModes: boolean;
  owner?: { uid: number; gid: number };
  fileMode?: number;
  /** Host paths left out, with all they hold, when met inside the folder scanned. */
  skip?: Set<string>;
}

/** Scan a host folder into `out` under `dest`. Hard links become link groups, sockets are skipped. */
export async function scanHostDir(store: BlobStore, hostDir: string, dest: ImagePath, out: Tree, opts: ScanOptions): Promise<void> {
  const inodes = new Map<string, ImagePath>();
  const pending: [ImagePath, Stats][] = [];
  const walk = async (hostPath: string, at: ImagePath): Promise<void> => {
    const st = await fs.lstat(hostPath);
    pending.push([at, st]);
    if (st.isDirectory()) {
      const names = (await utf8Names(hostPath)).sort();
      for (const n of names) {
        const inner = path.join(hostPath, n);
        if (!opts.skip?.has(inner)) await walk(inner, joinImage(at, n));
      }
    }
  };
  await walk(hostDir, dest);
  // Sorted so that the first path of a hard-link group names the group on every machine.
  pending.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [at, st] of pending) {
    if (st.isSocket()) continue;
    const hostPath = path.join(hostDir, path.relative(dest, at));
    const e = await hostEntry(store, hostPath, st, opts);
    if (e.type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first) e.link = first;
      else {
        inodes.set(key, at);
        e.link = at;
      }
    }
    out.set(at, e);
  }
  // A group of one is no group.
  const counts = new Map<string, number>();
  for (const e of out.values()) if (e.link) counts.set(e.link, (counts.get(e.link) ?? 0) + 1);
  for (const e of out.values()) if (e.link && counts.get(e.link) === 1) delete e.link;
}

export async function hostEntry(store: BlobStore, hostPath: string, st: Stats, opts: ScanOptions): Promise<Entry> {
  const uid = opts.owner?.uid ?? 0;
  const gid = opts.owner?.gid ?? 0;
  const perm = st.mode & 0o7777;
  if (st.isFile()) {
    const { digest, size } = await store.putHostFile(hostPath, st);
    const mode = opts.fileMode ?? (opts.normalizeModes ? (perm & 0o111 ? 0o755 : 0o644) : perm);
    return { type: 'file', mode, uid, gid, size, digest };
  }
  if (st.isDirectory()) return { type: 'dir', mode: opts.normalizeModes ? 0o755 : perm, uid, gid, size: 0 };
  if (st.isSymbolicLink()) return { type: 'symlink', mode: 0o777, uid, gid, size: 0, target: await fs.readlink(hostPath) };
  if (st.isFIFO()) return { type: 'fifo', mode: perm, uid, gid, size: 0 };
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    return { type: st.isCharacterDevice() ? 'char' : 'block', mode: perm, uid, gid, size: 0, rdev: [major(st.rdev), minor(st.rdev)] };
  }
  throw new Error(`${hostPath}: unsupported file type`);
}

// glibc's encoding of dev_t.
function major(rdev: number): number {
  return Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
}
function minor(rdev: number): number {
  return Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);
}
