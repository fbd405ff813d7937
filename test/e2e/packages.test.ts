// Issue 16 in the app: the Packages view lists the image's Debian packages with
// the host's versions, the layer holding each and the recipe source that
// brought it; the header says whether the last build matched scratchyard.lock,
// and a build that drifted from it lists what changed. Screenshots in test-results/.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lacks, sh, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { CHROMIUM, SHOTS, closeApp, launchApp } from '../helpers/e2e';

const work = tempDir('sy-e2e-packages-');
const project = helloCopy(path.join(work, 'hello'), 'hello:packages');
const lockFile = path.join(project, 'scratchyard.lock');
let gui: ChildProcess;
let browser: Browser;
let page: Page;

async function build(): Promise<void> {
  await page.getByRole('button', { name: 'Build', exact: true }).click();
  await expect.poll(() => page.getByRole('button', { name: 'Build', exact: true }).isDisabled(), { timeout: 120_000 }).toBe(false);
  await expect.poll(() => page.getByLabel('Last build').textContent(), { timeout: 120_000 }).toMatch(/^Built /);
}

describe.skipIf(lacks(CHROMIUM, 'dpkg-query'))('the Packages view and the lock in the header', () => {
  beforeAll(async () => {
    if (existsSync(lockFile)) rmSync(lockFile);
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache'), { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config') }));
  });
  afterAll(() => closeApp(browser, gui));

  it('lists bash at the host\'s version, in the app layer, brought by the host source; the header says locked', async () => {
    await build();
    expect(await page.getByRole('button', { name: 'Lock: locked' }).textContent()).toBe('locked');
    await page.getByRole('tab', { name: 'Packages' }).click();
    const table = page.getByRole('table', { name: 'Debian packages' });
    await expect.poll(() => table.count()).toBe(1);
    const version = sh('dpkg-query', ['-W', '-f', '${Version}', 'bash']).stdout;
    const bash = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'bash', exact: true }) });
    expect(await bash.count()).toBe(1);
    const cells = await bash.getByRole('cell').allTextContents();
    expect(cells.slice(0, 3)).toEqual(['bash', version, 'app']);
    expect(cells[5]).toBe('layers[1].sources[1] (host)');
    // The filter narrows, and says when nothing matches.
    await page.getByRole('searchbox', { name: 'Filter packages' }).fill('libtinfo');
    expect(await table.getByRole('row').count()).toBe(2); // header + libtinfo6
    await page.getByRole('searchbox', { name: 'Filter packages' }).fill('no-such-package-here');
    expect(await page.getByText('No package matches').count()).toBe(1);
    await page.getByRole('searchbox', { name: 'Filter packages' }).fill('');
    for (const [w, h] of [[1440, 900], [1024, 700]] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.screenshot({ path: path.join(SHOTS, `packages-${w}.png`) });
    }
  });

  it('a build that drifted from the lock says so in the header and lists the change', async () => {
    const lock = readFileSync(lockFile, 'utf8');
    expect(lock).toMatch(/"package": "bash", "version": "[^"]+"/);
    writeFileSync(lockFile, lock.replace(/("package": "bash", "version": ")[^"]+"/, '$10.0-not-this"'));
    await build();
    const badge = page.getByRole('button', { name: 'Lock: drifted' });
    expect(await badge.textContent()).toBe('drifted (1)');
    await badge.click();
    const drift = page.getByRole('list', { name: 'Drift since the lock' });
    await expect.poll(() => drift.count()).toBe(1);
    expect(await drift.textContent()).toMatch(/\/bin\/bash: bash 0\.0-not-this → /);
    await page.screenshot({ path: path.join(SHOTS, 'packages-drift.png') });
  });

  it('an opened image (the docker archive just built) lists the same packages, by layer number and without sources', async () => {
    const archive = path.join(project, 'out', readdirSync(path.join(project, 'out')).find((n) => n.endsWith('.docker.tar'))!);
    await page.getByRole('button', { name: 'Open image…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Open image' });
    await dialog.getByLabel(/^Image:/).fill(archive);
    await dialog.getByLabel(/^Image:/).press('Enter');
    await expect.poll(() => page.getByRole('region', { name: 'Opened image' }).count(), { timeout: 60_000 }).toBe(1);
    await page.getByRole('tab', { name: 'Packages' }).click();
    const table = page.getByRole('table', { name: 'Debian packages' });
    await expect.poll(() => table.count(), { timeout: 30_000 }).toBe(1);
    const bash = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'bash', exact: true }) });
    expect(await bash.count()).toBe(1);
    const cells = await bash.getByRole('cell').allTextContents();
    expect(cells[1]).toBe(sh('dpkg-query', ['-W', '-f', '${Version}', 'bash']).stdout);
    expect(await page.getByRole('alert').filter({ hasText: /not a digest/ }).count()).toBe(0);
    // An image has no project, so no lock to speak of.
    expect(await page.getByRole('status', { name: 'Lock' }).count()).toBe(0);
  });

  it('after a reload the restored build lists its packages, and the lock as that build found it (drifted)', async () => {
    await page.reload();
    const badge = page.getByRole('button', { name: 'Lock: drifted' });
    await expect.poll(() => badge.count(), { timeout: 30_000 }).toBe(1);
    await page.getByRole('tab', { name: 'Packages' }).click();
    const table = page.getByRole('table', { name: 'Debian packages' });
    await expect.poll(() => table.count(), { timeout: 30_000 }).toBe(1);
    const bash = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'bash', exact: true }) });
    expect(await bash.count()).toBe(1);
    // As the build listed it, not as the image read back from out/ says it (layer "2", licence unknown, no source).
    const cells = await bash.getByRole('cell').allTextContents();
    expect(cells[2]).toBe('app');
    expect(cells[4]).not.toBe('unknown');
    expect(cells[5]).toBe('layers[1].sources[1] (host)');
    expect(await page.getByText('Nothing built yet').count()).toBe(0);
    expect(await page.getByRole('status', { name: 'Lock' }).textContent()).toMatch(/^Lock: drifted/);
  });
});
