// `scratchyard inspect` and `scratchyard diff` on an image of our own whose
// layers overwrite one file and remove another: every figure below is
// worked out by hand from the sizes written into the recipe.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = tempDir();
const cache = path.join(work, 'cache');
const RECIPE = `name: waste
layers:
  - name: base
    sources:
      - { kind: file, path: /data/a, content: "${'a'.repeat(10000)}" }
      - { kind: file, path: /b, content: "${'b'.repeat(3000)}" }
  - name: over
    sources:
      - { kind: file, path: /data/a, content: "${'z'.repeat(4000)}" }
  - name: trim
    sources:
      - { kind: remove, paths: [/b] }
`;
let project: string;
let tar: string;

beforeAll(() => {
  project = writeProject(path.join(work, 'waste'), RECIPE);
  const r = cli(['build', project, '--cache', cache, '--format', 'docker']);
  expect(r.code, r.stderr).toBe(0);
  tar = path.join(project, 'out/waste.docker.tar');
  expect(existsSync(tar)).toBe(true);
});

// stored: 10000 + 3000 (base) + 4000 (over) + 0 (trim: a whiteout) = 17000.
// ours: the first /data/a (10000, overwritten) and /b (3000, removed) are never shown.
const OURS = { stored: 17000, final: 4000, wasted: 13000, efficiency: 1 - 13000 / 17000 };
// dive's: /data/a twice (10000 + 4000) and /b twice (3000 + a file whiteout's 0) all count;
// efficiency = smallest copies (4000 + 0) / every copy (17000); user = 17000 / (4000 + 0).
const DIVE = { wastedBytes: 17000, efficiency: 4000 / 17000, userWastedPercent: 17000 / 4000 };

