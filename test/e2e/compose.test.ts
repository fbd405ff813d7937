// Composing in a real Chromium against browser mode and the real engine: drag
// from the palette onto a new layer and build, drop a desktop file onto a tree
// folder, reorder layers by dragging, undo, and check the saved YAML.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lacks, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';
import { CHROMIUM, SHOTS, closeApp, launchApp } from '../helpers/e2e';

const work = tempDir('sy-compose-');
const project = writeProject(
  path.join(work, 'compose'),
  `# Composed in the app; this comment must survive every save.
name: compose
layers:
  - name: base # the folders
    sources:
      - kind: dir
        path: /srv
  - name: data
    sources:
      - kind: file
        path: /motd
        content: "hi\\n"
`,
);
const recipe = () => readFileSync(path.join(project, 'scratchyard.yaml'), 'utf8');
/** The layer names in the order the saved file lists them (bottom first). */
const savedOrder = () => [...recipe().matchAll(/^ {2}- name: ([\w.-]+)/gm)].map((m) => m[1]);
let gui: ChildProcess;
let browser: Browser;
let page: Page;


const layerItem = (name: string) => page.getByRole('list', { name: 'Layers' }).getByRole('listitem', { name: `Layer ${name}`, exact: true });
const tree = () => page.getByRole('tree', { name: 'Image filesystem' });
/** The layer names as the stack shows them, top first. */
const shownOrder = async () => (await page.getByRole('list', { name: 'Layers' }).locator(':scope > li .layer-pick').allTextContents()).map((s) => s.trim());

