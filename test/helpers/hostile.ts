// Plumbing for hostile-input tests: an arena whose cache and output sit beside a
// canary folder (climbing names aim there), a check that nothing outside the
// cache and output changed, and the CLI run bounded in time with its peak memory
// measured by /usr/bin/time (Debian's `time`), not by the process itself.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { CLI, tempDir } from './env';

export interface Arena {
  /** Everything lives under here; the canary sits next to cache and out. */
  dir: string;
  cache: string;
  out: string;
  canary: string;
}

export function arena(prefix = 'sy-hostile-'): Arena {
  const dir = tempDir(prefix);
  const a = { dir, cache: path.join(dir, 'cache'), out: path.join(dir, 'out'), canary: path.join(dir, 'canary') };
  mkdirSync(a.canary);
  writeFileSync(path.join(a.canary, 'keep'), 'canary\n');
  return a;
}

/**
 * Every path under the arena but cache/ and out/, with type, size and mtime; and scratchyard's
 * temporaries in /tmp, unless the runs checked had a TMPDIR of their own inside the arena
 * (`privateTmp`), which the walk covers without other test files' temporaries coming and going.
 */
export function outsideState(a: Arena, privateTmp = false): string[] {
  const rows: string[] = [];
  const walk = (d: string) => {
    const names = readdirSync(d).sort();
    // A project's build writes scratchyard.lock beside its recipe (issue 16): that file, and the folder's
    // mtime it changes, are the build's own output; anything else written there still shows.
    const project = names.includes('scratchyard.yaml');
    for (const n of names) {
      const p = path.join(d, n);
      if (p === a.cache || p === a.out || (project && n === 'scratchyard.lock')) continue;
      const st = lstatSync(p);
      const isProject = st.isDirectory() && readdirSync(p).includes('scratchyard.yaml');
      rows.push(`${path.relative(a.dir, p)} ${st.mode.toString(8)} ${st.size} ${isProject ? '-' : st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(a.dir);
  // The gui servers of e2e tests running beside this one come and go here (their own clean-up is tested in hostile-server).
  if (!privateTmp) for (const n of readdirSync(os.tmpdir()).sort()) if (n.startsWith('scratchyard-') && !n.startsWith('scratchyard-gui-')) rows.push(`/tmp/${n}`);
  rows.push(`canary=${readFileSync(path.join(a.canary, 'keep'), 'utf8')}`);
  return rows;
}

/** Run `fn` and assert that nothing outside the arena's cache and output changed (see outsideState for `privateTmp`). */
export function expectContained<T>(a: Arena, fn: () => T, privateTmp = false): T {
  const before = outsideState(a, privateTmp);
  const r = fn();
  expect(outsideState(a, privateTmp)).toEqual(before);
  return r;
}

export interface BoundedResult {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident memory of the CLI process, in MiB. */
  maxRssMiB: number;
  timedOut: boolean;
}

/** The CLI as a process (`cli`: another copy of the bundle), killed after `timeoutMs`, its peak RSS read by /usr/bin/time. */
export function boundedCli(args: string[], opts: SpawnSyncOptions & { timeoutMs?: number; cli?: string } = {}): BoundedResult {
  const { timeoutMs = 60_000, cli = CLI, ...spawnOpts } = opts;
  const rssFile = path.join(os.tmpdir(), `sy-rss-${process.pid}-${Math.random().toString(16).slice(2)}`);
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-q', '-f', '%M', '-o', rssFile, process.execPath, cli, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    ...spawnOpts,
  });
  const ms = performance.now() - t0;
  let maxRssMiB = NaN;
  try {
    maxRssMiB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024;
  } catch {
    // killed before time(1) wrote it
  }
  rmSync(rssFile, { force: true });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return { code: r.status ?? 128, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr), ms, maxRssMiB, timedOut };
}

/** The usual verdict on a hostile input: refused with `code`, in bounded time and memory, the message naming `culprit`. */
export function expectRefused(r: BoundedResult, code: number, culprit: string | RegExp, maxRssMiB = 512): void {
  expect(r.timedOut, `timed out after ${Math.round(r.ms)} ms`).toBe(false);
  if (typeof culprit === 'string') expect(r.stderr).toContain(culprit);
  else expect(r.stderr).toMatch(culprit);
  expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // no stack trace
  expect(r.code).toBe(code);
  expect(r.maxRssMiB).toBeLessThan(maxRssMiB);
}
