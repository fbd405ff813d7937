// A build step: a command run inside the image as it stands, in the sandbox
// (tools/sandbox.ts), whose effect on the filesystem (added, changed and
// removed paths, modes and owners as the step left them) becomes this
// source's result. Mounts are there only while it runs. The result is cached
// by the state it ran on, the step, and what was mounted.
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { ImagePath } from '../../../shared/brand';
import type { SourceOf } from '../../../shared/recipe';
import { digestOf } from '../model/digest';
import { hardLinkChanges } from '../model/diff';
import { treeDigest } from '../model/filelist';
import { ROOT, ancestors, comparePaths, imagePath, isUnder } from '../model/path';
import { sameEntry, sortedPaths, treeFromJson, treeToJson, type Entry, type Tree } from '../model/tree';
import { DEFAULT_PATH } from '../model/runspec';
import { identityFor, prepareRoot, runSandboxed, SandboxSetupError, type PreparedRoot, type SandboxMount } from '../tools/sandbox';
import { insideId, ownInside } from '../tools/idmap';
import { makeWorkDir, removeWorkDir, sweepDeadWorkDirs } from '../tools/workdir';
import { materialize } from '../store/materialize';
import { hostEntry, utf8Names } from './hostfs';
import { RecipeError, type SourceContext, type SourceResult } from './types';

const ENGINE = 1;

interface Cached {
  put: [string, Entry][];
  remove: string[];
}

export async function runStepSource(s: SourceOf<'run'>, ctx: SourceContext): Promise<SourceResult> {
  await sweepDeadWorkDirs();
  // Real root: every id maps to itself. A normal user with subordinate ids gets the recipe's owners inside the step, and may chown.
  const identity = await identityFor({ subordinate: true });
  const realRoot = identity.kind === 'identity';
  const ids = identity.kind === 'subordinate' ? identity.map : undefined;
  const mountKeys = await Promise.all(
    s.mounts.map(async (m) => ('stage' in m ? { stage: treeDigest(ctx.stages.get(m.stage)!), at: m.at } : { host: m.host, at: m.at, stat: statKey(await fs.stat(m.host).catch(() => undefined)) })),
  );
  const key = digestOf({ node: 'run', v: ENGINE, state: treeDigest(ctx.state), step: { ...s, mounts: mountKeys }, realRoot, subordinate: !!ids, epoch: ctx.epoch });
  const hit = await ctx.cache.get<Cached>(key);
  if (hit && (await Promise.all(hit.put.filter(([, e]) => e.digest).map(([, e]) => ctx.store.has(e.digest!)))).every(Boolean)) {
    return { put: treeFromJson(hit.put), remove: hit.remove as ImagePath[] };
  }

  const work = await makeWorkDir('step');
  const root = path.join(work, 'root');
  try {
    const { skipped } = await materialize(ctx.state, ctx.store, root, { owners: realRoot });
    if (ids) await ownInside(root, ctx.state);
    const before = await snapshot(root);
    const mounts: SandboxMount[] = [];
    for (const [i, m] of s.mounts.entries()) {
      let src: string;
      if ('stage' in m) {
        src = path.join(work, `stage-${i}`);
        await materialize(ctx.stages.get(m.stage)!, ctx.store, src, { owners: realRoot });
      } else src = m.host;
      mounts.push({ src, at: imagePath(m.at) });
    }
    let prepared: PreparedRoot;
    try {
      prepared = await prepareRoot(root, mounts);
    } catch (e) {
      if (e instanceof SandboxSetupError) throw new RecipeError(ctx.field, e.message);
      throw e;
    }
    const scaffolding = new Set(prepared.scaffolding);
    const argv = Array.isArray(s.command) ? s.command : ['/bin/sh', '-c', s.command];
    ctx.log(`run: ${Array.isArray(s.command) ? s.command.join(' ') : s.command}`);
    const outcome = await runSandboxed(
      { prepared, work, identity, network: s.network, process: { argv, env: { PATH: DEFAULT_PATH, HOME: '/root', ...s.env }, workdir: s.workdir } },
      { onStdout: (c) => logLines(ctx, c), onStderr: (c) => logLines(ctx, c), signal: ctx.signal },
    );
    ctx.signal?.throwIfAborted();
    if (outcome.code !== 0) throw new RecipeError(ctx.field, `the step failed with exit code ${outcome.code}: ${Array.isArray(s.command) ? s.command.join(' ') : s.command}`);

    // What the step left, compared with what was materialized. The namespaces
    // are gone, so mount points are empty folders again and /proc is empty.
    const after = new Map<ImagePath, Entry>();
    const inodes = new Map<ImagePath, number>();
    const myUid = process.getuid?.() ?? 0;
    const myGid = process.getgid?.() ?? 0;
    const walk = async (rel: string): Promise<void> => {
      const p = (rel || '/') as ImagePath;
      const host = path.join(root, rel);
      const st = await fs.lstat(host);
      const old = ctx.state.get(p);
      const was = before.get(p);
      let e: Entry;
      if (old && was && unchanged(was, st)) e = old;
      else {
        e = await hostEntry(ctx.store, host, st, { normalizeModes: false, owner: { uid: st.uid, gid: st.gid } });
        if (ids) {
          e.uid = insideId(ids.uid, st.uid);
          e.gid = insideId(ids.gid, st.gid);
        } else if (!realRoot) {
          // Only the builder is mapped (to root): its files are root's, unless they kept the owner they had.
          const kept = was && was.uid === st.uid && was.gid === st.gid && old;
          if (st.uid === myUid) e.uid = kept ? old.uid : 0;
          if (st.gid === myGid) e.gid = kept ? old.gid : 0;
        }
      }
      after.set(p, e);
      if (st.isFile() && st.nlink > 1) inodes.set(p, st.ino);
      if (st.isDirectory()) for (const n of (await utf8Names(host)).sort()) await walk(path.posix.join(rel || '/', n));
    };
    await walk('');
    // Scaffolding (mount points, /proc, /dev placeholders, a /tmp the image lacked) is not the step's doing.
    const kept = new Set(s.keepMountPoint ? s.mounts.flatMap((m) => [imagePath(m.at), ...ancestors(imagePath(m.at))]) : []);
    for (const p of [...after.keys()]) {
      if ([...scaffolding].some((sc) => (p === sc || isUnder(p, sc)) && !(p === sc && kept.has(sc)))) after.delete(p);
    }
    // Device nodes and fifos could not be materialized; the step could not have touched them.
    for (const p of skipped) if (after.get(p.slice(0, p.lastIndexOf('/')) as ImagePath)?.type === 'dir' || p.lastIndexOf('/') === 0) after.set(p, ctx.state.get(p)!);

    linkGroups(after, inodes);

    const put: Tree = new Map();
    const hardLinkChanged = hardLinkChanges(ctx.state, after);
    for (const p of sortedPaths(after)) {
      const old = ctx.state.get(p);
      const e = after.get(p)!;
      if (!old || !sameEntry(old, e) || hardLinkChanged(p, old, e)) put.set(p, e);
    }
    const remove: ImagePath[] = [];
    for (const p of sortedPaths(ctx.state)) if (p !== ROOT && !after.has(p) && !remove.some((r) => isUnder(p, r))) remove.push(p);
    await ctx.cache.put(key, { put: treeToJson(put), remove } satisfies Cached);
    return { put, remove };
  } finally {
    await removeWorkDir(work);
  }
}

