// Inspecting images in a real Chromium against browser mode and the real
// engine (issue 6): open the docker-archive a project built, read wasted space
// and efficiency (worked out by hand below), the size map and a click through
// to the explorer, save a file and export a layer, compare two builds, and
// "Use as base" a project that builds the same filesystem.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';
import { CHROMIUM, SHOTS, closeApp, launchApp } from '../helpers/e2e';

const work = tempDir('sy-inspect-');
const home = path.join(work, 'home');
mkdirSync(path.join(home, 'Desktop'), { recursive: true });
const cache = path.join(work, 'cache');

// Contents of known sizes: what the hand-worked figures below are made of.
const BIG = 40_000; // /data/big.bin in layer base, overwritten by top
const BIG2 = 25_000; // /data/big.bin in layer top
const A = 3_000; // /old/a.txt, removed (with /old) by top
const B = 2_000; // /old/b.txt, removed too
const MOTD = 'hello\n';
const fill = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 7) % 251));
const TAG = `sy-inspect-e2e:${process.pid}`;
const RECIPE = `name: waste
tag: ${TAG}
config:
  entrypoint: ["/bin/true"]
layers:
  - name: base
    sources:
      - kind: copy
        src: files/big.bin
        dest: /data/big.bin
      - kind: copy
        src: files/old/
        dest: /old/
      - kind: file
        path: /etc/motd
        content: "${MOTD.replace('\n', '\\n')}"
  - name: top
    sources:
      - kind: copy
        src: files/big2.bin
        dest: /data/big.bin
      - kind: remove
        paths: [/old]
`;
const project = writeProject(path.join(work, 'waste'), RECIPE);
mkdirSync(path.join(project, 'files/old'), { recursive: true });
writeFileSync(path.join(project, 'files/big.bin'), fill(BIG, 3));
writeFileSync(path.join(project, 'files/big2.bin'), fill(BIG2, 5));
writeFileSync(path.join(project, 'files/old/a.txt'), fill(A, 7));
writeFileSync(path.join(project, 'files/old/b.txt'), fill(B, 11));
const archive = path.join(project, 'out/waste.docker.tar');

// By hand: every byte the two layers store, and what the final filesystem never shows.
const STORED = BIG + A + B + MOTD.length + BIG2;
const WASTED = BIG + A + B;
const EFFICIENCY = `${((1 - WASTED / STORED) * 100).toFixed(1)} %`;

let gui: ChildProcess;
let browser: Browser;
let page: Page;


const tree = () => page.getByRole('tree', { name: 'Image filesystem' });
const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, name) });
/** The layer names the app gives an opened image: position and short digest. */
function imageLayerNames(): string[] {
  const list = sh('tar', ['-xOf', archive, 'manifest.json']);
  const m = JSON.parse(list.stdout) as { Layers: string[] }[];
  return m[0].Layers.map((l, i) => `${i + 1} sha256:${/([0-9a-f]{64})/.exec(l)![1].slice(0, 12)}`);
}

async function openImage(p: string): Promise<void> {
  await page.getByRole('button', { name: 'Open image…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Open image' });
  await dialog.getByRole('textbox').fill(p);
  await dialog.getByRole('button', { name: 'Open' }).click();
}

