// The YAML tab's editor in a real Chromium against browser mode (issue 15):
// a syntax error is marked in the gutter at the line its quote opens, the
// layer stack stays (dimmed) while the text is broken, a click on the problem
// puts the cursor there, Escape then Tab leaves the editor, and a form edit
// saves a file that differs from the old one in that field's line only.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lacks, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';
import { CHROMIUM, SHOTS, closeApp, launchApp } from '../helpers/e2e';
import { focusInEditor, setYaml, yamlBox, yamlText } from '../helpers/yamlEditor';

// Written as a person writes it; the yaml library would write `[ "/init" ]`.
const RECIPE = `# a person's layout: every byte of it must survive a form edit
name: yamltab
config:
  entrypoint: ["/init"]
layers:
- name: base
  sources:
    - kind: dir
      path: /srv
      mode: "0755"
- name: app
  sources:
    - kind: file
      path: /init
      mode: "0755"
      content: "#!/bin/sh\\necho hi\\n"
`;
/** Line 9 opens a quote that never closes. */
const BROKEN = RECIPE.replace('path: /srv', 'path: "/srv');
const BROKEN_LINE = 9;

const work = tempDir('sy-yaml-tab-');
const project = writeProject(path.join(work, 'yamltab'), RECIPE);
const saved = () => readFileSync(path.join(project, 'scratchyard.yaml'), 'utf8');
let gui: ChildProcess;
let browser: Browser;
let page: Page;

/** The line numbers the lint gutter marks, read by where its markers sit against the line-number gutter. */
async function markedLines(p: Page): Promise<number[]> {
  const numbers = await Promise.all((await p.locator('.cm-lineNumbers .cm-gutterElement').all()).map(async (e) => ({ n: Number(await e.textContent()), box: await e.boundingBox() })));
  const marks = await Promise.all((await p.locator('.cm-lint-marker-error').all()).map((m) => m.boundingBox()));
  return marks.map((m) => {
    const y = m!.y + m!.height / 2;
    return numbers.find((x) => x.n > 0 && x.box && y >= x.box.y && y < x.box.y + x.box.height)?.n ?? -1;
  });
}

const cursorLine = (p: Page) => p.locator('.cm-activeLineGutter').first().textContent();

describe.skipIf(lacks(CHROMIUM))('the YAML editor', () => {
  beforeAll(async () => {
    ({ gui, browser, page } = await launchApp(project, path.join(work, 'cache')));
    await page.getByRole('listitem', { name: 'Layer app', exact: true }).waitFor();
  });

  afterAll(() => closeApp(browser, gui));

  for (const [width, height] of [
    [1440, 900],
    [1024, 700],
  ]) {
    it(`at ${width}×${height}: an unterminated quote is marked at its line, the stack stays dimmed, a click on the problem moves the cursor there`, async () => {
      await page.setViewportSize({ width, height });
      await page.getByRole('tab', { name: /YAML/ }).click();
      await expect.poll(() => yamlText(page)).toBe(RECIPE);
      await setYaml(page, BROKEN);
      const problems = page.getByRole('alert', { name: 'Problems' });
      await expect.poll(() => problems.textContent()).toMatch(new RegExp(`line ${BROKEN_LINE}, column 13: recipe: YAML: the " quote opened here is never closed`));
      await expect.poll(() => markedLines(page)).toEqual([BROKEN_LINE]);
      // The stack: still the layers of the last text that parsed, dimmed, with a note.
      const stack = page.locator('nav.layer-stack');
      expect(await stack.getAttribute('class')).toContain('stale');
      expect(await page.getByRole('list', { name: 'Layers' }).getByRole('listitem', { name: /^Layer (base|app)$/ }).count()).toBe(2);
      expect(Number(await page.evaluate<string>("getComputedStyle(document.querySelector('nav.layer-stack ol.layers')).opacity"))).toBeLessThan(1);
      expect(await stack.getByRole('status').textContent()).toMatch(/last valid stack/);
      expect(await problems.isVisible()).toBe(true);
      await page.screenshot({ path: path.join(SHOTS, `yaml-01-syntax-error-${width}.png`) });
      // Cursor elsewhere, then a click on the problem: the cursor is on the quote's line.
      await yamlBox(page).locator('.cm-line').first().click();
      expect(await cursorLine(page)).toBe('1');
      await problems.getByRole('button').first().click();
      await expect.poll(() => cursorLine(page)).toBe(String(BROKEN_LINE));
      expect(await focusInEditor(page)).toBe(true);
      await page.screenshot({ path: path.join(SHOTS, `yaml-02-jumped-${width}.png`) });
      // Mended, the stack is live again.
      await setYaml(page, RECIPE);
      await expect.poll(() => stack.getAttribute('class')).not.toContain('stale');
      await expect.poll(() => problems.count()).toBe(0);
    });
  }

  it('Tab indents inside the editor; Escape then Tab leaves it', async () => {
    await yamlBox(page).locator('.cm-line').first().click();
    await page.keyboard.press('Home');
    await page.keyboard.press('Tab');
    expect(await focusInEditor(page)).toBe(true);
    expect((await yamlText(page)).split('\n')[0]).toBe(`  ${RECIPE.split('\n')[0]}`);
    await page.keyboard.press('Control+Z');
    await expect.poll(() => yamlText(page)).toBe(RECIPE);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(await focusInEditor(page)).toBe(false);
  });

  it('a form edit saved changes that field\'s line and no other; typing it is one undo step', async () => {
    await page.getByRole('button', { name: 'Edit dir source of base' }).click();
    const mode = page.getByRole('form', { name: 'dir source of layer base' }).getByLabel('Mode (octal)');
    await mode.fill('');
    await mode.pressSequentially('0700');
    await mode.blur();
    await page.getByRole('button', { name: 'Save', exact: true }).first().click();
    await expect.poll(saved).not.toBe(RECIPE);
    const before = RECIPE.split('\n');
    const after = saved().split('\n');
    expect(after.length).toBe(before.length);
    expect(after.flatMap((l, i) => (l === before[i] ? [] : [[before[i], l]]))).toEqual([['      mode: "0755"', '      mode: "0700"']]);
    expect(saved()).toContain('  entrypoint: ["/init"]\n');
    // Emptied and typed letter by letter: one step back is the text before the field was touched.
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.getByRole('tab', { name: /YAML/ }).click();
    await expect.poll(() => yamlText(page)).toBe(RECIPE);
  });
});
