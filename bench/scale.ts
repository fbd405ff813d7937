// The explorer's engine side at scale: a 100,000-entry image, from "open the
// explorer" (index the tree, answer the first page) and a layer diff of two
// 100,000-entry trees, each beside a reference taken in the same run.
import { asSha256, type ImagePath, type Sha256 } from '../shared/brand';
import { diffTrees } from '../electron/engine/model/diff';
import { indexTree } from '../electron/engine/model/index';
import { sortedPaths, type Entry, type Tree } from '../electron/engine/model/tree';
import { largestOf, shownOfImage, sizeMapOf } from '../electron/host/inspect';
import type { BlobStore } from '../electron/engine/store/blobs';
import { layoutTreemap } from '../renderer/src/treemap';

const N = 100_000;

function bigTree(seed: number): Tree {
  const t: Tree = new Map([['/' as ImagePath, { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 }]]);
  for (let d = 0; d < 1000; d++) {
    const dir = `/usr/share/pkg${String(d).padStart(4, '0')}` as ImagePath;
    t.set('/usr' as ImagePath, { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
    t.set('/usr/share' as ImagePath, { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
    t.set(dir, { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
    for (let f = 0; f < N / 1000 - 1; f++) {
      const changed = seed && f % 100 === 0;
      const e: Entry = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1000 + f, digest: (changed ? 'b' : 'a').repeat(64) as Sha256 };
      t.set(`${dir}/file${f}.txt` as ImagePath, e);
    }
  }
  return t;
}

function time<T>(fn: () => T): [number, T] {
  const t0 = performance.now();
  const r = fn();
  return [performance.now() - t0, r];
}

function median(fn: () => unknown, runs = 5): number {
  return [...Array(runs)].map(() => time(fn)[0]).sort((a, b) => a - b)[Math.floor(runs / 2)];
}

const a = bigTree(0);
const b = bigTree(1);
console.log(`## scale: ${a.size} entries, median of 5, in-process`);
const openMs = median(() => {
  const idx = indexTree(a);
  return idx.children.get('/usr/share' as ImagePath)!.slice(0, 200);
});
const sortMs = median(() => [...a.keys()].sort());
console.log(`${'open explorer (index + first page)'.padEnd(44)} ${openMs.toFixed(0).padStart(6)} ms   ref sort of the paths: ${sortMs.toFixed(0)} ms   ratio ${(openMs / sortMs).toFixed(2)}   target ≤ 300 ms`);
const diffMs = median(() => diffTrees(a, b));
const loopMs = median(() => {
  let n = 0;
  for (const [p, e] of b) if (a.get(p)?.digest !== e.digest) n++;
  return n;
});
console.log(`${'layer diff of two 100k trees'.padEnd(44)} ${diffMs.toFixed(0).padStart(6)} ms   ref one Map lookup per path: ${loopMs.toFixed(0)} ms   ratio ${(diffMs / loopMs).toFixed(2)}   target ≤ 200 ms`);

// The inspector on the same 100k image (two layers: b over a), as the app asks
// for it: the size map three levels deep from / (folded to what a message
// carries, folders coloured by layer) laid out as the window's treemap, and
// the 15 largest files and folders overall. Cold: on a tree nobody has
// indexed yet (a fresh copy each run; opening the image is not timed).
const opened = () => {
  const top = new Map(b);
  return shownOfImage('bench', { name: 'bench', layers: [{ digest: asSha256('a'.repeat(64)), tree: a }, { digest: asSha256('b'.repeat(64)), tree: top }], states: [a, top], config: {} }, null as unknown as BlobStore);
};
const shows = [...Array(5)].map(opened);
const cold = shows
  .map((sh) => {
    const t0 = performance.now();
    layoutTreemap(sizeMapOf(sh, null, '/', 3).root, 1100, 640);
    const t1 = performance.now();
    largestOf(sh, null, 15);
    return { map: t1 - t0, both: performance.now() - t0 };
  })
  .sort((x, y) => x.both - y.both)[2];
const warmMap = median(() => layoutTreemap(sizeMapOf(shows[0], null, '/', 3).root, 1100, 640));
const largestMs = median(() => largestOf(shows[0], null, 15));
const sumMs = median(() => {
  let n = 0;
  for (const e of b.values()) n += e.size;
  return n;
});
const line = (name: string, ms: number, ref: string, refMs: number) =>
  console.log(`${name.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms   ref ${ref}: ${refMs.toFixed(0)} ms   ratio ${(ms / refMs).toFixed(2)}   target ≤ 300 ms`);
line('size map + largest 15, cold (index built)', cold.both, 'sort of the paths', sortMs);
line('size map (/, depth 3, folded, laid out) cold', cold.map, 'sort of the paths', sortMs);
line('size map again (index kept)', warmMap, 'sort of the paths', sortMs);
line('largest 15 files and folders (index kept)', largestMs, 'one pass summing sizes', sumMs);
void sortedPaths;
