// The build view's bar for a Debian base: fed the real output of a minbase
// bootstrap (recorded from mmdebstrap --verbose and debootstrap on this
// project's machine, mirror host elided), the fraction only grows, passes
// through each phase in order and ends full.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DebianProgress, type DebianTool } from '../../electron/engine/sources/debian/progress';

function feed(tool: DebianTool, fixture: string): { line: string; f: number }[] {
  const p = new DebianProgress(tool);
  const out: { line: string; f: number }[] = [];
  for (const line of readFileSync(path.join(__dirname, '../fixtures', fixture), 'utf8').split('\n')) {
    const f = p.feed(line);
    if (f !== undefined) out.push({ line, f });
  }
  return out;
}

const at = (points: { line: string; f: number }[], re: RegExp) => points.find((p) => re.test(p.line))!.f;

describe('Debian progress', () => {
  it('follows mmdebstrap package by package', () => {
    const points = feed('mmdebstrap', 'mmdebstrap-minbase.log');
    expect(points.map((p) => p.f)).toEqual([...points.map((p) => p.f)].sort((a, b) => a - b));
    expect(points.length).toBeGreaterThan(50);
    expect(at(points, /^Get:\d+ .* amd64 /)).toBeLessThan(0.4);
    expect(at(points, /^Unpacking /)).toBeGreaterThan(0.45);
    expect(points[points.length - 1].f).toBe(1);
  });

  it('follows debootstrap package by package', () => {
    const points = feed('debootstrap', 'debootstrap-minbase.log');
    expect(points.map((p) => p.f)).toEqual([...points.map((p) => p.f)].sort((a, b) => a - b));
    expect(points.length).toBeGreaterThan(50);
    expect(at(points, /^I: Extracting /)).toBeGreaterThanOrEqual(0.35);
    expect(at(points, /^I: Configuring \S+\.\.\.$/)).toBeGreaterThan(0.7);
    expect(points[points.length - 1].f).toBe(0.97);
  });
});
