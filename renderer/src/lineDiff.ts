// Which lines two texts share: the longest common subsequence of their lines
// by Myers' O((N+M)·D) diff, so two long files that differ in a few lines cost
// little. Pure; the YAML editing keeps a file's layout with it.

/** Pairs [i, j]: line i of `a` is line j of `b`, in increasing order of both; undefined past `maxEdits`. */
export function commonLines(a: string[], b: string[], maxEdits = 4000): [number, number][] | undefined {
  // Lines as small integers: comparisons are then cheap whatever the line length.
  const ids = new Map<string, number>();
  const id = (s: string) => ids.get(s) ?? (ids.set(s, ids.size), ids.size - 1);
  const A = a.map(id);
  const B = b.map(id);
  const n = A.length;
  const m = B.length;
  const max = Math.min(n + m, maxEdits);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && A[x] === B[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) return backtrack(trace, d, n, m);
    }
  }
  return undefined;
}

function backtrack(trace: Int32Array[], last: number, n: number, m: number): [number, number][] {
  const pairs: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = last; d > 0; d--) {
    // trace[d] holds v as it was before step d, for k in [-d-1, d+1].
    const at = (k: number) => trace[d][k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    // The diagonal run after the one edit of step d: matched lines.
    while (x > prevX && y > prevY) {
      x--;
      y--;
      pairs.push([x, y]);
    }
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    pairs.push([x, y]);
  }
  return pairs.reverse();
}
