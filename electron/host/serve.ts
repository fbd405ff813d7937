// `scratchyard gui`: browser mode as a process. It keeps serving whatever a
// handler throws, keeps the token off every command line, and when it stops
// (SIGINT, SIGTERM, SIGHUP, or its parent's death) it takes its children and
// its temporary folder with it. Everything temporary the engine and its
// children make goes under one folder of its own (TMPDIR), removed at the end.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeRoot } from '../engine/store/materialize';
import { startBrowserMode } from './browser';
import { openInBrowser, writeLaunchFile } from './launch';
import { reapDescendants } from './reap';

export interface GuiOptions {
  project: string;
  cacheDir: string;
  rendererDir: string;
  port: number;
  open: boolean;
}

/** The folders of the server with that pid: scratchyard-gui-PID-XXXXXX and scratchyard-gui-PID-tmp-XXXXXX. */
const PRIVATE_PREFIX = 'scratchyard-gui-';
const PRIVATE_RE = new RegExp(`^${PRIVATE_PREFIX}(\\d+)-(?:tmp-)?[A-Za-z0-9]{6}$`);

/** A new folder of this server in the system temp folder, with `mode`. */
async function ownFolder(kind: '' | 'tmp-', mode: number): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${PRIVATE_PREFIX}${process.pid}-${kind}`));
  await fs.chmod(dir, mode);
  return dir;
}

/** How often the parent is checked for: a reparented server stops. */
const PARENT_POLL_MS = 500;

export async function serveGui(opts: GuiOptions): Promise<number> {
  keepServingOnFaults();
  const stop = stopRequested();
  const userEnv = { ...process.env };
  await sweepStale(os.tmpdir());
  // The launch file's folder: nobody else may even enter it.
  const priv = await ownFolder('', 0o700);
  // The engine's temporaries: others may pass through (a build step's subordinate ids, mmdebstrap's
  // unshared root must reach their folders below) but not list it, as they may list /tmp.
  const tmp = await ownFolder('tmp-', 0o711);
  process.env.TMPDIR = tmp;
  const removeFolders = async () => {
    await removeRoot(priv);
    await removeRoot(tmp);
  };

  let server;
  try {
    server = await startBrowserMode({ ...opts, token: restartToken(process.env.SCRATCHYARD_GUI_TOKEN) });
  } catch (e) {
    await removeFolders();
    throw e;
  }
  const launch = await writeLaunchFile(priv, server.url);
  // The URL goes to the terminal (as Jupyter prints it), never into an argv.
  process.stdout.write(`${server.url}\n`);
  process.stderr.write(`Scratchyard is running in browser mode; open the URL above (it carries this launch's token), or the file ${launch}. Ctrl-C stops it.\n`);
  const spare = new Set<number>();
  if (opts.open) {
    const pid = openInBrowser(launch, userEnv);
    if (pid) spare.add(pid);
  }

  const why = await stop;
  process.stderr.write(`scratchyard: stopping (${why})\n`);
  const closing = server.close();
  // Children first: runs and steps then fail fast and remove their own temporaries.
  await reapDescendants(spare);
  await closing;
  await reapDescendants(spare, 500);
  await removeFolders();
  // Lingering handles (a native PTY, a half-closed socket) must not keep a stopped server alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
  return 0;
}

/**
 * A server restarted on the same port may keep its windows (they reconnect) when
 * it is given the last launch's token through the environment, never the command line.
 */
function restartToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]{32,128}$/.test(value)) throw new Error('SCRATCHYARD_GUI_TOKEN: expected 32 to 128 characters of A-Z, a-z, 0-9, _ and -');
  return value;
}

/** Resolves with the reason the server should stop. */
function stopRequested(): Promise<string> {
  return new Promise((resolve) => {
    // Kept, not once: a second signal (Ctrl-C reaches both `npm start` and us) must not kill the cleanup.
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => resolve(s));
    const parent = process.ppid;
    const timer = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(timer);
        resolve('its parent process ended');
      }
    }, PARENT_POLL_MS);
    timer.unref();
  });
}

/** A fault in one handler is logged and the server goes on: builds and terminals of other requests live. */
function keepServingOnFaults(): void {
  const log = (kind: string) => (e: unknown) => process.stderr.write(`scratchyard: ${kind} (still serving): ${e instanceof Error ? (process.env.SCRATCHYARD_DEBUG ? e.stack : e.message) : String(e)}\n`);
  process.on('unhandledRejection', log('unhandled rejection'));
  process.on('uncaughtException', log('uncaught exception'));
}

/** Remove the folders of servers that died without cleaning up (kill -9): ours, their pid gone. */
async function sweepStale(dir: string): Promise<void> {
  const uid = process.getuid?.();
  for (const name of await fs.readdir(dir).catch(() => [])) {
    const pid = PRIVATE_RE.exec(name)?.[1];
    if (!pid || Number(pid) === process.pid || running(Number(pid))) continue;
    const st = await fs.lstat(path.join(dir, name)).catch(() => undefined);
    if (st?.isDirectory() && st.uid === uid) await removeRoot(path.join(dir, name)).catch(() => {});
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: someone else's process is running with that pid.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
