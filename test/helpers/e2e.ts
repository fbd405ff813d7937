// The e2e tests' shared setup: the app in browser mode (`scratchyard gui`) and
// Debian's Chromium, headless, at the window size the screenshots are read at.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CLI, REPO } from './env';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots, to be looked at: test-results/ at the repository root. */
export const SHOTS = path.join(REPO, 'test-results');

/** `scratchyard gui PROJECT` on a free port (or `port`); resolves with the URL it prints (the token included). */
export function startGui(project: string, cacheDir: string, env: NodeJS.ProcessEnv = process.env, port = 0): Promise<{ gui: ChildProcess; url: string }> {
  const gui = spawn(process.execPath, [CLI, 'gui', project, '--port', String(port), '--no-open', '--cache', cacheDir], { stdio: ['ignore', 'pipe', 'pipe'], env });
  return new Promise((resolve, reject) => {
    let out = '';
    gui.stdout!.on('data', (c: Buffer) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('http://127.0.0.1:'));
      if (line) resolve({ gui, url: line.trim() });
    });
    gui.on('exit', (code) => reject(new Error(`gui exited ${code}`)));
  });
}

/** Stop a gui and wait for it to end (its last writes into the cache included); SIGKILL after 10 s. */
export async function stopGui(gui: ChildProcess | undefined): Promise<void> {
  if (!gui || gui.exitCode !== null || gui.signalCode !== null) return;
  const ended = new Promise((r) => gui.once('exit', r));
  gui.kill('SIGTERM');
  const timer = setTimeout(() => gui.kill('SIGKILL'), 10_000);
  await ended;
  clearTimeout(timer);
}

/** Chromium with a 1360×900 page at `url`. */
export async function openPage(url: string): Promise<{ browser: Browser; page: Page }> {
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await page.goto(url);
  return { browser, page };
}

export interface AppPage {
  gui: ChildProcess;
  url: string;
  browser: Browser;
  page: Page;
}

/** The app on `project` (its own cache folder) and a Chromium page on it. */
export async function launchApp(project: string, cacheDir: string, env: NodeJS.ProcessEnv = process.env, port = 0): Promise<AppPage> {
  const { gui, url } = await startGui(project, cacheDir, env, port);
  try {
    return { gui, url, ...(await openPage(url)) };
  } catch (e) {
    await stopGui(gui);
    throw e;
  }
}

/** The page's browser closed and the gui stopped (waited for: it writes into its cache as it ends). */
export async function closeApp(browser: Browser | undefined, gui: ChildProcess | undefined): Promise<void> {
  await browser?.close();
  await stopGui(gui);
}

/** The window sizes every screen is looked at in. */
export const SHOT_SIZES = [
  [1440, 900],
  [1024, 700],
] as const;

/** A screenshot at each agreed window size, `test-results/NAME-WxH.png`; the page is put back at 1360×900. */
export async function shotsAtSizes(page: Page, name: string): Promise<void> {
  for (const [width, height] of SHOT_SIZES) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: path.join(SHOTS, `${name}-${width}x${height}.png`) });
  }
  await page.setViewportSize({ width: 1360, height: 900 });
}
