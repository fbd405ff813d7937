// `cache gc`: keep what the recorded roots need, remove the rest. A root is a
// project's last build (store/roots.ts); what it needs is its nodes, blobs
// and packs, plus every digest its nodes' results name (the trees of cached
// sources point at content blobs a fully cached build never opens). With a
// size limit, the least recently built projects are let go first, as
// `docker builder prune --keep-storage` lets go of the oldest records.
//
// The image layout fetched base images go into (images/, store/image-layout.ts)
// is pruned the same way: an index.json entry stays while a kept node names
// its manifest digest (a build's image source records it), the blobs no kept
// entry reaches go. That happens under the layout's lock, so no fetch writes
// it meanwhile; a damaged layout is reported and left as it is. So is the
// record of what fetched references resolved to (images.resolved.json,
// store/resolved-refs.ts): a reference whose manifest the pruned layout no
// longer holds is dropped from it.
import { promises as fs } from 'node:fs';
import { withFileLock } from './filelock';
import { entryNamed, imageLayoutDir, imageLayoutLock, readImageLayout, rewriteIndex, sweepSkopeoTemps, type ImageLayout, type LayoutEntry } from './image-layout';
import { imageBlobItems, inventory, removeItem, type AnyKind, type Item } from './inventory';
import { readResolvedRefs, resolvedRefsFile, writeResolvedRefs } from './resolved-refs';
import { readAllRoots, runningBuilds, type RootsFile } from './roots';

export interface GcOptions {
  /** Drop the oldest roots until what is kept fits in this many bytes. */
  keepStorage?: number;
  dryRun?: boolean;
}

export interface GcReport {
  removed: Item<AnyKind>[];
  kept: Item<AnyKind>[];
  /** Projects whose builds are still kept, most recent first. */
  projects: string[];
  /** Projects let go: folder gone, or the oldest over the size limit. */
  dropped: string[];
  /** The image layout: entries dropped from index.json (manifest digests), entries kept; or why it was left alone. */
  images: { dropped: string[]; kept: number } | { damaged: string };
  /** images.resolved.json: references dropped (their manifest left the layout), references kept; or why it was left alone. */
  resolved: { dropped: string[]; kept: number } | { damaged: string };
}

/** A build is running on this cache: gc would race it. */
export class CacheBusyError extends Error {}

const HEX_IN_TEXT = /[0-9a-f]{64}/g;

export async function gc(cacheDir: string, opts: GcOptions = {}): Promise<GcReport> {
  const busy = await runningBuilds(cacheDir);
  if (busy.length) throw new CacheBusyError(`a build is running on the cache ${cacheDir} (process ${busy.join(', ')}); run cache gc when it has ended`);
  const layout = imageLayoutDir(cacheDir);
  // Only when there is a layout or a record: the lock file goes beside them, and gc must not make a cache folder that is not there.
  if (!(await exists(layout)) && !(await exists(resolvedRefsFile(cacheDir)))) return collect(cacheDir, opts);
  return withFileLock(imageLayoutLock(layout), async () => {
    // No copy runs while the lock is held: any skopeo temporary is a dead copy's.
    await sweepSkopeoTemps(layout);
    return collect(cacheDir, opts);
  });
}

