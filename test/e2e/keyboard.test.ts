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

  it('the view tabs are one tab stop: arrows, Home and End choose the view and keep focus on its tab', async () => {
    const tab = (name: string) => page.getByRole('tab', { name, exact: true });
    await page.getByRole('tab', { selected: true }).first().focus();
    const first = await focused();
    await page.keyboard.press('End');
    await expect.poll(focused).not.toBe(first);
    const last = await focused();
    expect(await page.getByRole('tablist', { name: 'Views' }).getByRole('tab').last().getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('Home');
    await expect.poll(() => tab('Explorer').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => tab('Explorer').getAttribute('aria-selected')).toBe('false');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(focused).toBe('button#view-tab-explorer:Explorer');
    expect(last).not.toBe('button#view-tab-explorer:Explorer');
    // Only the selected tab is in the tab order: Tab leaves the bar for the view.
    expect(await page.getByRole('tablist', { name: 'Views' }).locator('[tabindex="0"]').count()).toBe(1);
  });

  it('the tree: Home, type-ahead, Right into a folder and Left back to it; the selected row is the active descendant', async () => {
    const tree = page.getByRole('tree', { name: 'Image filesystem' });
    await tree.focus();
    const selected = () => tree.locator('[role="treeitem"][aria-selected="true"] .name').textContent();
    await page.keyboard.press('Home');
    await expect.poll(selected).toMatch(/^▸?bin\/$/);
    await page.keyboard.press('i');
    await expect.poll(selected).toBe('init');
    await page.waitForTimeout(800); // a pause ends the typed prefix: "b" is a new one, not "ib"
    await page.keyboard.press('b');
    await expect.poll(selected).toMatch(/bin\/$/);
    await page.keyboard.press('ArrowRight'); // opens bin/
    await expect.poll(() => tree.locator('[role="treeitem"][aria-selected="true"]').getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('ArrowRight'); // its first entry
    await expect.poll(selected).toBe('arch → /bin/busybox');
    await page.waitForTimeout(800);
    await page.keyboard.press('b');
    await page.keyboard.press('a');
    await expect.poll(selected).toBe('base64 → /bin/busybox');
    const active = await tree.getAttribute('aria-activedescendant');
    expect(await page.locator(`#${active}`).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowLeft'); // back to bin/
    await expect.poll(selected).toMatch(/bin\/$/);
    await page.keyboard.press('ArrowLeft'); // closes it
    await expect.poll(() => tree.locator('[role="treeitem"][aria-selected="true"]').getAttribute('aria-expanded')).toBe('false');
    await page.keyboard.press('End');
    await expect.poll(selected).not.toMatch(/bin\/$/);
  });

  it('the palette is one tab stop; Enter on an Add button puts focus in the new source\'s form', async () => {
    const palette = page.getByRole('list', { name: 'Sources' });
    expect(await palette.locator('button[tabindex="0"]').count()).toBe(1);
    await palette.locator('button[tabindex="0"]').focus();
    await page.keyboard.press('End');
    await expect.poll(focused).toBe('button#:+');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } } }).document.activeElement.getAttribute('aria-label'))).toBe('New stage');
    await page.keyboard.press('Home');
    for (let i = 0; i < 20; i++) {
      const label = await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } } }).document.activeElement.getAttribute('aria-label'));
      if (label === 'Add Symlink') break;
      await page.keyboard.press('ArrowDown');
    }
    await page.keyboard.press('Enter');
    const form = page.getByRole('form', { name: /^symlink source of layer/ });
    await expect.poll(() => form.count()).toBe(1);
    await expect.poll(focused).toMatch(/^input#f-path:/);
  });

  it("Chromium's accessibility tree: every control has a name, and the header's names are distinct", async () => {
    const cdp = await page.context().newCDPSession(page);
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { ignored: boolean; role?: { value: string }; name?: { value: string }; nodeId: string; parentId?: string }[] };
    const controls = nodes.filter((n) => !n.ignored && ['button', 'tab', 'treeitem', 'link', 'textbox', 'searchbox', 'combobox', 'checkbox', 'menuitem', 'option'].includes(n.role?.value ?? ''));
    expect(controls.length).toBeGreaterThan(20);
    const unnamed = controls.filter((n) => !(n.name?.value ?? '').trim()).map((n) => n.role?.value);
    expect(unnamed).toEqual([]);
    const header = await page.locator('header').getByRole('button').evaluateAll((els) => els.filter((e) => (e as unknown as { offsetParent: unknown }).offsetParent !== null).map((e) => e.getAttribute('aria-label') ?? (e.textContent ?? '').trim()));
    expect(new Set(header).size).toBe(header.length);
    await cdp.detach();
  });
});
