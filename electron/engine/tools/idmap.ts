// Subordinate ids for build steps run by a normal user. With only the builder
// mapped (to root), a step cannot chown to any other id and every file it
// writes is root's. When the user has /etc/subuid and /etc/subgid ranges
// (useradd gives them; newuidmap from the uidmap package applies them), the
// builder maps to 0 and the range to 1..N: files get their recipe owners
// inside the namespace, a step may chown freely, and host ids map back to
// image ids when the result is captured. The map is found once with
// `unshare --map-root-user --map-auto`; the sandbox applies the same rows with
// newuidmap/newgidmap. Host-side chores (owners, removal) run in unshare's
// namespace: they run host tools on host paths, never image content.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../model/path';
import { sortedPaths, type Tree } from '../model/tree';
import { exec } from './exec';
import { findTool, requireTool } from './registry';

/** Rows of /proc/PID/uid_map: [inside, outside, count]. */
export type IdRanges = [number, number, number][];

export interface IdMap {
  uid: IdRanges;
  gid: IdRanges;
}

let probed: Promise<IdMap | undefined> | undefined;

/** The namespace's id map when subordinate ids work for this user; undefined as root or without them. Probed once. */
export function subordinateIds(): Promise<IdMap | undefined> {
  if (process.getuid?.() === 0 || !findTool('newuidmap')) return Promise.resolve(undefined);
  probed ??= (async () => {
    const r = await exec(requireTool('unshare'), [...namespaceArgs(true), 'cat', '/proc/self/uid_map', '/proc/self/gid_map']).catch(() => undefined);
    if (!r || r.code !== 0) return undefined;
    const rows = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
    // uid_map then gid_map, each starting at inside id 0.
    const split = rows.findIndex((row, i) => i > 0 && row[0] === 0);
    const map = { uid: rows.slice(0, split), gid: rows.slice(split) };
    return map.uid.length > 1 && map.gid.length > 1 ? map : undefined;
  })();
  return probed;
}

/** unshare's user-namespace arguments: the builder as root, plus the subordinate range when there is one. */
export function namespaceArgs(subordinate: boolean): string[] {
  return ['--user', '--map-root-user', ...(subordinate ? ['--map-auto'] : [])];
}

/** The id inside the namespace that a host id shows as; 65534 (nobody) when unmapped. */
export function insideId(ranges: IdRanges, outside: number): number {
  for (const [inside, out, count] of ranges) if (outside >= out && outside < out + count) return inside + (outside - out);
  return 65534;
}

/** Give a materialized root its recipe owners, from inside the namespace (set-id bits restored after chown clears them). */
export async function ownInside(root: string, tree: Tree): Promise<void> {
  const byOwner = new Map<string, string[]>();
  const setId: [string, number][] = [];
  for (const p of sortedPaths(tree)) {
    const e = tree.get(p)!;
    if (e.type !== 'dir' && e.type !== 'file' && e.type !== 'symlink') continue;
    const host = p === ROOT ? root : path.join(root, p);
    if (e.uid !== 0 || e.gid !== 0) byOwner.set(`${e.uid}:${e.gid}`, [...(byOwner.get(`${e.uid}:${e.gid}`) ?? []), host]);
    if (e.type === 'file' && e.mode & 0o6000 && (e.uid !== 0 || e.gid !== 0)) setId.push([host, e.mode & 0o7777]);
  }
  if (byOwner.size === 0) return;
  const lists = await fs.mkdtemp(path.join(os.tmpdir(), `scratchyard-own-${process.pid}-`));
  try {
    const lines: string[] = [];
    let i = 0;
    for (const [owner, paths] of byOwner) {
      const list = path.join(lists, String(i++));
      await fs.writeFile(list, paths.join('\0'));
      lines.push(`xargs -0 -r chown -h ${owner} -- < ${list}`);
    }
    for (const [host, mode] of setId) lines.push(`chmod ${mode.toString(8)} -- '${host.replace(/'/g, "'\\''")}'`);
    const r = await exec(requireTool('unshare'), [...namespaceArgs(true), '/bin/sh', '-ec', lines.join('\n')]);
    if (r.code !== 0) throw new Error(`could not give the step's root its owners: ${r.stderr.trim()}`);
  } finally {
    await fs.rm(lists, { recursive: true, force: true });
  }
}

/**
 * Remove a folder holding files of subordinate ids or folders a step made
 * read-only, which the builder itself may not delete: as root of a user
 * namespace it may.
 */
export async function removeInside(dir: string, subordinate = true): Promise<void> {
  await exec(requireTool('unshare'), [...namespaceArgs(subordinate), 'rm', '-rf', '--', dir]);
}