describe('scratchyard inspect', () => {
  it('--json gives layers, totals, our waste with who stored and who hid each path, and dive figures', () => {
    const r = cli(['inspect', tar, '--json', '--cache', cache]);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout);
    expect(a.layers.map((l: { bytes: number }) => l.bytes)).toEqual([13000, 4000, 0]);
    expect(a).toMatchObject({ stored: OURS.stored, final: OURS.final, wasted: { bytes: OURS.wasted } });
    expect(a.efficiency).toBeCloseTo(OURS.efficiency, 12);
    expect(a.wasted.paths).toEqual([
      { path: '/data/a', bytes: 10000, storedIn: expect.stringMatching(/^1 sha256:/), hiddenBy: expect.stringMatching(/^2 sha256:/), how: 'overwritten' },
      { path: '/b', bytes: 3000, storedIn: expect.stringMatching(/^1 sha256:/), hiddenBy: expect.stringMatching(/^3 sha256:/), how: 'removed' },
    ]);
    expect(a.dive.wastedBytes).toBe(DIVE.wastedBytes);
    expect(a.dive.efficiency).toBeCloseTo(DIVE.efficiency, 12);
    expect(a.dive.userWastedPercent).toBeCloseTo(DIVE.userWastedPercent, 12);
  });

  it('the project itself gives the same figures, with its layer names', () => {
    const r = cli(['inspect', project, '--json', '--cache', cache]);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout);
    expect(a.layers.map((l: { name: string }) => l.name)).toEqual(['base', 'over', 'trim']);
    expect(a).toMatchObject({ stored: OURS.stored, final: OURS.final, wasted: { bytes: OURS.wasted } });
    expect(a.wasted.paths[1]).toMatchObject({ path: '/b', storedIn: 'base', hiddenBy: 'trim', how: 'removed' });
    expect(a.dive.wastedBytes).toBe(DIVE.wastedBytes);
  });

  it('the text report names each wasteful path, and dive figures labelled as dive\'s', () => {
    const r = cli(['inspect', tar, '--cache', cache]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wasted: +9\.8 KiB \(13000 B\)|^wasted: +13 KiB \(13000 B\)/m);
    expect(r.stdout).toMatch(/^efficiency: +23\.5 %$/m);
    expect(r.stdout).toContain("dive's count");
    expect(r.stdout).toContain('(17000 B), efficiency 23.5 %, user wasted 425.0 %');
    expect(r.stdout).toMatch(/9\.8 KiB {2}\/data\/a {2}stored by layer 1, overwritten by layer 2/);
    expect(r.stdout).toMatch(/2\.9 KiB {2}\/b {2}stored by layer 1, removed by layer 3/);
  });

  it('--ci fails on dive\'s default thresholds and says which, passes when they allow the waste', () => {
    const fail = cli(['inspect', tar, '--ci', '--cache', cache]);
    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/FAIL {2}lowest efficiency: 23\.5 %, lowest allowed 90\.0 %/);
    expect(fail.stderr).toContain('scratchyard: lowest efficiency failed');
    expect(fail.stderr).toContain('scratchyard: highest user wasted percent failed: 325.0 %, highest allowed 10.0 %');
    const pass = cli(['inspect', tar, '--ci', '--lowest-efficiency', '0.2', '--highest-user-wasted-percent', 'disabled', '--highest-wasted-bytes', '13000', '--cache', cache]);
    expect(pass.code, pass.stdout + pass.stderr).toBe(0);
    expect(pass.stdout).toMatch(/^result: PASS \(2 passed, 0 failed\)$/m);
  });

  it('--ci --dive holds dive\'s figures to the thresholds instead of ours', () => {
    // 13 kB allows our 13000 wasted bytes, not dive's 17000.
    const args = ['inspect', tar, '--ci', '--lowest-efficiency', 'disabled', '--highest-user-wasted-percent', 'disabled', '--highest-wasted-bytes', '13kB', '--cache', cache];
    expect(cli(args).code).toBe(0);
    const dive = cli([...args, '--dive', '--json']);
    expect(dive.code).toBe(1);
    expect(JSON.parse(dive.stdout).ci).toEqual({ figures: 'dive', pass: false, checks: [{ name: 'highest wasted bytes', value: 17000, limit: 13000, pass: false }] });
  });

  it('of an image file keeps its code cache, making the cache folder when there is none', () => {
    // Nothing of the image is stored; without this every inspect of a file compiled the engine anew (~130 ms).
    const none = path.join(tempDir('sy-inspect-cache-'), 'cache');
    const r = cli(['inspect', tar, '--json', '--cache', none]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(none, 'v8')).filter((n) => n.endsWith('.inspect.bin'))).toHaveLength(1);
    // A failed inspect leaves no folder behind.
    const other = path.join(tempDir('sy-inspect-cache-'), 'cache');
    expect(cli(['inspect', path.join(work, 'no-such.tar'), '--cache', other]).code).toBe(1);
    expect(existsSync(other)).toBe(false);
  });

  it('bad thresholds and files that are no image are named', () => {
    const bad = cli(['inspect', tar, '--ci', '--lowest-efficiency', '90', '--cache', cache]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--lowest-efficiency: expected a ratio from 0 to 1');
    const size = cli(['inspect', tar, '--ci', '--highest-wasted-bytes', 'lots', '--cache', cache]);
    expect(size.code).toBe(2);
    expect(size.stderr).toContain('--highest-wasted-bytes: expected a size');
    const notImage = cli(['inspect', path.join(project, 'scratchyard.yaml.bak'), '--cache', cache]);
    expect(notImage.code).toBe(1);
    expect(notImage.stderr).toContain('scratchyard.yaml.bak: no such image or project');
  });
});

describe('scratchyard diff', () => {
  it('lists what changed from one layer to the image, with sizes, and exits 1 with --exit-code', () => {
    const r = cli(['diff', `${tar}#1`, tar, '--cache', cache]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('D  /b  3000 B\nM  /data/a  10000 → 4000 B\n');
    expect(r.stderr).toContain('0 added, 1 removed, 1 changed');
    expect(cli(['diff', `${tar}#1`, tar, '--exit-code', '--cache', cache]).code).toBe(1);
  });

  it('a project and its own docker-archive do not differ', () => {
    const r = cli(['diff', project, tar, '--exit-code', '--cache', cache]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('--filelist is a diff of the checksummed file lists; layers are picked by name in a project', () => {
    const r = cli(['diff', `${project}#base`, `${project}#over`, '--filelist', '--cache', cache]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`--- ${project}#base`);
    expect(lines[1]).toBe(`+++ ${project}#over`);
    expect(lines.slice(2).map((l) => l.slice(0, 10))).toEqual(['-./data/a ', '+./data/a ']);
    expect(cli(['diff', `${project}#nope`, project, '--cache', cache]).stderr).toContain('no layer "nope" (layers: base, over, trim');
  });
});
