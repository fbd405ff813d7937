// Open without typing (issue 15 point 8): in browser mode, Open…, New…, Open
// image… and Use as base browse the host's folders (files.list) from a place
// (home, the project, recent folders). A project is opened, one made, a
// docker-archive and an OCI layout opened and a project made on the image, all
// by clicking; then the keyboard alone (type-ahead, arrows, Backspace, Enter);
// a typed path that is missing or relative is refused naming it; and the
// dialogs are photographed at 1440×900 and 1024×700.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, lacks, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';
import { CHROMIUM, SHOTS, closeApp, launchApp } from '../helpers/e2e';

const work = tempDir('sy-files-e2e-');
const home = path.join(work, 'home');
const cache = path.join(work, 'cache');
const recipe = (name: string) => `name: ${name}\nlayers:\n  - name: one\n    sources:\n      - kind: file\n        path: /etc/motd\n        content: "from ${name}\\n"\n`;
const start = writeProject(path.join(home, 'start'), recipe('start'));
writeProject(path.join(home, 'projects', 'second'), recipe('second'));
mkdirSync(path.join(home, 'projects', 'empty-one'));
mkdirSync(path.join(home, 'based-here'));
const arch = writeProject(path.join(home, 'images', 'arch'), recipe('arch'));
const archive = path.join(arch, 'out', 'arch.docker.tar');
const layout = path.join(arch, 'out', 'arch.oci');

let gui: ChildProcess;
let browser: Browser;
let page: Page;

const header = () => page.locator('header .project');
const option = (dialog: ReturnType<Page['getByRole']>, name: string) => dialog.getByRole('listbox', { name: /^Files in / }).getByRole('option', { name, exact: true });
const place = (dialog: ReturnType<Page['getByRole']>, name: string) => dialog.getByRole('group', { name: 'Places' }).getByRole('button', { name, exact: true });
/** The listbox is showing `dir`. */
const showing = (dialog: ReturnType<Page['getByRole']>, dir: string) => dialog.getByRole('listbox', { name: `Files in ${dir}`, exact: true }).waitFor();
const field = (dialog: ReturnType<Page['getByRole']>) => dialog.getByRole('textbox');
/** The page's document, typed by hand (the tests compile without the DOM's types). */
interface Doc {
  activeElement: unknown;
  getElementById(id: string): { getAttribute(name: string): string | null } | null;
}