describe.skipIf(lacks(CHROMIUM))('inspecting images', () => {
  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, cache, { ...process.env, HOME: home }));
    await page.getByRole('listitem', { name: 'Layer top', exact: true }).waitFor();
  });

  afterAll(() => closeApp(browser, gui));

  it('says what to do before there is anything to inspect', async () => {
    await page.getByRole('tab', { name: 'Inspect' }).click();
    expect(await page.getByText('Nothing built yet').textContent()).toContain('Open image…');
    await page.getByRole('tab', { name: 'Size map' }).click();
    expect(await page.getByRole('region', { name: 'Size map' }).count()).toBe(0);
    expect(await page.getByText(/to see where the bytes are/).count()).toBe(1);
    await page.getByRole('tab', { name: 'Compare' }).click();
    expect(await page.getByRole('region', { name: 'Comparison' }).getByRole('button', { name: 'Compare' }).isDisabled()).toBe(true);
  });

  it('a path that is no image is named in the error', async () => {
    await openImage(path.join(work, 'no-such.tar'));
    await expect.poll(() => page.getByRole('alert').textContent()).toContain(path.join(work, 'no-such.tar'));
    await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();
    writeFileSync(path.join(work, 'junk.tar'), 'not a tar at all\n');
    await openImage(path.join(work, 'junk.tar'));
    await expect.poll(() => page.getByRole('alert').textContent()).toContain(path.join(work, 'junk.tar'));
    await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();
    // Still the project, still editable.
    expect(await page.getByRole('region', { name: 'Opened image' }).count()).toBe(0);
  });

  it('the project builds its docker-archive, and the Inspect tab shows the last build', async () => {
    await page.getByRole('button', { name: 'Build' }).click();
    await page.getByRole('tab', { name: 'Inspect' }).click();
    const wasted = page.getByLabel('Wasted space');
    await expect.poll(() => wasted.textContent(), { timeout: 60_000 }).toContain(`${WASTED} bytes`);
    expect(existsSync(archive)).toBe(true);
  });

  it('opens the docker-archive read-only with the figures worked out by hand', async () => {
    await openImage(archive);
    const banner = page.getByRole('region', { name: 'Opened image' });
    await expect.poll(() => banner.textContent()).toContain(archive);
    expect(await page.getByRole('button', { name: 'Build' }).isDisabled()).toBe(true);
    expect(await page.getByRole('list', { name: 'Sources' }).count()).toBe(0);
    const names = imageLayerNames();
    expect(names).toHaveLength(2);
    // Each layer read by the command its history records, with its figures; the name stays its handle.
    expect(await page.getByRole('list', { name: 'Layers' }).textContent()).toContain('scratchyard layer top');
    expect(await page.getByRole('listitem', { name: `Layer ${names[1]}` }).textContent()).toMatch(/scratchyard layer top#2 · [\d.]+ KiB · \d+ files?/);

    const wasted = page.getByLabel('Wasted space');
    await expect.poll(() => wasted.textContent()).toContain(`${WASTED} bytes`);
    // "files" in the layer list is the Files column of Inspect's table: one count, the tar's entries.
    const listed = Number(/· (\d+) files?/.exec((await page.getByRole('listitem', { name: `Layer ${names[1]}` }).textContent())!)![1]);
    const row = page.getByRole('table', { name: 'Layers of the image' }).getByRole('row').nth(2);
    expect(Number((await row.getByRole('cell').nth(4).textContent())!.replace(/\D/g, ''))).toBe(listed);
    // One figure leads: ours. dive's follow, explained.
    const eff = page.getByRole('figure', { name: 'Efficiency' });
    expect(await eff.locator('.big').textContent()).toBe(EFFICIENCY);
    // dive counts every copy of a path stored more than once: both copies of /data/big.bin.
    const dive = eff.getByRole('group', { name: "dive's figures" });
    expect(await dive.locator('summary').textContent()).toMatch(/^dive reports efficiency \d+\.\d %, wasted/);
    await dive.locator('summary').click();
    expect(await dive.textContent()).toContain(`(${BIG + BIG2} bytes here)`);
    expect(await dive.textContent()).toMatch(/“user wasted” figure, \d+\.\d %, is that count divided by the bytes of the layers above the first/);

    const layers = page.getByRole('table', { name: 'Layers of the image' });
    const rows = layers.getByRole('row');
    expect(await rows.count()).toBe(3);
    // Each layer by its label, its digest once.
    expect(await rows.nth(1).textContent()).toContain('scratchyard layer base');
    expect(await rows.nth(1).textContent()).toContain(names[0].split(' ')[1]);
    expect(await rows.nth(1).getByRole('cell').nth(3).getAttribute('title')).toBe(`${BIG + A + B + MOTD.length} bytes`);
    expect(await rows.nth(2).getByRole('cell').nth(3).getAttribute('title')).toBe(`${BIG2} bytes`);

    const waste = page.getByRole('table', { name: 'Wasteful paths' });
    const big = waste.getByRole('row', { name: /\/data\/big\.bin/ });
    expect((await big.getByRole('cell').allTextContents()).slice(0, 4)).toEqual(['/data/big.bin', 'scratchyard layer base', 'scratchyard layer top', 'overwritten']);
    expect(await big.getByRole('cell').nth(4).getAttribute('title')).toBe(`${BIG} bytes`);
    const a = waste.getByRole('row', { name: /\/old\/a\.txt/ });
    expect((await a.getByRole('cell').allTextContents()).slice(0, 4)).toEqual(['/old/a.txt', 'scratchyard layer base', 'scratchyard layer top', 'removed']);

    const largest = page.getByRole('table', { name: 'Largest files' });
    await expect.poll(() => largest.getByRole('row').nth(1).textContent()).toContain('/data/big.bin');
    await page.getByRole('combobox', { name: 'Largest in' }).selectOption(names[0]);
    // Layer 1 stored the 40,000-byte copy: that one is its largest.
    await expect.poll(() => largest.getByRole('row').nth(1).getByRole('cell').nth(2).getAttribute('title')).toBe(`${BIG} bytes`);
    await shot('inspect-01-figures.png');
  });

  it('the size map draws blocks, zooms into a folder, and a click selects the file in the explorer', async () => {
    await page.getByRole('tab', { name: 'Size map' }).click();
    const map = page.getByRole('region', { name: 'Size map' });
    await expect.poll(() => map.getByRole('button').count()).toBeGreaterThan(1);
    const block = map.getByRole('button', { name: /^\/data\/big\.bin, / });
    const box = await block.boundingBox();
    const dataBox = await map.getByRole('button', { name: /^\/data\/, / }).boundingBox();
    // The file holds nearly all bytes of the image: its block takes most of the map.
    expect(box!.width * box!.height).toBeGreaterThan(0.5 * dataBox!.width * dataBox!.height);
    await shot('inspect-02-sizemap.png');
    // Zoom into /data (the 6-byte /etc/motd is too small for a block beside it), then back out with the breadcrumb.
    expect(await map.getByRole('button', { name: /^\/etc\/motd, / }).count()).toBe(0);
    // A folder's name strip above its children is its own to click.
    await map.getByRole('button', { name: /^\/data\/, / }).click({ position: { x: 12, y: 6 } });
    const zoom = map.getByRole('navigation', { name: 'Zoom' });
    await expect.poll(() => zoom.textContent()).toBe('/ data');
    await expect.poll(() => map.getByRole('button', { name: /^\/data\/, / }).count()).toBe(0);
    expect(await map.getByRole('button', { name: /^\/data\/big\.bin, / }).count()).toBe(1);
    await zoom.getByRole('button', { name: '/' }).click();
    await expect.poll(() => map.getByRole('button', { name: /^\/data\/, / }).count()).toBe(1);
    // The map of one layer: what layer 1 stores, in its colour, the 40,000-byte copy among it.
    const names = imageLayerNames();
    await map.getByRole('combobox', { name: 'Map of' }).selectOption(names[0]);
    await expect.poll(() => map.getByRole('button', { name: /^\/old\/, / }).count()).toBe(1);
    expect(await map.getByRole('button', { name: /^\/data\/big\.bin, / }).getAttribute('aria-label')).toBe(`/data/big.bin, 39 KiB, layer ${names[0]}`);
    await map.getByRole('combobox', { name: 'Map of' }).selectOption('');
    await expect.poll(() => map.getByRole('button', { name: /^\/old\/, / }).count()).toBe(0);
    expect(await map.getByRole('button', { name: /^\/data\/big\.bin, / }).getAttribute('aria-label')).toBe(`/data/big.bin, 24 KiB, layer ${names[1]}`);
    await map.getByRole('button', { name: /^\/data\/big\.bin, / }).click();
    await expect.poll(() => page.getByRole('tab', { name: 'Explorer' }).getAttribute('aria-selected')).toBe('true');
    const item = tree().getByRole('treeitem', { name: /^big\.bin/ });
    await expect.poll(() => item.getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => page.getByRole('complementary', { name: 'Preview' }).getByRole('heading').textContent()).toBe('/data/big.bin');
  });

  it('Save file writes the bytes to the desktop, never over an earlier save', async () => {
    const preview = page.getByRole('complementary', { name: 'Preview' });
    await preview.getByRole('button', { name: 'Save file' }).click();
    const first = path.join(home, 'Desktop', 'big.bin');
    await expect.poll(() => preview.getByRole('status').textContent()).toContain(first);
    expect(readFileSync(first).equals(fill(BIG2, 5))).toBe(true);
    await preview.getByRole('button', { name: 'Save file' }).click();
    await expect.poll(() => preview.getByRole('status').textContent()).toContain(path.join(home, 'Desktop', 'big-2.bin'));
    expect(readFileSync(first).equals(fill(BIG2, 5))).toBe(true);
  });

  it('Export layer writes the layer tar with its whiteout', async () => {
    const names = imageLayerNames();
    await page.getByRole('tab', { name: 'Inspect' }).click();
    await page.getByRole('button', { name: `Export layer ${names[1]}` }).click();
    const status = page.getByRole('region', { name: 'Inspect' }).getByRole('status');
    await expect.poll(() => status.textContent()).toMatch(/written to /);
    const out = /written to (.*) \(/.exec((await status.textContent())!)![1];
    expect(path.dirname(out)).toBe(path.join(home, 'Desktop'));
    const list = sh('tar', ['-tvf', out]).stdout;
    expect(list).toMatch(/ data\/big\.bin\n/);
    expect(list).toMatch(/ \.wh\.old\n/);
    expect(list).toContain(` ${BIG2} `);
    // Our tar writer is deterministic: the layer we built comes out byte for byte.
    const digest = /([0-9a-f]{64})/.exec((JSON.parse(sh('tar', ['-xOf', archive, 'manifest.json']).stdout) as { Layers: string[] }[])[0].Layers[1])![1];
    expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(digest);
  });

  it('compares two layers of the opened image', async () => {
    const names = imageLayerNames();
    await page.getByRole('tab', { name: 'Compare' }).click();
    const cmp = page.getByRole('region', { name: 'Comparison' });
    await cmp.getByRole('combobox', { name: 'A: layer' }).selectOption(names[0]);
    await cmp.getByRole('combobox', { name: 'B: layer' }).selectOption(names[1]);
    await cmp.getByRole('button', { name: 'Compare' }).click();
    const list = cmp.getByRole('table', { name: 'Changed paths' });
    await expect.poll(() => list.locator('tr.modified', { hasText: '/data/big.bin' }).count()).toBe(1);
    expect(await list.locator('tr.removed', { hasText: '/old/a.txt' }).count()).toBe(1);
    expect(await cmp.getByLabel('Comparison counts').textContent()).toMatch(/3 removed/);
    await shot('inspect-03-compare-layers.png');
  });

  it('opens the OCI layout folder of the same build with the same figures', async () => {
    const oci = path.join(project, 'out/waste.oci');
    await openImage(oci);
    await expect.poll(() => page.getByRole('region', { name: 'Opened image' }).textContent()).toContain(oci);
    await page.getByRole('tab', { name: 'Inspect' }).click();
    await expect.poll(() => page.getByLabel('Wasted space').textContent()).toContain(`${WASTED} bytes`);
    expect(await page.getByRole('figure', { name: 'Efficiency' }).textContent()).toContain(EFFICIENCY);
  });

  it.skipIf(!dockerWorks())('opens what docker save writes of the loaded archive, with the same figures', async () => {
    const saved = path.join(work, 'saved.tar');
    expect(sh('docker', ['load', '-i', archive]).code).toBe(0);
    try {
      expect(sh('docker', ['save', '-o', saved, TAG]).code).toBe(0);
    } finally {
      sh('docker', ['rmi', TAG]);
    }
    await openImage(saved);
    await expect.poll(() => page.getByRole('region', { name: 'Opened image' }).textContent()).toContain(saved);
    await page.getByRole('tab', { name: 'Inspect' }).click();
    await expect.poll(() => page.getByLabel('Wasted space').textContent()).toContain(`${WASTED} bytes`);
    expect(await page.getByRole('figure', { name: 'Efficiency' }).textContent()).toContain(EFFICIENCY);
    expect(await page.getByRole('table', { name: 'Wasteful paths' }).getByRole('row', { name: /\/data\/big\.bin/ }).getByRole('cell').nth(1).getAttribute('title')).toBe(imageLayerNames()[0]);
  });

  it('"Use as base" makes a project of the image that builds the same filesystem', async () => {
    const dir = path.join(work, 'based');
    await page.getByRole('region', { name: 'Opened image' }).getByRole('button', { name: 'Use as base' }).click();
    const dialog = page.getByRole('dialog', { name: 'Use as base' });
    await dialog.getByRole('textbox').fill(dir);
    await dialog.getByRole('button', { name: 'Create project' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Opened image' }).count()).toBe(0);
    // One recipe layer: the image source, whose two layers the build puts under it as they are.
    await expect.poll(() => page.getByRole('list', { name: 'Layers' }).locator(':scope > li').count()).toBe(1);
    expect(await page.locator('header .project').textContent()).toBe('based');
    await page.getByRole('button', { name: 'Build' }).click();
    await page.getByRole('tab', { name: 'Explorer' }).click();
    await expect.poll(() => tree().getByRole('treeitem', { name: /^data\// }).count(), { timeout: 60_000 }).toBe(1);
    expect(await tree().getByRole('treeitem', { name: /^old\// }).count()).toBe(0);
    // The same files, modes, owners and contents as the image it came from, layer for layer.
    const ls = (p: string, ...more: string[]) => cli(['ls', p, ...more, '--cache', cache]);
    expect(ls(dir).stdout).toBe(ls(project).stdout);
    const recipe = readFileSync(path.join(dir, 'scratchyard.yaml'), 'utf8');
    expect(recipe).toMatch(/kind: image\n\s+ref: ".+"\n\s+digest: sha256:[0-9a-f]{64}\n/);
    expect(ls(dir, '--layer', 'base').stdout).toBe(ls(project, '--layer', 'top').stdout);
  });

  it('compares two builds of one project: the changed path is listed', async () => {
    await page.getByRole('button', { name: 'Open…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Open project' });
    await dialog.getByRole('textbox').fill(project);
    await dialog.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('listitem', { name: 'Layer top', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Build' }).click();
    await expect.poll(() => tree().getByRole('treeitem', { name: /^data\// }).count(), { timeout: 60_000 }).toBe(1);
    writeFileSync(path.join(project, 'scratchyard.yaml'), RECIPE.replace('"hello\\n"', '"hello, again\\n"'));
    // The second build has ended when the history holds one more entry (the graph alone may still show the first).
    const builds = async () => Number(/History \((\d+)\)/.exec((await page.getByText(/^History \(\d+\)$/).textContent()) ?? '')?.[1] ?? 0);
    const before = await builds();
    await page.getByRole('button', { name: 'Build' }).click();
    await expect.poll(builds, { timeout: 60_000 }).toBe(before + 1);
    await expect.poll(() => page.getByRole('button', { name: 'Build' }).isDisabled()).toBe(false);
    await page.getByRole('tab', { name: 'Compare' }).click();
    const cmp = page.getByRole('region', { name: 'Comparison' });
    expect(await cmp.getByRole('combobox', { name: 'A: what' }).inputValue()).toBe('previous');
    expect(await cmp.getByRole('combobox', { name: 'B: what' }).inputValue()).toBe('current');
    await cmp.getByRole('button', { name: 'Compare' }).click();
    const list = cmp.getByRole('table', { name: 'Changed paths' });
    await expect.poll(() => list.locator('tbody tr').allTextContents()).toEqual([expect.stringMatching(/^modified\/etc\/motd6 B → 13 B$/)]);
    expect(await cmp.getByLabel('Comparison counts').textContent()).toMatch(/0 added.*1 modified.*0 removed/);
    await shot('inspect-04-compare-builds.png');
    // The same comparison as `scratchyard diff` prints it: the file-list lines of /etc/motd, before and after.
    await cmp.getByRole('checkbox', { name: 'As a file-list diff' }).check();
    const text = cmp.getByLabel('File-list diff', { exact: true });
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    await expect.poll(() => text.textContent()).toBe(
      `--- the previous build\n+++ the current build\n-./etc/motd 0100644-0-0-${sha(MOTD)}\n+./etc/motd 0100644-0-0-${sha('hello, again\n')}\n\n`,
    );
    expect(await cmp.getByRole('list', { name: 'Changed paths' }).isVisible()).toBe(false);
    await cmp.getByRole('checkbox', { name: 'As a file-list diff' }).uncheck();
    // An image path on one side: the archive (built before the edit) against the current build.
    await cmp.getByRole('combobox', { name: 'A: what' }).selectOption('image');
    // The second build rewrote the archive: it holds what the current build holds.
    await cmp.getByRole('textbox', { name: 'A: image path' }).fill(archive);
    await cmp.getByRole('button', { name: 'Compare' }).click();
    await expect.poll(() => cmp.getByLabel('Comparison counts').textContent()).toContain(archive);
    expect(await cmp.getByText('No differences').count()).toBe(1);
  });
});
