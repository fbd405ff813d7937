// Temporary folders of sandboxed work (a step's root, a run's root, a busybox
// listing, owner lists), named after the process that made them:
// /tmp/scratchyard-KIND-PID-XXXXXX. A process killed outright (kill -9, a
// crash) cannot clean up; the next build or run removes the folders whose
// process is gone.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeInside, subordinateIds } from './idmap';

export type WorkKind = 'step' | 'run' | 'busybox' | 'own' | 'trace';

const WORK_RE = /^scratchyard-(?:step|run|busybox|own|trace)-(\d+)-[A-Za-z0-9]+$/;

export function makeWorkDir(kind: WorkKind): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `scratchyard-${kind}-${process.pid}-`));
}

/** Remove a work folder, including what a step left read-only or owned by subordinate ids. */
export async function removeWorkDir(dir: string): Promise<void> {
  try {
    await fs.rm(dir, { recursive: true, force: true });
  } catch {
    // As root nothing stops rm; a normal user removes as root of a user namespace.
    await removeInside(dir, !!(await subordinateIds()));
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Whether `pid` still runs: a zombie (killed, not yet reaped by its parent) does not. */
async function alive(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat !== undefined) return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let swept: Promise<void> | undefined;

/** Remove this user's work folders whose process no longer runs; once per process. */
export function sweepDeadWorkDirs(): Promise<void> {
  swept ??= (async () => {
    const names = await fs.readdir(os.tmpdir()).catch(() => [] as string[]);
    const me = process.getuid?.() ?? 0;
    for (const n of names) {
      const m = WORK_RE.exec(n);
      if (!m || Number(m[1]) === process.pid || (await alive(Number(m[1])))) continue;
      const dir = path.join(os.tmpdir(), n);
      const st = await fs.lstat(dir).catch(() => undefined);
      if (st?.isDirectory() && st.uid === me) await removeWorkDir(dir).catch(() => {});
    }
  })();
  return swept;
}