describe.skipIf(lacks(CHROMIUM))('the file browser: open without typing', () => {
  beforeAll(async () => {
    const built = cli(['build', arch, '--cache', cache]);
    expect(built.code, built.stderr).toBe(0);
    expect(existsSync(archive) && existsSync(path.join(layout, 'oci-layout'))).toBe(true);
    ({ gui, browser, page } = await launchApp(start, cache, { ...process.env, HOME: home, XDG_CONFIG_HOME: '' }));
    await page.getByRole('listitem', { name: 'Layer one', exact: true }).waitFor();
  }, 120_000);

  afterAll(() => closeApp(browser, gui));

  it('Open…: from Home, through two folders, a project opened by clicks alone', async () => {
    await page.getByRole('button', { name: 'Open…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Open project' });
    // It starts in the project, its field holding the folder.
    await showing(dialog, start);
    expect(await field(dialog).inputValue()).toBe(start);
    await place(dialog, 'Home').click();
    await showing(dialog, home);
    // Folders first, by name; dot-files (the config folder) left out until asked for.
    const names = () => dialog.getByRole('listbox').getByRole('option').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    expect(await names()).toEqual(['based-here (folder)', 'images (folder)', 'projects (folder)', 'start (folder) (project)']);
    await dialog.getByRole('checkbox', { name: /Hidden files \(1\)/ }).check();
    await option(dialog, '.config (folder)').waitFor();
    await dialog.getByRole('checkbox', { name: /Hidden files/ }).uncheck();
    await expect.poll(() => option(dialog, '.config (folder)').count()).toBe(0);
    await option(dialog, 'projects (folder)').click();
    await showing(dialog, path.join(home, 'projects'));
    await option(dialog, 'second (folder) (project)').click();
    await showing(dialog, path.join(home, 'projects', 'second'));
    expect(await field(dialog).inputValue()).toBe(path.join(home, 'projects', 'second'));
    await dialog.getByRole('button', { name: 'Open', exact: true }).click();
    await expect.poll(() => header().textContent()).toBe('second');
    expect(await dialog.count()).toBe(0);
  });

  it('New…: an empty folder picked by clicks becomes a project; the recent folders are places', async () => {
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('button', { name: 'New…' }).click();
    const dialog = page.getByRole('dialog', { name: 'New project' });
    // New starts beside the project; the project before it is a recent place.
    await showing(dialog, path.join(home, 'projects'));
    await place(dialog, 'Recent folder start').waitFor();
    await option(dialog, 'empty-one (folder)').click();
    await showing(dialog, path.join(home, 'projects', 'empty-one'));
    expect(await dialog.getByRole('status').textContent()).toBe('Empty folder');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => header().textContent()).toBe('empty-one');
    expect(existsSync(path.join(home, 'projects', 'empty-one', 'scratchyard.yaml'))).toBe(true);
  });

  it('Open image…: a docker-archive by a double click, a project on it by "Use as base", an OCI layout by a click and Open', async () => {
    await page.getByRole('button', { name: 'Open image…' }).click();
    let dialog = page.getByRole('dialog', { name: 'Open image' });
    await place(dialog, 'Home').click();
    await option(dialog, 'images (folder)').click();
    await option(dialog, 'arch (folder) (project)').click();
    await option(dialog, 'out (folder)').click();
    await showing(dialog, path.join(arch, 'out'));
    // The OCI layout is marked as one; the archive's size is shown.
    await option(dialog, 'arch.oci (folder) (OCI layout)').waitFor();
    expect(await option(dialog, 'arch.docker.tar').textContent()).toMatch(/10(\.0)? KiB/);
    await option(dialog, 'arch.docker.tar').dblclick();
    const banner = page.getByRole('region', { name: 'Opened image' });
    await expect.poll(() => banner.textContent(), { timeout: 60_000 }).toContain(archive);

    await banner.getByRole('button', { name: 'Use as base' }).click();
    dialog = page.getByRole('dialog', { name: 'Use as base' });
    // It starts where the image is.
    await showing(dialog, path.join(arch, 'out'));
    await place(dialog, 'Home').click();
    await option(dialog, 'based-here (folder)').click();
    await showing(dialog, path.join(home, 'based-here'));
    await dialog.getByRole('button', { name: 'Create project' }).click();
    await expect.poll(() => banner.count(), { timeout: 60_000 }).toBe(0);
    expect(existsSync(path.join(home, 'based-here', 'scratchyard.yaml'))).toBe(true);

    await page.getByRole('button', { name: 'Open image…' }).click();
    dialog = page.getByRole('dialog', { name: 'Open image' });
    await place(dialog, 'Recent folder out').click();
    await option(dialog, 'arch.oci (folder) (OCI layout)').click();
    expect(await field(dialog).inputValue()).toBe(layout);
    await dialog.getByRole('button', { name: 'Open', exact: true }).click();
    await expect.poll(() => banner.textContent(), { timeout: 60_000 }).toContain(layout);
    await banner.getByRole('button', { name: 'Back to the project' }).click();
    await expect.poll(() => banner.count()).toBe(0);
  });

  it('the keyboard alone: up with Backspace, type-ahead, arrows, Enter into a folder and on the recipe', async () => {
    await page.getByRole('button', { name: 'Open…' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Open project' });
    const list = dialog.getByRole('listbox', { name: /^Files in / });
    await showing(dialog, path.join(home, 'based-here'));
    // The path field has focus; Tab reaches the list.
    const hasFocus = (e: unknown, d: Doc = (globalThis as unknown as { document: Doc }).document) => e === d.activeElement;
    expect(await field(dialog).evaluate(hasFocus)).toBe(true);
    await page.keyboard.press('Tab');
    expect(await list.evaluate(hasFocus)).toBe(true);
    await page.keyboard.press('Backspace');
    await showing(dialog, home);
    // Up: the folder come out of is selected.
    const active = () =>
      list.evaluate((e) => (globalThis as unknown as { document: Doc }).document.getElementById(e.getAttribute('aria-activedescendant') ?? '')?.getAttribute('aria-label'));
    expect(await active()).toBe('based-here (folder) (project)');
    await page.keyboard.press('End');
    expect(await active()).toBe('start (folder) (project)');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    expect(await active()).toBe('images (folder)');
    // The field follows the selection: it is what Open acts on.
    expect(await field(dialog).inputValue()).toBe(path.join(home, 'images'));
    await page.keyboard.type('pro');
    expect(await active()).toBe('projects (folder)');
    await page.keyboard.press('Enter');
    await showing(dialog, path.join(home, 'projects'));
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await active()).toBe('second (folder) (project)');
    await page.keyboard.press('Enter');
    await showing(dialog, path.join(home, 'projects', 'second'));
    // A folder gone into has nothing selected: the field holds it (Open would open it).
    expect(await active()).toBeUndefined();
    expect(await field(dialog).inputValue()).toBe(path.join(home, 'projects', 'second'));
    await page.keyboard.press('ArrowDown');
    expect(await active()).toBe('scratchyard.yaml');
    await page.keyboard.press('Enter');
    await expect.poll(() => header().textContent()).toBe('second');
    expect(await dialog.count()).toBe(0);
  });

  it('a typed path that is missing, relative or unreadable is refused in the dialog, naming it; Escape closes it', async () => {
    const before = await header().textContent();
    await page.getByRole('button', { name: 'Open…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Open project' });
    const missing = path.join(work, 'no', 'such', 'folder');
    await field(dialog).fill(missing);
    await field(dialog).press('Enter');
    await expect.poll(() => dialog.getByRole('alert').textContent()).toBe(`${missing}: no such file or folder`);
    await field(dialog).fill('projects/second');
    await field(dialog).press('Enter');
    await expect.poll(() => dialog.getByRole('alert').textContent()).toContain('"projects/second" is relative: give an absolute path');
    // Root reads any folder: the permission refusal can only be seen as another user.
    const locked = path.join(work, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o000);
    if (process.getuid?.() !== 0) {
      await field(dialog).fill(locked);
      await field(dialog).press('Enter');
      await expect.poll(() => dialog.getByRole('alert').textContent()).toBe(`${locked}: cannot be read (permission denied)`);
    }
    chmodSync(locked, 0o755);
    // A folder typed in is gone into, and the error goes.
    await field(dialog).fill(path.join(home, 'images'));
    await field(dialog).press('Enter');
    await showing(dialog, path.join(home, 'images'));
    expect(await dialog.getByRole('alert').count()).toBe(0);
    // Nothing was opened.
    expect(await header().textContent()).toBe(before);
    await page.keyboard.press('Escape');
    expect(await dialog.count()).toBe(0);
  });

  it('a dialog keeps the keyboard: Tab cycles inside it, and closed, focus is back on the button that opened it', async () => {
    // Evaluated in the page (the tests' types have no DOM).
    const focusedIn = (name: string) => page.evaluate<boolean>(`(() => { const d = document.activeElement?.closest('[role="dialog"]'); return !!d && (d.getAttribute('aria-label') ?? document.getElementById(d.getAttribute('aria-labelledby') ?? '')?.textContent) === ${JSON.stringify(name)}; })()`);
    const focusedName = () => page.evaluate<string | null | undefined>(`document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent`);
    for (const [button, name] of [
      ['Open image…', 'Open image'],
      ['Run with options…', 'Run the image'],
    ] as const) {
      const opener = page.getByRole('button', { name: button });
      await opener.focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name });
      await dialog.waitFor();
      expect(await dialog.getAttribute('aria-modal')).toBe('true');
      // Far more Tabs than the dialog has controls, both ways: focus never reaches the page behind.
      for (const key of ['Tab', 'Shift+Tab']) {
        for (let i = 0; i < 70; i++) {
          await page.keyboard.press(key);
          expect(await focusedIn(name), `${name}: ${key} ${i + 1}`).toBe(true);
        }
      }
      await page.keyboard.press('Escape');
      await expect.poll(() => dialog.count()).toBe(0);
      expect(await focusedName()).toBe(button);
    }
  });

  for (const [w, h] of [
    [1440, 900],
    [1024, 700],
  ] as const) {
    it(`the dialogs fit a ${w}×${h} window`, { timeout: 180_000 }, async () => {
      await page.setViewportSize({ width: w, height: h });
      for (const [button, name] of [
        ['Open image…', 'Open image'],
        ['Open…', 'Open project'],
      ] as const) {
        await page.getByRole('button', { name: button }).click();
        const dialog = page.getByRole('dialog', { name });
        // The folder of the built image: folders, files with sizes, an OCI layout marked.
        await place(dialog, 'Recent folder out').click();
        await showing(dialog, path.join(arch, 'out'));
        if (name === 'Open image') await expect.poll(() => dialog.getByText('Listing the local docker and podman images…').count(), { timeout: 60_000 }).toBe(0);
        const box = (await dialog.boundingBox())!;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.y + box.height).toBeLessThanOrEqual(h);
        expect(box.x + box.width).toBeLessThanOrEqual(w);
        // The list shows several rows, and the button that acts is on screen.
        expect((await dialog.getByRole('listbox', { name: /^Files in / }).boundingBox())!.height).toBeGreaterThanOrEqual(140);
        const go = (await dialog.getByRole('button', { name: 'Open', exact: true }).boundingBox())!;
        expect(go.y + go.height).toBeLessThanOrEqual(h);
        await page.screenshot({ path: path.join(SHOTS, `file-browser-${name === 'Open image' ? 'image' : 'project'}-${w}x${h}.png`) });
        await page.keyboard.press('Escape');
        expect(await dialog.count()).toBe(0);
      }
    });
  }
});
