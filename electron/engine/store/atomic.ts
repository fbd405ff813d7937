// Writes that are all-or-nothing: write a temporary name in the same folder,
// then rename. A killed build leaves at most a dot-file named after its PID,
// which the next build in that folder removes.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const TEMP_RE = /^\.(.+)\.scratchyard-(\d+)-[0-9a-f]{8}\.tmp$/;

/** The file a temporary stands for (itself when it is not one): messages name outputs, not our dot-files. */
export function targetOfTemp(file: string): string {
  const m = TEMP_RE.exec(path.basename(file));
  return m ? path.join(path.dirname(file), m[1]) : file;
}

export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.scratchyard-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** `write` fills a temporary name beside `target`, which then takes its place; on any failure the temporary is removed. */
async function viaTemp(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await write(tmp);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

export function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  return viaTemp(target, (tmp) => fs.writeFile(tmp, data, { mode: 0o644 }));
}

/**
 * A JSON array written atomically a batch of rows at a time: the same text as
 * JSON.stringify of the whole array, without holding all of it (a large
 * tree's is tens of MB) as one string and one buffer.
 */
export function writeJsonRowsAtomic(target: string, rows: Iterable<unknown>): Promise<void> {
  return viaTemp(target, async (tmp) => {
    const fh = await fs.open(tmp, 'w', 0o644);
    try {
      let text = '[';
      let first = true;
      for (const row of rows) {
        text += (first ? '' : ',') + JSON.stringify(row);
        first = false;
        if (text.length >= 1 << 16) {
          await fh.write(text);
          text = '';
        }
      }
      await fh.write(text + ']');
    } finally {
      await fh.close();
    }
  });
}

/** Put a finished temporary file or folder in place of `target`, replacing what was there. */
export async function replaceWith(tmp: string, target: string): Promise<void> {
  try {
    await fs.rename(tmp, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR' && code !== 'ENOTDIR') throw e;
    // A folder (or a file where a folder was): move the old one aside, then swap.
    const old = tempPathFor(target);
    await fs.rename(target, old);
    await fs.rename(tmp, target);
    await fs.rm(old, { recursive: true, force: true });
  }
}

/** Whether process `pid` runs (ours counts). */
export function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove temporaries left in `dir` by builds that no longer run. */
export async function sweepStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  await Promise.all(
    names.map(async (n) => {
      const m = TEMP_RE.exec(n);
      if (m && !alive(Number(m[2]))) await fs.rm(path.join(dir, n), { recursive: true, force: true });
    }),
  );
}

/**
 * A folder inside a project that builds write into (out/, scratchyard.trace/),
 * made when missing. A project is untrusted content: one that ships such a
 * folder as a symbolic link (or a file) would have the build write wherever
 * it points, so anything but a real folder is refused, naming it. Undefined
 * when it is fine.
 */
export async function projectFolderProblem(dir: string): Promise<string | undefined> {
  const st = await fs.lstat(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
  if (!st) return undefined;
  if (st.isSymbolicLink()) return `${dir} is a symbolic link (to ${await fs.readlink(dir)}): a project's own folder is written only when it is a real folder`;
  if (!st.isDirectory()) return `${dir} is not a folder`;
  return undefined;
}