describe.skipIf(lacks(CHROMIUM))('composing by drag-and-drop', () => {
  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache')));
    await page.getByRole('listitem', { name: 'Layer data', exact: true }).waitFor();
  });

  afterAll(() => closeApp(browser, gui));

  it('the palette lists every source kind, Debian, run steps and stages included', async () => {
    const palette = page.getByRole('list', { name: 'Sources' });
    const labels = await palette.getByRole('listitem').allTextContents();
    for (const l of ['Busybox', 'Host files', 'Debian base', 'File from text', 'Folder from the project', 'Symlink', 'Users', 'Remove', 'Tarball', 'Run step', 'Copy from a stage', 'Run with a stage mount', 'New stage']) {
      expect(labels.some((t) => t.includes(l)), l).toBe(true);
    }
    expect(await page.getByRole('button', { name: 'Undo' }).isDisabled()).toBe(true);
    expect(await page.getByRole('status', { name: 'Unsaved changes' }).count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'compose-01-palette.png') });
  });

  it('busybox dragged from the palette onto a new layer builds, and the explorer shows /bin/sh', async () => {
    await page.getByRole('button', { name: 'New layer' }).click();
    const name = page.getByRole('textbox', { name: 'New name for layer layer' });
    await name.fill('tools');
    await name.press('Enter');
    await expect.poll(() => shownOrder()).toEqual(['tools', 'data', 'base']);
    expect(await layerItem('tools').textContent()).toContain('Empty: drag a source here.');
    await page.getByRole('list', { name: 'Sources' }).getByRole('listitem').filter({ hasText: 'Busybox' }).dragTo(layerItem('tools'));
    // The new source's form opens, the text has it, and the window says it is unsaved.
    await expect.poll(() => page.getByRole('form', { name: 'busybox source of layer tools' }).count()).toBe(1);
    expect(await page.getByRole('status', { name: 'Unsaved changes' }).count()).toBe(1);
    expect(recipe()).not.toContain('busybox');
    await page.screenshot({ path: path.join(SHOTS, 'compose-02-dropped-busybox.png') });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('tab', { name: 'Explorer' }).click();
    await expect.poll(() => tree().getByRole('treeitem', { name: /^bin\// }).count(), { timeout: 30_000 }).toBe(1);
    await tree().getByRole('treeitem', { name: /^bin\// }).click();
    // The tree draws only the rows in view: the filter brings sh up.
    await page.getByLabel('Filter').fill('sh');
    await expect.poll(() => tree().getByRole('treeitem', { name: /^sh → \/bin\/busybox/ }).count()).toBe(1);
    await page.getByLabel('Filter').fill('');
    expect(await page.getByRole('status', { name: 'Unsaved changes' }).count()).toBe(0);
    expect(savedOrder()).toEqual(['base', 'data', 'tools']);
    expect(recipe()).toMatch(/- name: tools\n {4}sources:\n {6}- kind: busybox/);
    expect(recipe()).toContain('# Composed in the app; this comment must survive every save.');
    expect(recipe()).toContain('- name: base # the folders');
  });

  it('a desktop file dropped onto /srv is copied into the project and shows in the tree after the rebuild', async () => {
    // bin/ folded again, so srv/ is in view (the tree draws only the rows in view).
    await tree().getByRole('treeitem', { name: /^bin\// }).click();
    const srv = tree().getByRole('treeitem', { name: /^srv\// });
    await srv.evaluate((el) => {
      // Runs in the page; the test's own types have no DOM.
      const { DataTransfer, DragEvent } = globalThis as unknown as { DataTransfer: new () => { items: { add(f: File): void } }; DragEvent: new (type: string, init: object) => Event };
      const dt = new DataTransfer();
      dt.items.add(new File(['dropped from the desktop\n'], 'hello.txt', { type: 'text/plain' }));
      for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await expect.poll(() => page.getByRole('form', { name: 'copy source of layer tools' }).count()).toBe(1);
    expect(readFileSync(path.join(project, 'hello.txt'), 'utf8')).toBe('dropped from the desktop\n');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Unsaved changes' }).count()).toBe(0);
    expect(recipe()).toMatch(/- kind: copy\n {8}src: hello.txt\n {8}dest: \/srv\/hello.txt/);
    await page.getByRole('tab', { name: 'Explorer' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Build graph' }).textContent(), { timeout: 30_000 }).toMatch(/layer tools/);
    await tree().getByRole('treeitem', { name: /^srv\// }).click();
    const hello = tree().getByRole('treeitem', { name: /^hello\.txt/ });
    await expect.poll(() => hello.count(), { timeout: 30_000 }).toBe(1);
    await hello.click();
    await expect.poll(() => page.getByRole('complementary', { name: 'Preview' }).textContent()).toContain('dropped from the desktop');
    await page.screenshot({ path: path.join(SHOTS, 'compose-03-desktop-drop.png') });
    // The layer diff follows the rebuild too; only the edited layer was rebuilt.
    expect(await page.getByRole('list', { name: 'Build graph' }).textContent()).toMatch(/layer base cached.*layer data cached/);
    await page.getByRole('tab', { name: 'Layer diff' }).click();
    await page.getByRole('combobox', { name: 'Layer', exact: true }).selectOption('tools');
    await expect.poll(() => page.getByRole('table', { name: 'Changes in layer tools' }).locator('tr.added', { hasText: /^added\/srv\/hello\.txt\d/ }).count()).toBe(1);
    await page.getByRole('tab', { name: 'Explorer' }).click();
  });

  it('a palette item dragged onto a tree folder gets that folder as its destination', async () => {
    await page.getByRole('list', { name: 'Sources' }).getByRole('listitem').filter({ hasText: /^⋮⋮File from text\+$/ }).dragTo(tree().getByRole('treeitem', { name: /^srv\// }));
    const form = page.getByRole('form', { name: 'file source of layer tools' });
    await expect.poll(() => form.count()).toBe(1);
    expect(await form.getByLabel('Path in the image').inputValue()).toBe('/srv/new-file');
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Unsaved changes' }).count()).toBe(0);
  });

  it('dragging a layer reorders the saved YAML, and Undo restores the order', async () => {
    // Drag tools (top) onto data: tools now sits where data was.
    await layerItem('tools').dragTo(layerItem('data'), { sourcePosition: { x: 12, y: 10 } });
    await expect.poll(() => shownOrder()).toEqual(['data', 'tools', 'base']);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => savedOrder()).toEqual(['base', 'tools', 'data']);
    expect(recipe()).toContain('# Composed in the app; this comment must survive every save.');
    await page.screenshot({ path: path.join(SHOTS, 'compose-04-reordered.png') });
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => shownOrder()).toEqual(['tools', 'data', 'base']);
    expect(await page.getByRole('status', { name: 'Unsaved changes' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => savedOrder()).toEqual(['base', 'data', 'tools']);
    // Redo from the keyboard puts it back; Undo again.
    // Focus out of any text field (the dock's terminal below takes its keys): the stack's heading.
    await page.locator('.layer-stack .stack-head h2').click();
    await page.keyboard.press('Control+Shift+Z');
    await expect.poll(() => shownOrder()).toEqual(['data', 'tools', 'base']);
    await page.keyboard.press('Control+Z');
    await expect.poll(() => shownOrder()).toEqual(['tools', 'data', 'base']);
  });

  it('a source dragged onto another layer moves there', async () => {
    const motd = layerItem('data').getByRole('listitem').filter({ hasText: '/motd' });
    await motd.dragTo(layerItem('base'), { sourcePosition: { x: 30, y: 8 } });
    await expect.poll(() => layerItem('base').textContent()).toContain('/motd');
    expect(await layerItem('data').textContent()).toContain('Empty: drag a source here.');
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => layerItem('data').textContent()).toContain('/motd');
  });

  it('every drag has a keyboard path: Move up / down, Move to layer…, Add', async () => {
    await page.getByRole('button', { name: 'Move layer data up' }).click();
    await expect.poll(() => shownOrder()).toEqual(['data', 'tools', 'base']);
    await page.getByRole('button', { name: 'Move layer data down' }).click();
    await expect.poll(() => shownOrder()).toEqual(['tools', 'data', 'base']);
    await page.getByRole('combobox', { name: 'Move file source of data to layer…' }).selectOption({ label: 'to base' });
    await expect.poll(() => layerItem('base').textContent()).toContain('/motd');
    expect(await layerItem('data').textContent()).toContain('Empty');
    await page.getByRole('button', { name: 'Rename layer data' }).click();
    await page.getByRole('textbox', { name: 'New name for layer data' }).fill('empty');
    await page.getByRole('textbox', { name: 'New name for layer data' }).press('Enter');
    await page.getByRole('button', { name: 'Delete layer empty' }).click();
    await expect.poll(() => shownOrder()).toEqual(['tools', 'base']);
    // Add from the palette without a mouse drag: to the top layer when the whole image is shown.
    await page.getByRole('button', { name: 'Add Run step' }).click();
    await expect.poll(() => page.getByRole('form', { name: 'run source of layer tools' }).count()).toBe(1);
    await page.getByRole('button', { name: 'New stage' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Stages' }).textContent()).toContain('tools');
    await page.screenshot({ path: path.join(SHOTS, 'compose-05-keyboard.png') });
    // Seven edits back (up, down, move, rename, delete, add, stage): the saved recipe again, nothing unsaved.
    for (let i = 0; i < 7; i++) await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => shownOrder()).toEqual(['tools', 'data', 'base']);
    await expect.poll(() => page.getByRole('status', { name: 'Unsaved changes' }).count()).toBe(0);
    expect(await page.getByRole('list', { name: 'Stages' }).count()).toBe(0);
    expect(await layerItem('data').textContent()).toContain('/motd');
  });

  it('"reference in place" is remembered for the project; without a host path (browser mode) the drop is copied and the app says why', async () => {
    await page.getByRole('combobox', { name: 'Dropped files' }).selectOption('reference');
    await page.reload();
    await page.getByRole('listitem', { name: 'Layer data', exact: true }).waitFor();
    expect(await page.getByRole('combobox', { name: 'Dropped files' }).inputValue()).toBe('reference');
    await layerItem('data').evaluate((el) => {
      const { DataTransfer, DragEvent } = globalThis as unknown as { DataTransfer: new () => { items: { add(f: File): void } }; DragEvent: new (type: string, init: object) => Event };
      const dt = new DataTransfer();
      dt.items.add(new File(['second'], 'notes.md'));
      for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'notes.md copied into the project' }).textContent()).toContain('notes.md copied into the project: no host path in browser mode');
    expect(readFileSync(path.join(project, 'notes.md'), 'utf8')).toBe('second');
    await expect.poll(() => layerItem('data').textContent()).toContain('notes.md → /notes.md');
    await page.screenshot({ path: path.join(SHOTS, 'compose-06-reference-notice.png') });
  });

  it('keyboard paths for folder drops: + and Add files… land in the folder selected in the explorer', async () => {
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Unsaved changes' }).count(), { timeout: 30_000 }).toBe(0);
    await page.getByRole('tab', { name: 'Explorer' }).click();
    await tree().getByRole('treeitem', { name: /^srv\// }).click();
    await page.getByRole('button', { name: 'Add Symlink' }).click();
    const form = page.getByRole('form', { name: 'symlink source of layer tools' });
    await expect.poll(() => form.count()).toBe(1);
    expect(await form.getByLabel('Path in the image').inputValue()).toBe('/srv/link');
    await page.getByLabel('Files to add').setInputFiles({ name: 'picked.conf', mimeType: 'text/plain', buffer: Buffer.from('picked\n') });
    await expect.poll(() => layerItem('tools').textContent()).toContain('picked.conf → /srv/picked.conf');
    expect(readFileSync(path.join(project, 'picked.conf'), 'utf8')).toBe('picked\n');
  });
});
