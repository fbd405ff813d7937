// Open image… lists the local engines' images (issue 14): an image this test
// makes and tags in docker (`docker import` of a tar it writes: nothing comes
// from the internet) appears in the dialog's list with its size, and a click
// opens it through docker-daemon:NAME:TAG, its one file shown. The same
// list is `scratchyard images --json`; an engine that does not answer is a
// note, not a failure.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, cli, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';
import { CHROMIUM, launchApp, stopGui } from '../helpers/e2e';

const work = tempDir('sy-local-images-');
const cache = path.join(work, 'cache');
const NAME = `scratchyard-test/local-images-${process.pid}`;
const TAG = 'e2e';
const REF = `docker-daemon:${NAME}:${TAG}`;
const project = writeProject(path.join(work, 'p'), 'name: p\nlayers:\n  - name: one\n    sources:\n      - kind: file\n        path: /etc/motd\n        content: "hi\\n"\n');

interface Listed {
  images: { engine: string; name: string; tag?: string; id: string; size: number; ref: string }[];
  notes: { engine: string; reason: string }[];
}

describe.skipIf(lacks(CHROMIUM, 'skopeo') || !dockerWorks())('Open image… lists local images', () => {
  let gui: ChildProcess;
  let browser: Browser;
  let page: Page;
  let id: string;

  beforeAll(async () => {
    // A one-file root filesystem, imported as an image under a tag of our own.
    const root = path.join(work, 'root');
    mkdirSync(root, { recursive: true });
    writeFileSync(path.join(root, 'local-images-marker'), 'made by the local-images test\n');
    const tar = path.join(work, 'root.tar');
    expect(sh('tar', ['-cf', tar, '-C', root, '.']).code).toBe(0);
    const imported = sh(DOCKER, ['import', tar, `${NAME}:${TAG}`], { timeout: 120_000 });
    expect(imported.code, imported.stderr).toBe(0);
    id = imported.stdout.trim();
    ({ gui, browser, page } = await launchApp(project, cache));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stopGui(gui);
    sh(DOCKER, ['rmi', '-f', `${NAME}:${TAG}`], { timeout: 60_000 });
  });

  it('scratchyard images --json lists the tagged image with the reference it opens by', () => {
    const r = cli(['images', '--json'], { timeout: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const mine = (JSON.parse(r.stdout) as Listed).images.find((i) => i.engine === 'docker' && i.name === NAME);
    expect(mine).toMatchObject({ tag: TAG, id, ref: REF });
    expect(mine!.size).toBeGreaterThan(0);
    const table = cli(['images'], { timeout: 60_000 });
    expect(table.stdout).toMatch(new RegExp(`^docker +${NAME.replace('/', '\\/')} +${TAG} +${id.slice(7, 19)} .* ${REF}$`, 'm'));
  });

  it('a docker engine that does not answer is a note and an exit code 0, not an error', () => {
    const r = cli(['images', '--json'], { timeout: 60_000, env: { ...process.env, DOCKER_HOST: `unix://${path.join(work, 'no-docker.sock')}` } });
    expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse(r.stdout) as Listed;
    expect(listed.images.some((i) => i.engine === 'docker')).toBe(false);
    expect(listed.notes.find((n) => n.engine === 'docker')?.reason).toMatch(/^docker: the engine is not reachable/);
    expect(r.stderr).toMatch(/scratchyard: docker: the engine is not reachable/);
  });

  it('the dialog lists it (name, tag, size) and a click opens it as docker-daemon:NAME:TAG', async () => {
    await page.getByRole('button', { name: 'Open image…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Open image' });
    const row = dialog.getByRole('option', { name: `docker ${NAME}:${TAG}`, exact: true });
    await row.waitFor({ timeout: 60_000 });
    expect(await row.textContent()).toMatch(/\d+(\.\d)? (B|KiB)/);
    // The list is one Tab stop, walked with the arrows.
    const options = dialog.getByRole('listbox', { name: 'Local images' }).getByRole('option');
    expect(await dialog.locator('[role="option"][tabindex="0"]').count()).toBe(1);
    if ((await options.count()) > 1) {
      await options.first().focus();
      await page.keyboard.press('ArrowDown');
      expect(await options.nth(1).getAttribute('aria-selected')).toBe('true');
      expect(await options.nth(1).getAttribute('tabindex')).toBe('0');
      expect(await options.first().getAttribute('tabindex')).toBe('-1');
    }
    // Typing narrows the list: another image's row goes, ours stays.
    await dialog.getByRole('textbox').fill(`local-images-${process.pid}`);
    expect(await dialog.getByRole('listbox', { name: 'Local images' }).getByRole('option').count()).toBe(1);
    await row.click();
    const banner = page.getByRole('region', { name: 'Opened image' });
    await banner.waitFor({ timeout: 120_000 });
    expect(await banner.textContent()).toContain(REF);
    // An opened image shows Inspect: its one file is the largest, 30 bytes, read from docker's copy.
    await page.getByText('/local-images-marker', { exact: true }).waitFor({ timeout: 30_000 });
  }, 240_000);
});