async function collect(cacheDir: string, opts: GcOptions): Promise<GcReport> {
  const layout = await readImageLayout(cacheDir);
  // A damaged layout's blobs are neither kept nor removed: they are not counted at all.
  const items: Item<AnyKind>[] = [...(await inventory(cacheDir)), ...(layout.kind === 'ok' ? await imageBlobItems(cacheDir) : [])];
  const byKind = (k: AnyKind) => new Map(items.filter((i) => i.kind === k).map((i) => [i.name, i]));
  const blobs = byKind('blobs');
  const packs = byKind('packs');
  const nodes = byKind('nodes');
  const imageBlobs = byKind('images');
  const entries = layout.kind === 'ok' ? layout.entries : [];

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
  const keptBy = async (roots: RootsFile[]): Promise<{ items: Set<Item<AnyKind>>; entries: Set<LayoutEntry> }> => {
    const kept = new Set<Item<AnyKind>>();
    const keep = (m: Map<string, Item<AnyKind>>, name: string) => {
      const it = m.get(name);
      if (it) kept.add(it);
    };
    const names = new Set<string>();
    for (const r of roots) {
      for (const b of r.blobs) keep(blobs, b);
      for (const p of r.packs) keep(packs, p);
      for (const k of r.nodes) {
        if (!nodes.has(k)) continue;
        keep(nodes, k);
        keep(packs, k);
        for (const h of await namesOf(k)) {
          names.add(h);
          keep(blobs, h);
          keep(nodes, `tar-offsets-${h}`);
        }
      }
    }
    const keptEntries = new Set(entries.filter((e) => entryNamed(e, names)));
    for (const e of keptEntries) for (const h of e.reaches) keep(imageBlobs, h);
    return { items: kept, entries: keptEntries };
  };
  const bytes = (s: Set<Item<AnyKind>>) => [...s].reduce((n, i) => n + i.bytes, 0);

  const all = (await readAllRoots(cacheDir)).sort((a, b) => b.time - a.time);
  const dropped: RootsFile[] = [];
  const live: RootsFile[] = [];
  for (const r of all) ((await exists(r.project)) ? live : dropped).push(r);
  let kept = await keptBy(live);
  if (opts.keepStorage !== undefined) {
    while (live.length && bytes(kept.items) > opts.keepStorage) {
      dropped.push(live.pop()!);
      kept = await keptBy(live);
    }
  }
  const removed = items.filter((i) => !kept.items.has(i));
  const droppedEntries = entries.filter((e) => !kept.entries.has(e));
  if (!opts.dryRun) {
    // index.json first: a gc killed midway leaves unreferenced blobs (the next gc removes them), never an entry without its blobs.
    if (layout.kind === 'ok' && droppedEntries.length) await rewriteIndex(layout, kept.entries);
    for (const it of removed) await removeItem(it);
    for (const r of dropped) await fs.rm(r.file, { force: true });
  }
  const resolved = await pruneResolved(cacheDir, layout, kept.entries, !!opts.dryRun);
  return {
    removed,
    kept: [...kept.items],
    projects: live.map((r) => r.project),
    dropped: dropped.map((r) => r.project),
    images: layout.kind === 'damaged' ? { damaged: `${layout.file}: ${layout.why}` } : { dropped: droppedEntries.map((e) => `sha256:${e.digest}`), kept: kept.entries.size },
    resolved,
  };
}

/**
 * Drop from images.resolved.json the references whose manifest the layout no
 * longer holds (all of them when there is no layout). A damaged record is
 * named and left as it is; with a damaged layout, the record is not pruned.
 */
async function pruneResolved(cacheDir: string, layout: ImageLayout, kept: ReadonlySet<LayoutEntry>, dryRun: boolean): Promise<GcReport['resolved']> {
  const record = await readResolvedRefs(cacheDir);
  if (record.kind === 'damaged') return { damaged: `${record.file}: ${record.why}` };
  if (record.kind === 'absent') return { dropped: [], kept: 0 };
  if (layout.kind === 'damaged') return { dropped: [], kept: record.refs.size };
  // fetchImage names an entry by its digest's hex (ref.name), as it looks it up.
  const held = new Set<string>([...kept].flatMap((e) => (e.tag !== undefined ? [e.digest, e.tag] : [e.digest])));
  const stays = new Map([...record.refs].filter(([, digest]) => held.has(digest)));
  const dropped = [...record.refs.keys()].filter((ref) => !stays.has(ref));
  if (dropped.length && !dryRun) await writeResolvedRefs(record.file, stays);
  return { dropped, kept: stays.size };
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
