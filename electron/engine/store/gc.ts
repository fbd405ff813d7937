// `cache gc`: keep what the recorded roots need, remove the rest. A root is a
// project's last build (store/roots.ts); what it needs is its nodes, blobs
// and packs, plus every digest its nodes' results name (the trees of cached
// sources point at content blobs a fully cached build never opens). With a
// size limit, the least recently built projects are let go first, as
// `docker builder prune --keep-storage` lets go of the oldest records.
import { promises as fs } from 'node:fs';
import { inventory, removeItem, type Item } from './inventory';
import { readAllRoots, runningBuilds, type RootsFile } from './roots';

export interface GcOptions {
  /** Drop the oldest roots until what is kept fits in this many bytes. */
  keepStorage?: number;
  dryRun?: boolean;
}

export interface GcReport {
  removed: Item[];
  kept: Item[];
  /** Projects whose builds are still kept, most recent first. */
  projects: string[];
  /** Projects let go: folder gone, or the oldest over the size limit. */
  dropped: string[];
}

/** A build is running on this cache: gc would race it. */
export class CacheBusyError extends Error {}

const HEX_IN_TEXT = /[0-9a-f]{64}/g;

export async function gc(cacheDir: string, opts: GcOptions = {}): Promise<GcReport> {
  const busy = await runningBuilds(cacheDir);
  if (busy.length) throw new CacheBusyError(`a build is running on the cache ${cacheDir} (process ${busy.join(', ')}); run cache gc when it has ended`);
  const items = await inventory(cacheDir);
  const byKind = (k: Item['kind']) => new Map(items.filter((i) => i.kind === k).map((i) => [i.name, i]));
  const blobs = byKind('blobs');
  const packs = byKind('packs');
  const nodes = byKind('nodes');

  // What a node's result names: read once per node.
  const named = new Map<string, string[]>();
  const namesOf = async (key: string): Promise<string[]> => {
    let n = named.get(key);
    if (!n) {
      const text = await fs.readFile(nodes.get(key)!.files[0], 'utf8').catch(() => '');
      n = text.match(HEX_IN_TEXT) ?? [];
      named.set(key, n);
    }
    return n;
  };
  const keptBy = async (roots: RootsFile[]): Promise<Set<Item>> => {
    const kept = new Set<Item>();
    const keep = (m: Map<string, Item>, name: string) => {
      const it = m.get(name);
      if (it) kept.add(it);
    };
    for (const r of roots) {
      for (const b of r.blobs) keep(blobs, b);
      for (const p of r.packs) keep(packs, p);
      for (const k of r.nodes) {
        if (!nodes.has(k)) continue;
        keep(nodes, k);
        keep(packs, k);
        for (const h of await namesOf(k)) {
          keep(blobs, h);
          keep(nodes, `tar-offsets-${h}`);
        }
      }
    }
    return kept;
  };
  const bytes = (s: Set<Item>) => [...s].reduce((n, i) => n + i.bytes, 0);

  const all = (await readAllRoots(cacheDir)).sort((a, b) => b.time - a.time);
  const dropped: RootsFile[] = [];
  const live: RootsFile[] = [];
  for (const r of all) ((await exists(r.project)) ? live : dropped).push(r);
  let kept = await keptBy(live);
  if (opts.keepStorage !== undefined) {
    while (live.length && bytes(kept) > opts.keepStorage) {
      dropped.push(live.pop()!);
      kept = await keptBy(live);
    }
  }
  const removed = items.filter((i) => !kept.has(i));
  if (!opts.dryRun) {
    for (const it of removed) await removeItem(it);
    for (const r of dropped) await fs.rm(r.file, { force: true });
  }
  return { removed, kept: [...kept], projects: live.map((r) => r.project), dropped: dropped.map((r) => r.project) };
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
