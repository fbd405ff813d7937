// Issue 13 in the app: the run dialog passes docker's run flags (env, user,
// workdir, entrypoint, command) to the chroot runner and shows a bad value at
// its field; a host source's Trace shows what python really used (kept files
// with their bytes, dropped paths and why, a total) and the traced command
// runs in every runner from the results table.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lacks, tempDir } from '../helpers/env';
import { copyExample, helloCopy } from '../helpers/projects';
import { CHROMIUM, closeApp, launchApp, shotsAtSizes } from '../helpers/e2e';

const work = tempDir('sy-e2e-run-trace-');
const shots = shotsAtSizes;

describe.skipIf(lacks(CHROMIUM))('the run dialog', () => {
  const project = helloCopy(path.join(work, 'hello'), 'hello:latest');
  let gui: ChildProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache')));
    await page.locator('header .project', { hasText: 'hello' }).waitFor();
  });

  afterAll(() => closeApp(browser, gui));

  it('entrypoint, command, env, user and workdir reach the program in the chroot', async () => {
    await page.getByRole('button', { name: 'Run with options…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run the image' });
    // The first field has the focus: typing goes straight in.
    await page.keyboard.type(`-c 'echo "greeting=$GREETING"; id -u; id -g; pwd'`);
    await dialog.getByLabel('Entrypoint').fill('/bin/sh');
    await dialog.getByLabel('Environment').fill('GREETING=hi there\nOTHER=1');
    await dialog.getByLabel('User').fill('1000:1001');
    await dialog.getByLabel('Working folder').fill('/tmp');
    expect(await dialog.getByLabel('As docker run flags').textContent()).toBe(
      `--entrypoint /bin/sh -e 'GREETING=hi there' -e OTHER=1 --user 1000:1001 --workdir /tmp -- -c 'echo "greeting=$GREETING"; id -u; id -g; pwd'`,
    );
    await shots(page, 'run-dialog');
    // Enter in a field runs (chroot, in a terminal) and closes the dialog.
    await dialog.getByLabel('User').press('Enter');
    await expect.poll(() => dialog.count()).toBe(0);
    const term = page.getByRole('region', { name: 'Run: chroot' });
    await expect.poll(() => term.textContent(), { timeout: 60_000 }).toContain('greeting=hi there');
    await expect.poll(() => page.locator('.runs .result:visible').textContent(), { timeout: 30_000 }).toMatch(/exit code 0/);
    const out = (await term.textContent()) ?? '';
    expect(out).toMatch(/1000\s*1001\s*\/tmp/);
  });

  it('the options are remembered, the header buttons use them, and a bad value is shown at its field', async () => {
    expect(await page.getByRole('button', { name: 'Run with options…' }).getAttribute('aria-description')).toMatch(/^in use: --entrypoint \/bin\/sh/);
    // The header's chroot button runs with the remembered options.
    await page.getByRole('button', { name: 'Run in chroot' }).click();
    await expect.poll(() => page.getByRole('tab', { name: /^Run: chroot/ }).count(), { timeout: 30_000 }).toBe(2);
    await expect.poll(() => page.getByRole('region', { name: 'Run: chroot' }).textContent(), { timeout: 60_000 }).toContain('greeting=hi there');

    await page.getByRole('button', { name: 'Run with options…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run the image' });
    expect(await dialog.getByLabel('User').inputValue()).toBe('1000:1001');
    const user = dialog.getByLabel('User');
    await user.fill('not a user!');
    await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/expected a user, optionally with a group/);
    expect(await user.getAttribute('aria-invalid')).toBe('true');
    expect(await user.getAttribute('aria-describedby')).toContain('run-user-err');
    await dialog.getByLabel('Timeout (seconds)').fill('soon');
    await expect.poll(() => dialog.getByRole('alert').allTextContents()).toEqual([expect.stringMatching(/expected a user/), 'expected a number of seconds above 0, got "soon"']);
    expect(await dialog.getByRole('button', { name: 'Run', exact: true }).isDisabled()).toBe(true);
    expect(await dialog.getByLabel('As docker run flags').textContent()).toBe('Fix User, Timeout (seconds) to run.');
    await shots(page, 'run-dialog-error');
    // A header button with a bad option opens the dialog at the problem instead of running.
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    // The focus is back on the button that opened the dialog.
    expect(await page.getByRole('button', { name: 'Run with options…' }).evaluate((el) => el.matches(':focus'))).toBe(true);
    await page.getByRole('button', { name: 'Run in docker' }).click();
    await expect.poll(() => dialog.count()).toBe(1);
    expect(await dialog.getByRole('alert').first().textContent()).toMatch(/expected a user/);
    await dialog.getByRole('button', { name: 'Reset' }).click();
    await expect.poll(() => dialog.getByRole('alert').count()).toBe(0);
    expect(await dialog.getByLabel('As docker run flags').textContent()).toBe("The image's own config, as it is.");
    await page.keyboard.press('Escape');
  });
});

