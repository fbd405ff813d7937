// The renderer in a real Chromium, driven by Playwright, against browser mode
// serving the real engine: open the example, build, explore, diff, run, shell.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CLI, lacks, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { CHROMIUM, SHOTS, closeApp, launchApp, openPage, startGui, stopGui } from '../helpers/e2e';
import { setYaml, yamlText } from '../helpers/yamlEditor';

const work = tempDir('sy-e2e-');
const project = helloCopy(path.join(work, 'hello'), 'hello:latest');
let gui: ChildProcess;
let browser: Browser;
let page: Page;


describe.skipIf(lacks(CHROMIUM))('the app in browser mode', () => {
  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache')));
  });

  afterAll(() => closeApp(browser, gui));

  it('opens the example with its layer stack, and says what to do before a build', async () => {
    await expect.poll(() => page.getByRole('list', { name: 'Layers' }).textContent()).toContain('busybox');
    expect(await page.getByText('Nothing built yet').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, '01-opened.png') });
  });

  it('Build shows the graph nodes and the explorer shows /bin/busybox', async () => {
    await page.getByRole('button', { name: 'Build' }).click();
    const tree = page.getByRole('tree', { name: 'Image filesystem' });
    await tree.getByRole('treeitem', { name: /^bin\// }).click();
    await expect.poll(() => tree.getByRole('treeitem', { name: /^busybox/ }).count()).toBe(1);
    expect(await page.getByRole('list', { name: 'Build graph' }).textContent()).toMatch(/layer app.*(done|cached)/);
    expect(await page.getByRole('region', { name: 'Build log' }).textContent()).toContain('export docker');
    await tree.getByRole('treeitem', { name: /^busybox/ }).click();
    await expect.poll(() => page.getByRole('complementary', { name: 'Preview' }).textContent()).toContain('64-bit');
    await page.screenshot({ path: path.join(SHOTS, '02-built.png') });
  });

  it('the layer diff of app lists /init as added', async () => {
    await page.getByRole('tab', { name: 'Layer diff' }).click();
    await page.getByRole('combobox', { name: 'Layer', exact: true }).selectOption('app');
    const table = page.getByRole('table', { name: 'Changes in layer app' });
    await expect.poll(() => table.locator('tr.added', { hasText: /^added\/init\d/ }).count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, '03-diff.png') });
  });

  it('Run in chroot shows Hello, world! and exit code 0', async () => {
    await page.getByRole('button', { name: 'Run in chroot' }).click();
    const term = page.getByRole('region', { name: 'Run: chroot' });
    await expect.poll(() => term.textContent(), { timeout: 20_000 }).toContain('Hello, world!');
    await expect.poll(() => page.locator('.runs .result:visible').textContent()).toMatch(/exit code 0/);
  });

  it('Open shell runs a command typed into the terminal', async () => {
    await page.getByRole('button', { name: 'Open shell' }).click();
    const term = page.getByRole('region', { name: 'Shell' });
    await expect.poll(() => term.textContent(), { timeout: 20_000 }).toMatch(/#/);
    await term.click();
    await page.keyboard.type('echo $((6*7))\n');
    await expect.poll(() => term.textContent()).toContain('42');
    await page.screenshot({ path: path.join(SHOTS, '04-shell.png') });
  });

  it('Stop ends a running shell; its tab keeps the output and shows the exit code', async () => {
    const stop = page.getByRole('button', { name: 'Stop Shell' });
    expect(await stop.count()).toBe(1);
    await stop.click();
    await expect.poll(() => page.locator('.runs .result:visible').textContent(), { timeout: 20_000 }).toMatch(/exit code -?\d+ in \d+ ms/);
    expect(await stop.count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Shell' }).textContent()).toContain('42');
  });

  it('a source form edits the YAML and shows errors at the field', async () => {
    await page.getByRole('button', { name: 'Edit dir source of app' }).click();
    const form = page.getByRole('form', { name: 'dir source of layer app' });
    const mode = form.getByLabel('Mode (octal)');
    expect(await mode.inputValue()).toBe('1777');
    await mode.fill('17x7');
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('expected an octal string');
    expect(await mode.getAttribute('aria-invalid')).toBe('true');
    await page.screenshot({ path: path.join(SHOTS, '05-source-form.png') });
    await page.getByRole('tab', { name: /YAML/ }).click();
    expect(await yamlText(page)).toMatch(/mode: "17x7"/);
    // Comments elsewhere in the file survive a form edit.
    expect(await yamlText(page)).toContain('# busybox');
    await page.getByRole('tab', { name: 'Source' }).click();
    await mode.fill('1777');
    await expect.poll(() => form.getByRole('alert').count()).toBe(0);
  });

  it('a bad recipe edit shows the error at its field', async () => {
    await page.getByRole('tab', { name: /YAML/ }).click();
    const text = readFileSync(path.join(project, 'scratchyard.yaml'), 'utf8');
    await setYaml(page, text.replace('mode: "1777"', 'mode: "sticky"'));
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/layers\[1\]\.sources\[3\]\.mode: expected an octal string/);
    expect(await page.getByRole('button', { name: 'Build' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, '06-bad-recipe.png') });
    await setYaml(page, text);
    await expect.poll(() => page.getByRole('button', { name: 'Build' }).isDisabled()).toBe(false);
  });
});

