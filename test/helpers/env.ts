// Shared test plumbing: the CLI as a process, temp folders, native-tool gates.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, rmSync, accessSync, constants } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export const REPO = path.resolve(__dirname, '../..');
export const CLI = path.join(REPO, 'dist/cli.mjs');
export const HELLO = path.join(REPO, 'assets/examples/hello');
export const DOCKER = '/usr/bin/docker';

export function which(cmd: string): string | undefined {
  if (cmd.startsWith('/')) return exists(cmd) ? cmd : undefined;
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    const p = path.join(d, cmd);
    if (exists(p)) return p;
  }
  return undefined;
}

function exists(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Skip a test only on a developer machine without the tool. Under CI=true the
 * test runs and fails on the missing tool: CI must install everything.
 */
export function lacks(...cmds: string[]): boolean {
  if (process.env.CI === 'true') return false;
  return cmds.some((c) => !which(c));
}

export function dockerWorks(): boolean {
  if (process.env.CI === 'true') return true;
  return !!which(DOCKER) && spawnSync(DOCKER, ['info'], { stdio: 'ignore' }).status === 0;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

// A bound on every synchronous child: spawnSync blocks the test's event loop,
// so vitest's own timeout cannot end a child that hangs. Tests that need
// longer pass their own timeout.
const CHILD_LIMIT = { timeout: 600_000, killSignal: 'SIGKILL' } as const;

export function cli(args: string[], opts: SpawnSyncOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, ...CHILD_LIMIT, ...opts });
  return { code: r.status ?? 128, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}): CliResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...CHILD_LIMIT, ...opts });
  return { code: r.status ?? 128, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A temporary folder removed after the test file. */
export function tempDir(prefix = 'sy-test-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  // Retried: a CLI process that is ending may still be writing its code cache into a cache folder here.
  afterAll(() => rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
  return d;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
