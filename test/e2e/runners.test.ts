// The runners in the app: "Run everywhere" fills the "Run results" table
// (chroot, VM, docker agree on the greeting), each output one click away, and
// "Open VM console" boots the image with a shell on the serial console.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DOCKER, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { CHROMIUM, SHOTS, launchApp, stopGui } from '../helpers/e2e';

const work = tempDir('sy-e2e-runners-');
const tag = `scratchyard-test/e2e-runners:${process.pid}`;
const project = helloCopy(path.join(work, 'hello'), tag);
let gui: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;


describe.skipIf(lacks(CHROMIUM, 'qemu-system-x86_64') || !dockerWorks())('runners in the app', () => {
  beforeAll(async () => {
    ({ gui, url, browser, page } = await launchApp(project, path.join(work, 'cache')));
  });

  afterAll(async () => {
    await browser?.close();
    await stopGui(gui);
    if (dockerWorks()) sh(DOCKER, ['rmi', '-f', tag]);
  });

  it('Run everywhere: the table shows chroot, VM and docker agreeing, each output one click away', async () => {
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('button', { name: 'Run everywhere' }).click();
    const table = page.getByRole('table', { name: 'Run results' });
    // A row per runner at once; the table is busy until every runner has ended.
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 10_000 }).toBe(4);
    await expect.poll(() => table.getAttribute('aria-busy'), { timeout: 110_000, interval: 1000 }).toBe('false');
    const rows = await table.locator('tbody tr').allTextContents();
    expect(rows[0]).toMatch(/^chrootexit 0.*matches/);
    expect(rows[1]).toMatch(/^VMexit 0.*matchesaccel (kvm|tcg)/);
    expect(rows[2]).toMatch(/^dockerexit 0.*matches/);
    // podman where it runs; otherwise a skipped row that says why (missing, or no containers in this sandbox).
    expect(rows[3]).toMatch(/^podman(exit 0.*matches|skipped.*podman (not found|cannot run containers here|does not work here))/);
    expect(await page.getByText(/^All [34] runners that ran agree \(compared: exit code and stdout\)/).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Output of VM' }).click();
    expect(await page.getByLabel('stdout of VM').textContent()).toBe('Hello, world!\n');
    await page.screenshot({ path: path.join(SHOTS, 'runners-01-everywhere.png') });
  });

  it('Open VM console: a shell on the guest serial console runs what is typed', async () => {
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('button', { name: 'Open VM console' }).click();
    const term = page.getByRole('region', { name: 'VM console' });
    await expect.poll(() => term.textContent(), { timeout: 110_000, interval: 1000 }).toContain('/ # ');
    await term.click();
    await page.keyboard.type('echo $((6*7)); cat /proc/1/comm\n');
    await expect.poll(() => term.textContent(), { timeout: 30_000 }).toContain('42');
    await expect.poll(() => term.textContent()).toContain('rdinit');
    await page.screenshot({ path: path.join(SHOTS, 'runners-02-vm-console.png') });
    await page.keyboard.type('exit\n');
    await expect.poll(() => page.locator('.runs .result:visible').textContent(), { timeout: 30_000 }).toMatch(/exit code 0/);
  });

  it('over the contract: run.start with runner docker streams the program into a terminal; a bad runner is refused', async () => {
    const u = new URL(url);
    const token = new URLSearchParams(u.hash.slice(1)).get('token')!;
    const ws = new WebSocket(`ws://${u.host}/ws?token=${token}`);
    await new Promise((resolve, reject) => (ws.on('open', resolve), ws.on('error', reject)));
    const messages: { id?: number; event?: string; data?: string; code?: number; result?: { id: string }; error?: { message: string } }[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(String(m))));
    ws.send(JSON.stringify({ id: 1, request: { cmd: 'runs.compare', runners: ['lxc'], args: [] } }));
    await expect.poll(() => messages.find((m) => m.id === 1)?.error?.message).toMatch(/invalid request: runners\.0/);
    ws.send(JSON.stringify({ id: 2, request: { cmd: 'run.start', runner: 'docker', args: [], cols: 80, rows: 20 } }));
    await expect.poll(() => messages.find((m) => m.id === 2)?.result?.id, { timeout: 60_000 }).toBeTruthy();
    const id = messages.find((m) => m.id === 2)!.result!.id;
    await expect.poll(() => messages.find((m) => m.event === 'term.exit' && (m as { id?: unknown }).id === id), { timeout: 60_000 }).toBeTruthy();
    const out = messages.filter((m) => m.event === 'term.data' && (m as { id?: unknown }).id === id).map((m) => m.data).join('');
    expect(out).toContain('Hello, world!');
    expect(messages.find((m) => m.event === 'term.exit' && (m as { id?: unknown }).id === id)!.code).toBe(0);
    ws.close();
  });
});
