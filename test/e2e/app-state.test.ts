// What the window keeps as a user moves about: the recent list offers only
// what is still there, and a recent project that vanished is named without
// unloading the one open; a failed build keeps the views (its form is what the
// user needs next); History opens over the view without squeezing the dock's
// tabs; a new shell takes the keyboard; a new layer's name is replaced by
// typing; unsaved edits are asked about before the page reloads. Screenshots in
// test-results/.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lacks, tempDir } from '../helpers/env';
import { helloCopy, writeProject } from '../helpers/projects';
import { CHROMIUM, SHOTS, closeApp, launchApp, shotsAtSizes } from '../helpers/e2e';

const work = tempDir('sy-e2e-state-');
const project = helloCopy(path.join(work, 'hello'), 'hello:state');
const recipe = path.join(project, 'scratchyard.yaml');
const good = readFileSync(recipe, 'utf8');
const other = writeProject(path.join(work, 'other'), 'name: other\nlayers: []\n');
const vanishing = writeProject(path.join(work, 'vanishing'), 'name: vanishing\nlayers: []\n');
const gone = path.join(work, 'gone');
const config = path.join(work, 'config');
let gui: ChildProcess;
let browser: Browser;
let page: Page;

const recentProjects = () => page.getByRole('list', { name: 'Recent projects' });
const viewTabs = () => page.getByRole('tablist', { name: 'Views' });

/** Build, and wait for the summary to say `outcome` (the line before it says otherwise, or is not there). */
async function build(outcome: RegExp): Promise<void> {
  await page.getByRole('button', { name: 'Build', exact: true }).click();
  await expect.poll(() => page.getByLabel('Last build').textContent(), { timeout: 120_000 }).toMatch(outcome);
}

describe.skipIf(lacks(CHROMIUM))('the window as a user moves about', () => {
  beforeAll(async () => {
    mkdirSync(path.join(config, 'scratchyard'), { recursive: true });
    const entry = (p: string, at: number) => ({ path: p, name: path.basename(p), at });
    writeFileSync(path.join(config, 'scratchyard', 'recent.json'), JSON.stringify({ projects: [entry(gone, 3), entry(vanishing, 2), entry(other, 1)], images: [] }));
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache'), { ...process.env, XDG_CONFIG_HOME: config }));
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.getByRole('list', { name: 'Layers' }).getByText('busybox').first().waitFor();
  });
  afterAll(() => closeApp(browser, gui));

  it('offers only recent projects still there; one that vanished since is named on click, and the open project stays', async () => {
    await expect.poll(() => recentProjects().getByRole('button').allTextContents()).toEqual(['vanishing', 'other']);
    rmSync(vanishing, { recursive: true });
    await recentProjects().getByRole('button', { name: 'vanishing' }).click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'no such file or folder' }).textContent()).toContain(`${vanishing}: no such file or folder`);
    expect(await page.getByRole('listitem', { name: 'Layer app', exact: true }).count()).toBe(1);
    expect(await page.getByRole('alert').filter({ hasText: 'Invalid input' }).count()).toBe(0);
    await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();
  });

  it('a failed build keeps the views in place: the recent list steps aside', async () => {
    writeFileSync(recipe, good.replace('paths: [/bin/bash]', 'paths: [/bin/does-not-exist]'));
    await page.reload();
    await page.getByRole('list', { name: 'Layers' }).getByText('busybox').first().waitFor();
    await build(/^Build failed .*does-not-exist/);
    expect(await page.getByRole('region', { name: 'Recent' }).count()).toBe(0);
    for (const [w, h] of [[1440, 900], [1024, 700]] as const) {
      await page.setViewportSize({ width: w, height: h });
      const tabs = (await viewTabs().boundingBox())!;
      expect(tabs.y, `the view tabs at ${w}×${h}`).toBeLessThan(120);
    }
    await shotsAtSizes(page, 'state-failed-build');
  });

  it('History opens over the view: the dock keeps its Build tab at its width', async () => {
    writeFileSync(recipe, good);
    await page.reload();
    await page.getByRole('list', { name: 'Layers' }).getByText('busybox').first().waitFor();
    await build(/^Built /);
    for (const [w, h] of [[1440, 900], [1024, 700]] as const) {
      await page.setViewportSize({ width: w, height: h });
      const buildTab = page.getByRole('tab', { name: 'Build', exact: true });
      const before = (await buildTab.boundingBox())!;
      await page.getByText(/^History \(\d+\)$/).click();
      await page.getByRole('list', { name: 'Build history' }).waitFor();
      const after = (await buildTab.boundingBox())!;
      expect(after.width, `the Build tab at ${w}×${h}`).toBeCloseTo(before.width, 0);
      expect(after.y).toBeCloseTo(before.y, 0);
      expect(await page.getByRole('list', { name: 'Build history' }).isVisible()).toBe(true);
      await page.screenshot({ path: path.join(SHOTS, `state-history-${w}.png`) });
      await page.getByText(/^History \(\d+\)$/).click();
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('a new shell takes the keyboard; a second one has a name of its own', async () => {
    await page.getByRole('button', { name: 'Open shell' }).click();
    await page.getByRole('region', { name: 'Shell' }).waitFor();
    await expect.poll(() => page.locator('.terminal :focus').count()).toBe(1);
    await page.getByRole('button', { name: 'Open shell' }).click();
    // (a running one's tab ends in "…")
    await expect.poll(async () => (await page.getByRole('tab', { name: /^Shell/ }).allTextContents()).map((t) => t.replace(/ …$/, ''))).toEqual(['Shell', 'Shell 2']);
  });

  it('typing over a new layer\'s name replaces it; a page with unsaved edits asks before it goes', async () => {
    await page.getByRole('button', { name: 'New layer' }).click();
    await page.keyboard.type('extra');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('listitem', { name: 'Layer extra', exact: true }).count()).toBe(1);
    await page.getByRole('status', { name: 'Unsaved changes' }).waitFor();
    // A reload asks (the reloads above, with nothing unsaved, did not: an unanswered question would have stopped them).
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.type();
      void d.accept();
    });
    await page.reload();
    expect(asked).toBe('beforeunload');
    await page.getByRole('list', { name: 'Layers' }).getByText('busybox').first().waitFor();
    expect(await page.getByRole('listitem', { name: 'Layer extra', exact: true }).count()).toBe(0);
  });
});
