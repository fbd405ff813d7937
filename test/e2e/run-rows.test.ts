// Issue 15 point 10 in the app: Run everywhere gives every runner its row at
// once and moves each as it starts and ends (pending → running → exit N, or
// skipped with a one-line reason and its details on demand), then says what
// was compared; the run dialog's Ports field refuses a bad entry at the field,
// and ports and a probe are remembered like the other options.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { CHROMIUM, closeApp, launchApp, shotsAtSizes } from '../helpers/e2e';

const work = tempDir('sy-e2e-run-rows-');
const tag = `scratchyard-test/e2e-run-rows:${process.pid}`;
const shots = shotsAtSizes;

/** In the page (no DOM types here): every state each results row shows, in order, however briefly, into window.seenStates. */
const WATCH_ROWS = `{
  const seen = (window.seenStates = {});
  const note = () => {
    for (const tr of document.querySelectorAll('table[aria-label="Run results"] tbody tr')) {
      const list = (seen[tr.dataset.runner] ??= []);
      if (list[list.length - 1] !== tr.dataset.state) list.push(tr.dataset.state);
    }
  };
  new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
}`;

describe.skipIf(lacks(CHROMIUM))('Run everywhere, row by row', () => {
  const project = helloCopy(path.join(work, 'hello'), tag);
  let gui: ChildProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache')));
    await page.locator('header .project', { hasText: 'hello' }).waitFor();
  });

  afterAll(async () => {
    await closeApp(browser, gui);
    if (dockerWorks()) sh(DOCKER, ['rmi', '-f', tag]);
  });

  it('the Ports field refuses "80:abc" at the field and by name; ports and a probe are remembered', async () => {
    await page.getByRole('button', { name: 'Run with options…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run the image' });
    const ports = dialog.getByLabel('Ports');
    await ports.fill('8080:80 80:abc');
    const alert = dialog.locator('#run-ports-err');
    await expect.poll(() => alert.textContent()).toMatch(/^"80:abc": expected HOST:CONTAINER ports/);
    expect(await ports.getAttribute('aria-invalid')).toBe('true');
    expect(await ports.getAttribute('aria-describedby')).toContain('run-ports-err');
    expect(await dialog.getByLabel('As docker run flags').textContent()).toBe('Fix Ports to run.');
    expect(await dialog.getByRole('button', { name: 'Run', exact: true }).isDisabled()).toBe(true);
    await dialog.getByLabel('Probe', { exact: true }).fill('wget -qO- http://127.0.0.1:8080/');
    await dialog.getByLabel('Probe for (seconds)').fill('5');
    await shots(page, 'run-rows-dialog-ports');

    await ports.fill('8080:80');
    await expect.poll(() => alert.count()).toBe(0);
    expect(await dialog.getByLabel('As docker run flags').textContent()).toBe(`-p 8080:80 --probe 'wget -qO- http://127.0.0.1:8080/' --probe-timeout 5`);
    // Closed and opened again: the project's options are still there.
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    await page.getByRole('button', { name: 'Run with options…' }).click();
    expect(await dialog.getByLabel('Ports').inputValue()).toBe('8080:80');
    expect(await dialog.getByLabel('Probe for (seconds)').inputValue()).toBe('5');
    await dialog.getByRole('button', { name: 'Reset' }).click();
    expect(await dialog.getByLabel('Ports').inputValue()).toBe('');
    await page.keyboard.press('Escape');
  });

  it('every runner has its row at once; chroot goes running → exit 0 with a time; a runner that cannot run here is skipped with a one-line reason', { timeout: 600_000 }, async () => {
    await page.evaluate(WATCH_ROWS);
    // The program sleeps a little, so chroot's running row is there to be seen.
    await page.getByRole('button', { name: 'Run with options…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run the image' });
    await dialog.getByLabel('Run in').selectOption('everywhere');
    await dialog.getByLabel('Entrypoint').fill('/bin/sh');
    await dialog.getByLabel('Command', { exact: true }).fill(`-c 'sleep 2; echo Hello'`);
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();

    const table = page.getByRole('table', { name: 'Run results' });
    const row = (runner: string) => table.locator(`tbody tr[data-runner="${runner}"]`);
    // A row per runner before any of them has ended.
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 5_000 }).toBe(4);
    expect(await table.locator('tbody tr th').allTextContents()).toEqual(['chroot', 'VM', 'docker', 'podman']);

    await expect.poll(() => row('chroot').getAttribute('data-state'), { timeout: 60_000, interval: 100 }).toBe('running');
    expect(await row('chroot').locator('td').nth(1).textContent()).toMatch(/^\d+ s$/);
    expect(await table.getAttribute('aria-busy')).toBe('true');
    await shots(page, 'run-rows-running');

    await expect.poll(() => row('chroot').getAttribute('data-state'), { timeout: 60_000 }).toBe('exit');
    expect(await row('chroot').locator('td').first().textContent()).toBe('exit 0');
    expect(await row('chroot').locator('td').nth(1).textContent()).toMatch(/^\d+\.\d+ s$/);
    const seen = await page.evaluate<Record<string, string[]>>('window.seenStates');
    expect(seen.chroot).toEqual(['pending', 'running', 'exit']);

    // podman answers here but cannot start containers (and docker may have no daemon): skipped, one line, the rest on demand.
    await expect.poll(() => row('podman').getAttribute('data-state'), { timeout: 120_000 }).not.toMatch(/^(pending|running)$/);
    const skipped = table.locator('tbody tr[data-state="skipped"]');
    expect(await skipped.count()).toBeGreaterThan(0);
    for (const tr of await skipped.all()) {
      const note = tr.locator('td.note');
      const line = (await note.locator('.reason').first().innerText()).split('\n')[0];
      expect(line.length).toBeLessThan(120);
      const details = note.locator('details');
      if ((await details.count()) === 0) continue;
      const pre = details.locator('pre');
      expect(await pre.isVisible()).toBe(false);
      await details.locator('summary').click();
      expect(await pre.isVisible()).toBe(true);
      expect(((await pre.textContent()) ?? '').length).toBeGreaterThan(line.length);
      await details.locator('summary').click();
      expect(await pre.isVisible()).toBe(false);
    }
    if ((await row('podman').getAttribute('data-state')) === 'skipped') {
      expect(await row('podman').locator('td.note summary, td.note span.reason').first().innerText()).toMatch(/^podman (cannot run containers here|not found|does not work here)/);
    }

    // The VM (TCG here: slow) ends too; then the line says what was compared.
    await expect.poll(() => row('vm').getAttribute('data-state'), { timeout: 560_000, interval: 2_000 }).not.toMatch(/^(pending|running)$/);
    const verdict = page.getByText(/compared: exit code and stdout|nothing to compare its exit code and stdout/);
    await expect.poll(() => verdict.count(), { timeout: 10_000 }).toBe(1);
    expect(await table.getAttribute('aria-busy')).toBe('false');
    if ((await row('vm').getAttribute('data-state')) === 'exit') {
      expect(await row('vm').locator('td').first().textContent()).toBe('exit 0');
      expect(await row('vm').locator('td').nth(2).textContent()).toBe('matches');
    }
    await verdict.scrollIntoViewIfNeeded();
    await shots(page, 'run-rows-ended');
  });
});
