// Push from the app (issue 14) in a real Chromium against browser mode, the
// real engine and a real local registry: build hello, open Push, push, read the
// blob rows and the manifest digest, and compare it with what skopeo reads
// back from the registry. Also: the palette's Image source writes `kind: image`
// as the first source of the first layer.
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lacks, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { CHROMIUM, SHOTS, launchApp, stopGui } from '../helpers/e2e';
import { yamlText } from '../helpers/yamlEditor';

const work = tempDir('sy-push-e2e-');
const project = helloCopy(path.join(work, 'hello'), 'hello:latest');
let gui: ChildProcess;
let browser: Browser;
let page: Page;
let reg: TestRegistry;

const dialog = () => page.getByRole('dialog', { name: 'Push the image' });

describe.skipIf(lacks(CHROMIUM) || lacks('skopeo') || lacks('docker-registry'))('Push and the Image source in the app', () => {
  beforeAll(async () => {
    reg = await startRegistry();
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache')));
    await page.getByRole('listitem', { name: 'Layer app', exact: true }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await stopGui(gui);
    await reg?.stop();
  });

  it('builds hello, pushes it from the dialog: a row per blob, then the digest the registry holds', async () => {
    await page.getByRole('button', { name: 'Build', exact: true }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Build graph' }).textContent(), { timeout: 180_000 }).toMatch(/layer app.*(done|cached)/);
    await expect.poll(() => page.getByRole('button', { name: 'Build', exact: true }).isDisabled(), { timeout: 60_000 }).toBe(false);

    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('button', { name: 'Push…' }).click();
    const dest = dialog().getByRole('textbox', { name: 'Destination' });
    // Prefilled from image.pushDestination: nothing pushed yet, so docker:// + the recipe's tag.
    await expect.poll(() => dest.inputValue(), { timeout: 10_000 }).toBe('docker://hello:latest');
    expect(await dialog().getByRole('checkbox', { name: 'Skip TLS verification' }).isChecked()).toBe(false);
    const target = `docker://${reg.host}/sy/app-e2e:1`;
    await dest.fill(target);
    await dialog().getByRole('checkbox', { name: 'Skip TLS verification' }).check();
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.screenshot({ path: path.join(SHOTS, 'push-01-dialog-1440.png') });
    await dest.press('Enter');

    const digest = dialog().getByTestId('manifest-digest');
    await digest.waitFor({ timeout: 120_000 });
    const shown = (await digest.textContent())!.trim();
    expect(shown).toMatch(/^sha256:[0-9a-f]{64}$/);
    const rows = dialog().getByRole('table', { name: 'Blobs' }).getByRole('row');
    // Header + two layers (busybox, app) + the config.
    expect(await rows.count()).toBe(4);
    const states = await dialog().getByRole('table', { name: 'Blobs' }).locator('tbody td:last-child').allTextContents();
    expect(states.every((t) => /^(uploaded|mounted from another repository|already there)$/.test(t)), states.join(', ')).toBe(true);
    expect(states).toContain('uploaded');
    expect(await dialog().getByRole('status', { name: 'Push result' }).textContent()).toContain(target);
    await page.screenshot({ path: path.join(SHOTS, 'push-02-done-1440.png') });
    await page.setViewportSize({ width: 1024, height: 700 });
    await page.screenshot({ path: path.join(SHOTS, 'push-03-done-1024.png') });

    const inspect = spawnSync('skopeo', ['inspect', '--tls-verify=false', target], { encoding: 'utf8' });
    expect(inspect.status, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout).Digest).toBe(shown);

    // Esc closes; reopened, the destination is the one pushed to.
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog().count(), { timeout: 10_000 }).toBe(0);
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('button', { name: 'Push…' }).click();
    await expect.poll(() => dialog().getByRole('textbox', { name: 'Destination' }).inputValue(), { timeout: 10_000 }).toBe(target);
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  it('a push that fails says why in the dialog, in words', async () => {
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('button', { name: 'Push…' }).click();
    // A registry that is not there (port 1 refuses): skopeo fails at once.
    const dest = dialog().getByRole('textbox', { name: 'Destination' });
    await dest.fill('docker://127.0.0.1:1/sy/app-e2e:1');
    await dest.press('Enter');
    const alert = dialog().getByRole('alert');
    await alert.waitFor({ timeout: 60_000 });
    expect((await alert.textContent())!.length).toBeGreaterThan(10);
    expect(await alert.textContent()).not.toMatch(/\n\s+at /);
    await page.screenshot({ path: path.join(SHOTS, 'push-04-error.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog().count(), { timeout: 10_000 }).toBe(0);
  });

  it('the palette offers Image; added, it is the first source of the first layer, kind: image with a ref', async () => {
    const palette = page.getByRole('list', { name: 'Sources' });
    expect(await palette.getByRole('listitem').allTextContents()).toContainEqual(expect.stringContaining('Image'));
    await palette.getByRole('button', { name: 'Add Image' }).click();
    // Read from the YAML tab: saving would rebuild, and the default ref needs the network.
    await page.getByRole('tab', { name: 'YAML' }).focus();
    await page.keyboard.press('Enter');
    const recipe = async () => parse(await yamlText(page)) as { layers: { sources: { kind: string; ref?: string }[] }[] };
    await expect.poll(async () => (await recipe()).layers[0].sources[0].kind, { timeout: 10_000 }).toBe('image');
    expect((await recipe()).layers[0].sources[0].ref).toMatch(/^docker:\/\//);
    // Added again, it is not added twice: the first layer already starts from an image.
    await palette.getByRole('button', { name: 'Add Image' }).click();
    // Adding opens the source's form; back to the YAML.
    await page.getByRole('tab', { name: 'YAML' }).focus();
    await page.keyboard.press('Enter');
    expect((await recipe()).layers.flatMap((l) => l.sources).filter((x) => x.kind === 'image')).toHaveLength(1);
    expect(await page.getByText(/already starts from an image/).count()).toBeGreaterThan(0);
  });
});