/**
 * The step's hard links as the tree keeps them: files of one inode share a
 * `link`, the group's first path (as a copied folder's are named), and a file
 * left alone on its inode has none. Without this a step's `ln`, or a package
 * it installs with hard links, would be written as separate copies.
 */
function linkGroups(after: Tree, inodes: Map<ImagePath, number>): void {
  const groups = new Map<number, ImagePath[]>();
  for (const [p, ino] of inodes) {
    if (!after.has(p)) continue; // scaffolding, dropped
    const group = groups.get(ino);
    if (group) group.push(p);
    else groups.set(ino, [p]);
  }
  const keyOf = new Map<ImagePath, ImagePath>();
  for (const paths of groups.values()) {
    if (paths.length < 2) continue;
    const first = paths.reduce((a, b) => (comparePaths(a, b) <= 0 ? a : b));
    for (const p of paths) keyOf.set(p, first);
  }
  for (const [p, e] of after) {
    const link = keyOf.get(p);
    if (e.type === 'file' && e.link !== link) {
      const { link: _old, ...rest } = e;
      after.set(p, link ? { ...rest, link } : rest);
    }
  }
}

interface Snap {
  ino: number;
  size: number;
  mtimeMs: number;
  mode: number;
  uid: number;
  gid: number;
}

/** Stat of every path right after materializing, to tell what the step touched. */
async function snapshot(root: string): Promise<Map<string, Snap>> {
  const out = new Map<string, Snap>();
  const walk = async (rel: string) => {
    const st = await fs.lstat(path.join(root, rel));
    out.set(rel || '/', { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode, uid: st.uid, gid: st.gid });
    if (st.isDirectory()) for (const n of await utf8Names(path.join(root, rel))) await walk(path.posix.join(rel || '/', n));
  };
  await walk('');
  return out;
}

function unchanged(was: Snap, st: Stats): boolean {
  return was.ino === st.ino && was.size === st.size && was.mtimeMs === st.mtimeMs && was.mode === st.mode && was.uid === st.uid && was.gid === st.gid;
}

function statKey(st: Stats | undefined): string {
  return st ? `${st.dev}:${st.ino}:${st.mtimeMs}:${st.size}` : 'missing';
}

function logLines(ctx: SourceContext, chunk: Buffer): void {
  for (const line of String(chunk).split('\n')) if (line.trim()) ctx.log(line);
}
