// Issue 15, point 9 (in part): the first Tab reaches a skip link that moves
// focus into the view, and a build started from the keyboard keeps focus on the
// Build / Cancel pair (Cancel while it runs, Build after) instead of dropping it.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lacks, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { CHROMIUM, closeApp, launchApp } from '../helpers/e2e';

const work = tempDir('sy-e2e-keys-');
const project = helloCopy(path.join(work, 'hello'), 'hello:keys');
let gui: ChildProcess;
let browser: Browser;
let page: Page;
/** What has focus, as a person would name it (the page's CSP forbids evaluating strings, so a function). */
const focused = () => page.evaluate(() => {
  const d = (globalThis as unknown as { document: { activeElement: { id?: string; textContent?: string | null; tagName: string } | null } }).document;
  const a = d.activeElement;
  return a ? `${a.tagName.toLowerCase()}#${a.id ?? ''}:${(a.textContent ?? '').trim().slice(0, 40)}` : '';
});

describe.skipIf(lacks(CHROMIUM))('the keyboard', () => {
  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache'), { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config') }));
    await page.getByRole('button', { name: 'Build', exact: true }).waitFor();
  });
  afterAll(() => closeApp(browser, gui));

  it('the first Tab reaches "Skip to the view", and Enter moves focus into the view', async () => {
    // A fresh page: Tab starts from the top of the document.
    await page.reload();
    await page.getByRole('button', { name: 'Build', exact: true }).waitFor();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('a#:Skip to the view');
    await page.keyboard.press('Enter');
    await expect.poll(focused).toMatch(/^div#view:/);
  });

  it('Enter on Build keeps focus on the pair: Cancel while it runs, Build when it is done', async () => {
    await page.getByRole('button', { name: 'Build', exact: true }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByLabel('Last build').count(), { timeout: 120_000 }).toBe(1);
    await expect.poll(() => page.getByRole('button', { name: 'Build', exact: true }).isDisabled()).toBe(false);
    await expect.poll(focused).toBe('button#:Build');
    // And Enter again builds again, from the same place.
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByText(/^History \(2\)$/).count(), { timeout: 120_000 }).toBe(1);
    await expect.poll(focused).toBe('button#:Build');
  });
});
