// Issue 15, the app keeps state: a reload (or a cold start) shows the last build
// at once from the history and out/, nothing rebuilt; a stopped server shows as
// lost with every engine action off and saying why, and a restarted one is
// taken back with Reconnect. At 1440×900 and 1024×700, screenshots in test-results/.
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lacks, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { CHROMIUM, closeApp, launchApp, openPage, shotsAtSizes, startGui } from '../helpers/e2e';

const work = tempDir('sy-e2e-restore-');
const project = helloCopy(path.join(work, 'hello'), 'hello:restore');
const cache = path.join(work, 'cache');
// A token of our own, given again to the restarted server (through the environment) so the page can reconnect.
const env = { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config'), SCRATCHYARD_GUI_TOKEN: randomBytes(24).toString('base64url') };
let gui: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;

const shots = (name: string) => shotsAtSizes(page, `restore-${name}`);

const summary = () => page.getByLabel('Last build');
/** Run in the page (the page's CSP forbids evaluating strings): is an element matching `css` there? */
const shows = (css: string) => (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(css) !== null;
const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null ? r() : p.once('exit', () => r())));

describe.skipIf(lacks(CHROMIUM))('the app restores its last build and survives a lost server', () => {
  beforeAll(async () => {
    ({ gui, url, browser, page } = await launchApp(project, cache, env));
  });

  afterAll(() => closeApp(browser, gui));

  it('a build ends with a summary line, a separator in the log and a history entry', async () => {
    await expect.poll(() => page.getByRole('list', { name: 'Layers' }).textContent()).toContain('busybox');
    await page.getByRole('button', { name: 'Build', exact: true }).click();
    await expect.poll(() => summary().textContent(), { timeout: 60_000 }).toMatch(/^Built .* in [\d.]+ m?s · \d+ layers? · [\d.]+ (KiB|MiB) · \d+ of them cached · out\/hello\.docker\.tar/);
    expect(await page.getByRole('region', { name: 'Build log' }).textContent()).toMatch(/──── build .* ────/);
    expect(await page.getByText('History (1)').count()).toBe(1);
  });

  it('a reload shows the last build at once, from the history and out/ (nothing rebuilt)', async () => {
    const t0 = Date.now();
    await page.reload();
    await expect.poll(() => summary().textContent()).toMatch(/^Built .* · out\/hello\.docker\.tar/);
    const tree = page.getByRole('tree', { name: 'Image filesystem' });
    await expect.poll(() => tree.getByRole('treeitem', { name: /^bin\// }).count()).toBe(1);
    console.log(`reload → restored build shown: ${Date.now() - t0} ms`);
    // Not rebuilt: the log holds no build, the history still one.
    // (The build log shows only once this page has seen a build run.)
    expect(await page.getByRole('region', { name: 'Build log', includeHidden: true }).count()).toBe(0);
    expect(await page.getByText('History (1)').count()).toBe(1);
    expect(await page.getByText('Nothing built yet').count()).toBe(0);
    // The graph draws as the build ran: every planned node in its end state, the image among them.
    const states = await page.locator('[aria-label="Build graph"] li[data-state]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-id')}=${e.getAttribute('data-state')}`));
    expect(states.length).toBeGreaterThan(5);
    expect(states.filter((s) => !/=(done|cached)$/.test(s))).toEqual([]);
    expect(states.some((s) => s.startsWith('image'))).toBe(true);
    await shots('reloaded');
  });

  it('a cold start (a new server, a new page) shows the restored build', async () => {
    gui.kill('SIGTERM');
    await exited(gui);
    await browser.close();
    const t0 = Date.now();
    ({ gui, url } = await startGui(project, cache, env));
    const t1 = Date.now();
    ({ browser, page } = await openPage(url));
    // Measured in the page, from its navigation's start: first paint, the summary, the tree's first row.
    await page.waitForFunction(shows, '[aria-label="Last build"]', { polling: 'raf' });
    const summaryAt = await page.evaluate(() => performance.now());
    await page.waitForFunction(shows, '[role="tree"] [role="treeitem"]', { polling: 'raf' });
    const treeAt = await page.evaluate(() => performance.now());
    const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1);
    expect(await summary().textContent()).toMatch(/^Built .* · out\/hello\.docker\.tar/);
    console.log(`cold start: server up in ${t1 - t0} ms; in the page: first paint ${Math.round(paint)} ms, restored build shown ${Math.round(summaryAt)} ms, its tree ${Math.round(treeAt)} ms`);
  });

  it('a stopped server shows as lost; engine actions are off and say why', async () => {
    gui.kill('SIGTERM');
    await exited(gui);
    const banner = page.getByRole('alert', { name: 'Engine connection' });
    await expect.poll(() => banner.textContent()).toMatch(/Engine connection lost/);
    const off = async (name: string) => {
      const b = page.getByRole('button', { name, exact: true });
      expect(await b.isDisabled(), name).toBe(true);
      expect(await b.getAttribute('title'), name).toMatch(/Not connected to the engine/);
    };
    for (const name of ['Build', 'Run in chroot', 'Open shell', 'Run in VM', 'Run with options…', 'Open…', 'Open image…']) await off(name);
    // The less-used actions, in the header's ⋯ menu.
    await page.getByRole('button', { name: 'More actions' }).click();
    for (const name of ['Push…', 'Run everywhere']) await off(name);
    await page.keyboard.press('Escape');
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).isDisabled()).toBe(true);
    // What was built stays on screen.
    expect(await summary().textContent()).toMatch(/^Built /);
    await shots('lost');
  });

  it('Reconnect takes a restarted server back and re-reads the project and its last build', async () => {
    const port = Number(new URL(url).port);
    ({ gui, url } = await startGui(project, cache, env, port));
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await expect.poll(() => page.getByRole('alert', { name: 'Engine connection' }).count()).toBe(0);
    await expect.poll(() => page.getByRole('button', { name: 'Build', exact: true }).isDisabled()).toBe(false);
    expect(await page.getByRole('button', { name: 'Build', exact: true }).getAttribute('title')).toBeNull();
    await expect.poll(() => summary().textContent()).toMatch(/^Built .* · out\/hello\.docker\.tar/);
    // And it builds again: a second entry, Compare with previous lists the layers.
    await page.getByRole('button', { name: 'Build', exact: true }).click();
    await expect.poll(() => page.getByText('History (2)').count(), { timeout: 60_000 }).toBe(1);
    await page.getByText('History (2)').click();
    await page.getByRole('button', { name: 'Compare with previous' }).click();
    expect(await page.getByRole('table', { name: 'Compared with the previous build' }).textContent()).toMatch(/app.*same/);
    await shots('reconnected');
  });
});