describe.skipIf(lacks(CHROMIUM))('new projects', () => {
  it('New… creates a starter project that builds and runs', async () => {
    // A second app of its own: the one above keeps its project.
    const second = await startGui(project, path.join(work, 'cache'));
    const { browser: b, page: p } = await openPage(second.url);
    try {
      // The header re-flows once the first project has loaded: click after that, not into the shift.
      await expect.poll(() => p.locator('header .project').textContent()).not.toBe('no project');
      await p.getByRole('button', { name: 'More actions' }).click();
      await p.getByRole('button', { name: 'New…' }).click();
      const dialog = p.getByRole('dialog', { name: 'New project' });
      await dialog.getByRole('textbox').fill(path.join(work, 'Fresh Project'));
      await dialog.getByRole('button', { name: 'Create' }).click();
      await expect.poll(() => p.locator('header .project').textContent()).toBe('fresh-project');
      await p.getByRole('button', { name: 'Run in chroot' }).click();
      await expect.poll(() => p.getByRole('region', { name: 'Run: chroot' }).textContent(), { timeout: 20_000 }).toContain('Hello from fresh-project');
      // The run built the image first: the window shows that build as its own, not "Nothing built yet".
      await expect.poll(() => p.getByLabel('Last build').textContent(), { timeout: 20_000 }).toMatch(/^Built /);
      await p.getByRole('tab', { name: 'Explorer', exact: true }).click();
      await expect.poll(() => p.getByRole('tree', { name: 'Image filesystem' }).getByRole('treeitem').count()).toBeGreaterThan(0);
      expect(await p.getByText('Nothing built yet').count()).toBe(0);
      expect(readFileSync(path.join(work, 'Fresh Project', 'scratchyard.yaml'), 'utf8')).toContain('name: fresh-project');
    } finally {
      await b.close();
      await stopGui(second.gui);
    }
  });
});

describe('the contract over the WebSocket', () => {
  let local: ChildProcess | undefined;
  afterAll(() => stopGui(local));

  it('refuses a wrong token and answers malformed messages with an error, not a crash', async () => {
    const w = tempDir('sy-ws-');
    writeFileSync(path.join(w, 'scratchyard.yaml'), 'name: x\nlayers:\n  - name: a\n');
    local = spawn(process.execPath, [CLI, 'gui', w, '--port', '0', '--no-open', '--cache', path.join(w, 'cache')], { stdio: ['ignore', 'pipe', 'ignore'] });
    const base: string = await new Promise((resolve) => local!.stdout!.on('data', (c: Buffer) => resolve(String(c).trim())));
    const u = new URL(base);
    const token = new URLSearchParams(u.hash.slice(1)).get('token')!;
    const open = (t: string, origin?: string) =>
      new Promise<WebSocket | Error>((resolve) => {
        const ws = new WebSocket(`ws://${u.host}/ws?token=${t}`, origin ? { headers: { origin } } : {});
        ws.on('open', () => resolve(ws));
        ws.on('error', () => resolve(new Error('refused')));
      });
    expect(await open('wrong')).toBeInstanceOf(Error);
    // A web page elsewhere that somehow learnt the token still cannot connect: its Origin is not ours.
    expect(await open(token, 'http://evil.example')).toBeInstanceOf(Error);
    const ws = await open(token);
    expect(ws).not.toBeInstanceOf(Error);
    const sock = ws as WebSocket;
    const ask = (msg: string) =>
      new Promise<{ id: number; error?: { message: string }; result?: unknown }>((resolve) => {
        sock.once('message', (m) => resolve(JSON.parse(String(m))));
        sock.send(msg);
      });
    expect((await ask('not json')).error?.message).toMatch(/JSON/);
    expect((await ask(JSON.stringify({ id: 1, request: { cmd: 'rm -rf' } }))).error?.message).toMatch(/invalid request/);
    expect((await ask(JSON.stringify({ id: 2, request: { cmd: 'tree.page', layer: null, dir: '/', offset: -1, limit: 10 } }))).error?.message).toMatch(/offset/);
    const ok = await ask(JSON.stringify({ id: 3, request: { cmd: 'project.validate', text: 'name: x\nlayers: []\n' } }));
    expect(ok.result).toEqual({ problems: [expect.objectContaining({ field: 'layers', message: 'a recipe needs at least one layer' })] });
    sock.close();
  });
});