describe.skipIf(lacks(CHROMIUM, 'strace', '/usr/bin/python3'))('Trace on a host source', () => {
  const project = copyExample('python', path.join(work, 'python'));
  let gui: ChildProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache-py')));
    await page.locator('header .project', { hasText: 'python' }).waitFor();
  });

  afterAll(() => closeApp(browser, gui));

  it('Trace in the layer stack shows the kept stdlib files with their bytes, the dropped paths and why, and a total', async () => {
    const listFile = path.join(project, 'scratchyard.trace/python3-63845b762164.txt');
    const before = readFileSync(listFile, 'utf8');
    await page.getByRole('button', { name: 'Trace host source of python' }).click();
    const form = page.getByRole('form', { name: 'host source of layer python' });
    expect(await form.getByLabel(/Trace commands/).inputValue()).toBe(`/usr/bin/python3 -c 'import json, sqlite3, ssl; ssl.create_default_context()'`);
    const panel = form.getByRole('region', { name: 'Trace' });
    const kept = panel.getByRole('table', { name: 'Kept files' });
    await expect.poll(() => kept.locator('tbody tr').count(), { timeout: 60_000 }).toBeGreaterThan(50);
    const rows = await kept.locator('tbody tr').allTextContents();
    expect(rows).toContainEqual(expect.stringMatching(/^\/usr\/lib\/python3\.\d+\/json\/__init__\.py\d/));
    expect(rows).toContainEqual(expect.stringMatching(/^\/usr\/lib\/python3\.\d+\/json\/__pycache__\/__init__\.cpython-\d+\.pyc[\d.]+ (B|KB|kB|KiB)/));
    expect(await panel.getByLabel('Trace total').textContent()).toMatch(/^[\d.]+ (MB|MiB) added by \d+ traced files/);
    // Host state is dropped, with why.
    await panel.getByText(/paths? not taken, and why$/).click();
    const dropped = await panel.getByRole('table', { name: 'Dropped paths' }).locator('tbody tr').allTextContents();
    expect(dropped).toContainEqual(expect.stringMatching(/^\/etc\/ld\.so\.cachethe host's loader cache/));
    // The list the build reads was written again, the same on this machine.
    expect(readFileSync(listFile, 'utf8')).toBe(before);
    await panel.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await shots(page, 'trace-panel');
  });

  it('Check in every runner: the traced command has a row in the results table, succeeding in the chroot', async () => {
    await page.getByRole('button', { name: 'Check in every runner' }).click();
    const table = page.getByRole('table', { name: 'Traced commands in every runner' });
    // Live: the chroot's cell has its exit code while the slower runners (a TCG VM takes 10 s or more) still run.
    await expect.poll(() => table.locator('tbody tr td').nth(1).textContent(), { timeout: 120_000, interval: 200 }).toBe('exit 0');
    expect(await table.locator('tbody tr td').last().textContent()).toBe('running…');
    await expect.poll(() => table.locator('tbody tr td').last().textContent(), { timeout: 300_000, interval: 2000 }).not.toBe('running…');
    const cells = await table.locator('tbody tr td').allTextContents();
    expect(cells[0]).toMatch(/^\/usr\/bin\/python3 -c/);
    expect(cells[1]).toBe('exit 0');
    await shots(page, 'trace-check');
  });
});
