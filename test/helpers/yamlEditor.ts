// Driving the YAML tab's editor (CodeMirror 6) from Playwright: its content
// element is a textbox named scratchyard.yaml, but not an <input>, so its text
// is read from the lines it draws and replaced as a paste would.
import type { Page } from 'playwright-core';

export const yamlBox = (page: Page) => page.getByRole('textbox', { name: 'scratchyard.yaml' });

/** The editor's text (a recipe is short enough for CodeMirror to draw every line). */
export async function yamlText(page: Page): Promise<string> {
  return (await yamlBox(page).locator('.cm-line').allTextContents()).join('\n');
}

/** Replace the editor's whole text, as select-all and paste would. */
export async function setYaml(page: Page, text: string): Promise<void> {
  await yamlBox(page).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

/** Focus is inside the editor (evaluated in the page: these tests compile without DOM types). */
export function focusInEditor(page: Page): Promise<boolean> {
  return page.evaluate<boolean>("!!document.activeElement?.closest('.cm-editor')");
}
