// A lock between processes sharing one cache folder: a file created with
// O_EXCL ("wx"), holding who took it. Used where two processes would otherwise
// write the same thing at once (skopeo rewrites the image layout's index.json
// whole, so two fetches into it at once could drop an entry).
//
// A holder that died leaves its file behind: the lock is stale when its
// process is gone (same host) or its heartbeat (the file's mtime, renewed while
// held) is older than STALE_MS (another host, or a pid reused). A stale file
// is removed only if it is still the one judged stale, then taken like any other.
import { promises as fs } from 'node:fs';
import os from 'node:os';

const POLL_MS = 100;
const HEARTBEAT_MS = 10_000;
const STALE_MS = 60_000;

interface Holder {
  pid: number;
  host: string;
  /** Distinguishes two holdings by one process. */
  nonce: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function holderOf(file: string): Promise<{ text: string; holder?: Holder; mtimeMs: number } | undefined> {
  const [text, st] = await Promise.all([fs.readFile(file, 'utf8').catch(() => undefined), fs.stat(file).catch(() => undefined)]);
  if (text === undefined || !st) return undefined;
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    const ok = typeof h.pid === 'number' && Number.isInteger(h.pid) && h.pid > 0 && typeof h.host === 'string' && typeof h.nonce === 'string';
    return { text, mtimeMs: st.mtimeMs, ...(ok ? { holder: h as Holder } : {}) };
  } catch {
    return { text, mtimeMs: st.mtimeMs };
  }
}

/** Is the lock in `file` left by a holder that is gone? A half-written file is judged by its age alone. */
function stale(found: { holder?: Holder; mtimeMs: number }): boolean {
  if (Date.now() - found.mtimeMs > STALE_MS) return true;
  return found.holder !== undefined && found.holder.host === os.hostname() && !alive(found.holder.pid);
}

/**
 * Run `fn` holding the lock `file` (waiting for another holder to let go, or
 * taking over a stale lock); `onWait` is told once when another holds it.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: { signal?: AbortSignal; onWait?: (holder: string) => void } = {}): Promise<T> {
  const me: Holder = { pid: process.pid, host: os.hostname(), nonce: `${Date.now()}-${Math.random().toString(36).slice(2)}` };
  const text = JSON.stringify(me);
  let told = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      await fs.writeFile(file, text, { flag: 'wx', mode: 0o644 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const found = await holderOf(file);
    if (found && stale(found)) {
      // Remove it only if it is still the file judged stale (another waiter may have taken over already).
      const again = await holderOf(file);
      if (again?.text === found.text && again.mtimeMs === found.mtimeMs) await fs.rm(file, { force: true });
      continue;
    }
    if (!told && found?.holder) {
      told = true;
      opts.onWait?.(`process ${found.holder.pid}${found.holder.host === me.host ? '' : ` on ${found.holder.host}`}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const beat = setInterval(() => void fs.utimes(file, new Date(), new Date()).catch(() => undefined), HEARTBEAT_MS);
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    // Ours still: remove it (a holder judged stale and replaced does not remove its successor's).
    const now = await holderOf(file);
    if (now?.text === text) await fs.rm(file, { force: true });
  }
}
