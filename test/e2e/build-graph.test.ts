// Issue 15 point 7: the build graph drawn as a graph in the dock's Build tab —
// nodes in columns (sources → layers → image → outputs) joined by edges, each
// with its state in word and colour and its time; a rebuild shows cached
// nodes, a failing build its failed node and what did not run; the nodes are
// one tab stop walked with the arrow keys; the log stays read-only and out of
// the tab order. At 1440×900 and 1024×700, screenshots in test-results/.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lacks, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { CHROMIUM, closeApp, launchApp, shotsAtSizes } from '../helpers/e2e';

const work = tempDir('sy-e2e-graph-');
const project = helloCopy(path.join(work, 'hello'), 'hello:graph');
let gui: ChildProcess;
let browser: Browser;
let page: Page;

const shots = (name: string) => shotsAtSizes(page, `build-graph-${name}`);

const graph = () => page.getByRole('list', { name: 'Build graph' });
const total = () => page.getByLabel('Build graph total');
const node = (id: string) => graph().locator(`[data-id="${id}"]`);
const stateOf = (id: string) => node(id).getAttribute('data-state');
const box = async (id: string) => (await node(id).boundingBox())!;
/** A build's end: the total line has its time once the build is over. */
const ended = /^13 nodes · .* · [\d.]+ m?s$/;

describe.skipIf(lacks(CHROMIUM))('the build graph', () => {
  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache')));
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.getByRole('list', { name: 'Layers' }).getByText('busybox').first().waitFor();
  });

  afterAll(() => closeApp(browser, gui));

  it('a build draws its nodes in columns, joined by edges, each with a state and a time', async () => {
    await page.getByRole('button', { name: 'Build', exact: true }).click();
    await expect.poll(() => total().textContent(), { timeout: 60_000 }).toMatch(ended);
    expect(await total().textContent()).toMatch(/^13 nodes · 13 done · 0 cached · /);
    // One build, one time: the graph's total is the figure the summary above the log gives.
    const built = /^Built .* in ([\d.]+ m?s) · /.exec((await page.getByLabel('Last build').textContent()) ?? '');
    expect(built, 'the summary gives the build time').not.toBeNull();
    expect((await total().textContent())!.endsWith(` · ${built![1]}`)).toBe(true);
    const items = graph().getByRole('listitem');
    expect(await items.count()).toBe(13);
    // State in words (and a time) in each node's name, not in colour alone.
    for (const id of ['source:app:0', 'layer:libs', 'layer:app', 'image', 'export:docker', 'sbom']) {
      expect(await node(id).getAttribute('aria-label'), id).toMatch(/: done, \d+(\.\d+)? m?s/);
      expect(await node(id).textContent(), id).toMatch(/done/);
    }
    expect(await node('image').getAttribute('aria-label')).toMatch(/^image hello:graph: done, .*; reads layer libs, layer app$/);
    // Columns by depth: a source, its layer, the image, an output, left to right.
    const xs = await Promise.all(['source:app:0', 'layer:app', 'image', 'export:docker'].map(async (id) => (await box(id)).x));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(new Set(xs).size).toBe(4);
    // The edges: libs reads the 5 sources of app; each layer its sources; the image both layers; sbom and the 3 exports the image.
    const edges = page.locator('svg.graph-edges path');
    expect(await edges.count()).toBe(5 + 1 + 5 + 2 + 1 + 3);
    expect(await page.locator('svg.graph-edges path[data-from="layer:app"][data-to="image"]').count()).toBe(1);
    expect(await page.locator('svg.graph-edges path[data-from="image"][data-to="export:oci"]').count()).toBe(1);
    await shots('built');
  });

  it('fits the dock at 1024×700: the graph scrolls inside it, the main view keeps its half', async () => {
    await page.setViewportSize({ width: 1024, height: 700 });
    const dock = (await page.getByRole('contentinfo', { name: 'Bottom panel' }).boundingBox())!;
    const scroller = (await page.locator('.graph-scroll').boundingBox())!;
    expect(scroller.x + scroller.width).toBeLessThanOrEqual(1024);
    expect(scroller.y + scroller.height).toBeLessThanOrEqual(dock.y + dock.height + 1);
    expect(dock.height).toBeLessThanOrEqual(350);
    // The last column is reached by scrolling, not cut off.
    await node('export:rootfs').scrollIntoViewIfNeeded();
    const out = await box('export:rootfs');
    expect(out.x + out.width).toBeLessThanOrEqual(1024);
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('the nodes are one tab stop, walked with the arrow keys; the log is read-only and out of the tab order', async () => {
    expect(await graph().locator('[tabindex="0"]').count()).toBe(1);
    await node('source:app:0').focus();
    const focused = () => page.locator(':focus').getAttribute('data-id');
    await page.keyboard.press('ArrowDown');
    expect(await focused()).toBe('source:app:1');
    await page.keyboard.press('ArrowRight');
    // One column right, preferring a node that reads this one: layer app (or libs's source).
    expect(['layer:app', 'source:libs:0']).toContain(await focused());
    await page.keyboard.press('End');
    const last = await focused();
    expect(last).toMatch(/^(export:|sbom)/);
    // Tab leaves the graph at once (one stop), and the roving stop stays where the arrows left it.
    expect(await graph().locator('[tabindex="0"]').getAttribute('data-id')).toBe(last);
    await page.keyboard.press('Tab');
    expect(await graph().locator(':focus').count()).toBe(0);
    const log = page.getByRole('region', { name: 'Build log' });
    const input = log.locator('textarea');
    expect(await input.getAttribute('tabindex')).toBe('-1');
    expect(await input.isEditable()).toBe(false);
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      expect(await log.locator(':focus').count()).toBe(0);
    }
  });

  it('a second build shows the layers and outputs cached', async () => {
    await page.getByRole('button', { name: 'Build', exact: true }).click();
    await expect.poll(() => total().textContent(), { timeout: 60_000 }).toMatch(/^13 nodes · \d+ done · 6 cached · [\d.]+ m?s$/);
    for (const id of ['layer:libs', 'layer:app', 'sbom', 'export:docker', 'export:oci', 'export:rootfs']) expect(await stateOf(id), id).toBe('cached');
    expect(await node('layer:app').textContent()).toMatch(/↺ layer app cached/);
    await shots('cached');
  });

  it('a failing build marks the failed node, and what never ran', async () => {
    const file = path.join(project, 'scratchyard.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('      - kind: busybox\n', '      - kind: busybox\n      - kind: copy\n        src: no-such-file.txt\n        dest: /etc/x\n'));
    await page.reload();
    await expect.poll(() => page.getByRole('list', { name: 'Layers' }).textContent()).toContain('copy');
    await page.getByRole('button', { name: 'Build', exact: true }).click();
    await expect.poll(() => stateOf('source:app:1'), { timeout: 60_000 }).toBe('failed');
    await expect.poll(() => total().textContent()).toMatch(/^14 nodes · .*1 failed.* not run · [\d.]+ m?s$/);
    expect(await node('source:app:1').getAttribute('aria-label')).toMatch(/^app: copy: failed/);
    expect(await node('source:app:1').getAttribute('title')).toContain('no-such-file.txt');
    for (const id of ['layer:app', 'image', 'export:docker']) expect(await stateOf(id), id).toBe('not run');
    await shots('failed');
  });
});
