// The window a person keeps open all day (issue 15), in a real Chromium at
// 1440×900 and 1024×700: a header on one row, a dock that collapses, resizes,
// closes its tabs and never leaves the main view less than half the window;
// the filter over the whole tree; an image docker built read by the commands
// that made its layers.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { CHROMIUM, SHOTS, closeApp, launchApp } from '../helpers/e2e';

const work = tempDir('sy-layout-');
const project = helloCopy(path.join(work, 'hello'), 'hello:latest');
const SIZES = [
  { width: 1440, height: 900 },
  { width: 1024, height: 700 },
] as const;

let gui: ChildProcess;
let browser: Browser;
let page: Page;

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, name) });
const tree = () => page.getByRole('tree', { name: 'Image filesystem' });
const box = async (selector: string) => (await page.locator(selector).first().boundingBox())!;

describe.skipIf(lacks(CHROMIUM))('the layout at 1440×900 and 1024×700', () => {
  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache')));
    await page.getByRole('listitem', { name: 'Layer app', exact: true }).waitFor();
  });

  afterAll(() => closeApp(browser, gui));

  it('keeps the header on one row and shows no empty log before a build', async () => {
    for (const size of SIZES) {
      await page.setViewportSize(size);
      const header = await box('.app > header');
      // One row of 26 px buttons and its padding: two rows would be over 60.
      expect(header.height).toBeLessThan(50);
      const tops = await page.locator('.app > header button:visible').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
      expect(new Set(tops).size).toBe(1);
      // Every button is inside the window, none cut off at the right.
      const rights = await page.locator('.app > header button:visible').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right));
      expect(Math.max(...rights)).toBeLessThanOrEqual(size.width);
      expect(await page.getByRole('region', { name: 'Build log' }).count()).toBe(0);
      await shot(`layout-${size.width}-before-build.png`);
    }
  });

  it('an unsaved edit does not move the header', async () => {
    await page.setViewportSize(SIZES[1]);
    const before = await box('.app > header .actions');
    await page.getByRole('button', { name: 'New layer' }).click();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('status', { name: 'Unsaved changes' }).count()).toBe(1);
    const after = await box('.app > header .actions');
    expect(after.x).toBe(before.x);
    expect((await box('.app > header')).height).toBeLessThan(50);
    await shot('layout-1024-unsaved.png');
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Unsaved changes' }).count()).toBe(0);
  });

  it('builds into the dock, which keeps the main view at least half the window, resizes, collapses and closes its tabs', async () => {
    await page.setViewportSize(SIZES[1]);
    await page.getByRole('button', { name: 'Build' }).click();
    await expect.poll(() => tree().getByRole('treeitem', { name: /^bin/ }).count(), { timeout: 60_000 }).toBe(1);
    expect(await page.getByRole('region', { name: 'Build log' }).count()).toBe(1);
    const handle = page.getByRole('separator', { name: 'Resize the bottom panel' });
    // As tall as it goes: the main view still has half the window.
    await handle.focus();
    await page.keyboard.press('End');
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await expect.poll(async () => (await box('.app > main')).height).toBeGreaterThanOrEqual(size.height / 2);
      await shot(`layout-${size.width}-dock-tallest.png`);
    }
    await page.setViewportSize(SIZES[1]);
    const tall = (await box('.dock')).height;
    await handle.focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    await expect.poll(async () => (await box('.dock')).height).toBeLessThan(tall);
    // A drag on the edge resizes too.
    const edge = await handle.boundingBox();
    await page.mouse.move(edge!.x + 200, edge!.y + 3);
    await page.mouse.down();
    await page.mouse.move(edge!.x + 200, edge!.y + 43, { steps: 4 });
    await page.mouse.up();
    await expect.poll(async () => (await box('.dock')).height).toBeLessThan(tall - 60);

    await page.getByRole('button', { name: 'Run in chroot' }).click();
    const run = page.getByRole('tab', { name: /^Run: chroot/ });
    await expect.poll(() => run.count()).toBe(1);
    await expect.poll(() => page.getByRole('region', { name: 'Run: chroot' }).textContent(), { timeout: 20_000 }).toContain('Hello, world!');
    await shot('layout-1024-dock-run.png');

    await page.getByRole('button', { name: 'Collapse the bottom panel' }).click();
    await expect.poll(async () => (await box('.dock')).height).toBeLessThan(40);
    expect((await box('.app > main')).height).toBeGreaterThan(700 - 50 - 40 - 5);
    await shot('layout-1024-dock-collapsed.png');
    await page.getByRole('button', { name: 'Expand the bottom panel' }).click();
    await page.getByRole('button', { name: 'Close Run: chroot' }).click();
    await expect.poll(() => run.count()).toBe(0);
    expect(await page.getByRole('tab', { name: 'Build' }).getAttribute('aria-selected')).toBe('true');
  });

  it('filters the whole tree: a file in a folder never opened, a count, and "no matches"', async () => {
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await page.getByLabel('Filter').fill('libtinfo*');
      const item = tree().getByRole('treeitem', { name: /^libtinfo\.so/ });
      await expect.poll(() => item.count()).toBeGreaterThan(0);
      // Its folders came expanded with it; nothing else is listed at the top.
      expect(await tree().getByRole('treeitem', { name: /^bin$/ }).count()).toBe(0);
      expect(await page.getByRole('status').filter({ hasText: /match/ }).textContent()).toMatch(/^\d+ match(es)?$/);
      await shot(`layout-${size.width}-filter.png`);
    }
    await page.getByLabel('Filter').fill('zz-no-such-file-zz');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'No matches' }).textContent()).toContain('zz-no-such-file-zz');
    expect(await tree().getByRole('treeitem').count()).toBe(0);
    await shot('layout-1024-no-matches.png');
    await page.getByLabel('Filter').fill('');
    await expect.poll(() => tree().getByRole('treeitem', { name: /^bin/ }).count()).toBe(1);
  });

  it('previews a symlink by its target, and folders with chevrons', async () => {
    expect(await tree().getByRole('treeitem', { name: /^bin/ }).locator('.chevron').textContent()).toBe('▸');
    await page.getByLabel('Filter').fill('/bin/sh');
    await tree().getByRole('treeitem', { name: /^sh → busybox/ }).click();
    await expect.poll(() => page.getByRole('complementary', { name: 'Preview' }).textContent()).toContain('Symbolic link to busybox');
    // Matches come with their folders open (/bin, and /usr/bin for its sha*sum applets).
    expect(await tree().getByRole('treeitem', { name: /^bin/ }).first().locator('.chevron').textContent()).toBe('▾');
    await shot('layout-1024-symlink.png');
    await page.getByLabel('Filter').fill('');
  });

  it('a layer view: "Changes only" hides the folders the layer leaves alone; folder sizes are the layer\'s', async () => {
    await page.getByRole('listitem', { name: 'Layer app', exact: true }).getByRole('button', { name: 'app', exact: true }).click();
    const lib = tree().getByRole('treeitem', { name: /^lib\// });
    await expect.poll(() => lib.count()).toBe(1);
    // /lib is the libs layer's: in app's view it holds nothing of app's.
    expect(await lib.locator('.num').textContent()).toBe('0 B');
    await page.getByLabel('Changes only').check();
    await expect.poll(() => page.getByRole('status').filter({ hasText: /match/ }).count()).toBe(1);
    expect(await lib.count()).toBe(0);
    expect(await tree().getByRole('treeitem', { name: /^bin\// }).count()).toBe(1);
    await shot('layout-1024-changes-only.png');
    await page.getByLabel('Changes only').uncheck();
    await page.getByRole('button', { name: 'Whole image' }).click();
  });

  describe.skipIf(!dockerWorks())('an image docker built', () => {
    const tag = `sy-layout-e2e:${process.pid}`;
    const archive = path.join(work, 'docker-made.tar');
    beforeAll(() => {
      // A root filesystem from a local tarball (no registry, no network), then RUN and COPY.
      const ctx = path.join(work, 'ctx');
      mkdirSync(path.join(ctx, 'rootfs/bin'), { recursive: true });
      expect(sh('cp', ['/usr/bin/busybox', path.join(ctx, 'rootfs/bin/busybox')]).code).toBe(0);
      expect(sh('ln', ['-s', 'busybox', path.join(ctx, 'rootfs/bin/sh')]).code).toBe(0);
      expect(sh('tar', ['-C', path.join(ctx, 'rootfs'), '-cf', path.join(ctx, 'rootfs.tar'), '.']).code).toBe(0);
      writeFileSync(path.join(ctx, 'app.txt'), 'app\n');
      writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nADD rootfs.tar /\nRUN mkdir -p /srv/deep/er && echo hi > /srv/deep/er/needle.txt\nCOPY app.txt /app/app.txt\nCMD ["/bin/sh"]\n');
      const b = sh(DOCKER, ['build', '--network', 'none', '-t', tag, path.join(work, 'ctx')], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
      expect(b.code, b.stderr).toBe(0);
      expect(sh(DOCKER, ['save', '-o', archive, tag]).code).toBe(0);
    });
    afterAll(() => void sh(DOCKER, ['rmi', '-f', tag]));

    it('names its layers by the cleaned commands, with sizes, in the stack, the Inspect table and the explorer', async () => {
      await page.setViewportSize(SIZES[1]);
      await page.getByRole('button', { name: 'Open image…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Open image' });
      await dialog.getByRole('textbox').fill(archive);
      await dialog.getByRole('button', { name: 'Open' }).click();
      const layers = page.getByRole('list', { name: 'Layers' });
      await expect.poll(() => layers.textContent(), { timeout: 30_000 }).toContain('RUN mkdir -p /srv/deep/er && echo hi > /srv/deep/er/needle.txt');
      const text = (await layers.textContent())!;
      expect(text).toContain('COPY file:');
      expect(text).toMatch(/ADD file:[0-9a-f]{12}… in \//);
      expect(text).not.toContain('#(nop)');
      expect(text).not.toContain('/bin/sh -c');
      expect(text).toMatch(/#2 · \d+ B · \d+ files?/);
      await shot('layout-1024-image-layers.png');

      await page.getByRole('tab', { name: 'Inspect' }).click();
      const table = page.getByRole('table', { name: 'Layers of the image' });
      await expect.poll(() => table.textContent(), { timeout: 30_000 }).toContain('RUN mkdir -p /srv/deep/er');
      // The digest once, in its own column.
      const row = table.getByRole('row').nth(2);
      expect(((await row.textContent())!.match(/sha256:/g) ?? []).length).toBe(1);
      expect(await page.getByRole('figure', { name: 'Efficiency' }).count()).toBe(1);
      await shot('layout-1024-image-inspect.png');

      await page.getByRole('tab', { name: 'Explorer' }).click();
      await page.getByLabel('Filter').fill('needle');
      const needle = tree().getByRole('treeitem', { name: /^needle\.txt/ });
      await expect.poll(() => needle.count()).toBe(1);
      expect(await needle.textContent()).toContain('RUN mkdir -p');
      await shot('layout-1024-image-explorer.png');
    });
  });
});
