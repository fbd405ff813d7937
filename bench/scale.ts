// The explorer's engine side at scale: a 100,000-entry image, from "open the
// explorer" (index the tree, answer the first page) and a layer diff of two
// 100,000-entry trees, each beside a reference taken in the same run.
import type { ImagePath, Sha256 } from '../shared/brand';
import { diffTrees } from '../electron/engine/model/diff';
import { indexTree } from '../electron/engine/model/index';
import { sortedPaths, type Entry, type Tree } from '../electron/engine/model/tree';

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
void sortedPaths;
