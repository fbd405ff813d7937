// The size map's pure geometry (renderer/src/treemap.ts): boxes proportional
// to bytes, children inside their folders, tiny and empty entries left out,
// the breadcrumb, and one colour per layer.
import { describe, expect, it } from 'vitest';
import type { SizeNode } from '../../shared/contract';
import { crumbs, layerColour, layoutTreemap, LABEL_H } from '../../renderer/src/treemap';

const file = (path: string, bytes: number, layer?: number): SizeNode => ({ name: path.split('/').pop()!, path, bytes, ...(layer !== undefined ? { layer } : {}) });
const dir = (path: string, children: SizeNode[]): SizeNode => ({ name: path.split('/').pop() || '/', path, bytes: children.reduce((n, c) => n + c.bytes, 0), dir: true, children });

describe('layoutTreemap', () => {
  const root = dir('/', [dir('/usr', [file('/usr/big', 600, 0), file('/usr/small', 200, 1)]), file('/init', 200, 1), file('/empty', 0)]);
  const boxes = layoutTreemap(root, 500, 400);
  const by = (p: string) => boxes.find((b) => b.path === p)!;
  const area = (p: string) => by(p).w * by(p).h;

  it('draws every entry with bytes, not the root, parents before their children', () => {
    // Breadth first: every folder comes before what it holds.
    expect(boxes.map((b) => b.path)).toEqual(['/usr', '/init', '/usr/big', '/usr/small']);
    expect(boxes.findIndex((b) => b.path === '/usr')).toBeLessThan(boxes.findIndex((b) => b.path === '/usr/big'));
    expect(by('/usr')).toMatchObject({ parent: true, dir: true, depth: 1 });
    expect(by('/usr/big')).toMatchObject({ parent: false, dir: false, depth: 2, layer: 0, bytes: 600 });
  });

  it('sizes boxes by bytes', () => {
    // /usr holds 80 % of the bytes, /init 20 %: areas in that ratio, give or take padding and rounding.
    expect(area('/usr') / area('/init')).toBeGreaterThan(3.3);
    expect(area('/usr') / area('/init')).toBeLessThan(4.8);
    expect(area('/usr/big') / area('/usr/small')).toBeGreaterThan(2.5);
    expect(area('/usr/big') / area('/usr/small')).toBeLessThan(3.6);
  });

  it('keeps children inside their folder, below its label', () => {
    const u = by('/usr');
    for (const k of ['/usr/big', '/usr/small'].map(by)) {
      expect(k.x).toBeGreaterThanOrEqual(u.x);
      expect(k.y).toBeGreaterThanOrEqual(u.y + LABEL_H);
      expect(k.x + k.w).toBeLessThanOrEqual(u.x + u.w);
      expect(k.y + k.h).toBeLessThanOrEqual(u.y + u.h);
    }
    // and inside the map.
    for (const b of boxes) expect(b.x >= 0 && b.y >= 0 && b.x + b.w <= 500 && b.y + b.h <= 400).toBe(true);
  });

  it('siblings do not overlap', () => {
    const [a, b] = [by('/usr/big'), by('/usr/small')];
    const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
    expect(apart).toBe(true);
  });

  it('a folder sent without children (below the depth asked) keeps its bytes and stays zoomable', () => {
    const r = layoutTreemap(dir('/', [{ name: 'lib', path: '/lib', bytes: 500, dir: true }, file('/a', 500)]), 300, 200);
    expect(r.find((b) => b.path === '/lib')).toMatchObject({ dir: true, parent: false });
    expect(r).toHaveLength(2);
  });

  it('a folded "… N more" block keeps a key apart from its folder', () => {
    const r = layoutTreemap(dir('/', [file('/a', 500), { name: '… 40 more', path: '/', bytes: 500, folded: 40 }]), 300, 200);
    const more = r.find((b) => b.folded === 40)!;
    expect(more.key).not.toBe('/');
    expect(new Set(r.map((b) => b.key)).size).toBe(r.length);
  });

  it('draws nothing for an empty image or no room, and drops blocks under the minimum side', () => {
    expect(layoutTreemap(dir('/', [file('/e', 0)]), 500, 400)).toEqual([]);
    expect(layoutTreemap(root, 0, 400)).toEqual([]);
    const tiny = layoutTreemap(dir('/', [file('/huge', 1_000_000), file('/speck', 1)]), 300, 200);
    expect(tiny.map((b) => b.path)).toEqual(['/huge']);
  });
});

describe('crumbs and colours', () => {
  it('gives every folder from / down', () => {
    expect(crumbs('/')).toEqual([{ name: '/', path: '/' }]);
    expect(crumbs('/usr/lib/x86_64-linux-gnu')).toEqual([
      { name: '/', path: '/' },
      { name: 'usr', path: '/usr' },
      { name: 'lib', path: '/usr/lib' },
      { name: 'x86_64-linux-gnu', path: '/usr/lib/x86_64-linux-gnu' },
    ]);
  });

  it('gives each of the first layers its own colour', () => {
    const c = Array.from({ length: 12 }, (_, i) => layerColour(i));
    expect(new Set(c).size).toBe(12);
    expect(layerColour(undefined)).not.toBe(layerColour(0));
  });
});
