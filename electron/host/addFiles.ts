// Desktop drops in browser mode: the page cannot tell the host a dropped
// file's path, so it sends the bytes and they are written into the project
// folder. Names are checked part by part (no "..", no absolute paths), each
// dropped file or folder is written under a temporary name and renamed into
// place, and an existing name is never overwritten: the new one gets "-2".
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ADD_FILES_MAX } from '../../shared/contract';
import { tempPathFor } from '../engine/store/atomic';

export interface DroppedFile {
  path: string;
  base64: string;
}

/** The parts of a dropped file's relative path, or an error naming it. */
export function dropPathParts(p: string): string[] {
  const parts = p.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..' || part.includes('\0') || part.includes('\\')) {
      throw new Error(`dropped file "${p}": expected a relative path of plain names (no "", ".", ".." or "\\" parts)`);
    }
  }
  return parts;
}

/** name-N.ext: the name a drop gets when `name` is taken. */
export function numbered(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}-${n}${name.slice(dot)}` : `${name}-${n}`;
}

/** Write dropped files into `projectDir`; returns each top-level name and the name it got. */
export async function addFiles(projectDir: string, files: DroppedFile[]): Promise<{ from: string; to: string }[]> {
  const tops = new Map<string, { rest: string[]; bytes: Buffer }[]>();
  let total = 0;
  for (const f of files) {
    const [top, ...rest] = dropPathParts(f.path);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(f.base64)) throw new Error(`dropped file "${f.path}": its content is not base64`);
    const bytes = Buffer.from(f.base64, 'base64');
    total += bytes.length;
    if (total > ADD_FILES_MAX) throw new Error(`dropped files: more than ${ADD_FILES_MAX >> 20} MiB at once; copy large files into the project folder instead`);
    tops.set(top, [...(tops.get(top) ?? []), { rest, bytes }]);
  }
  for (const [top, entries] of tops) {
    if (entries.length > 1 && entries.some((e) => e.rest.length === 0)) throw new Error(`dropped files: "${top}" is both a file and a folder`);
  }
  const dir = await fs.realpath(projectDir);
  const exists = async (n: string) => !!(await fs.lstat(path.join(dir, n)).catch(() => undefined));
  const added: { from: string; to: string }[] = [];
  for (const [top, entries] of tops) {
    const single = entries.length === 1 && entries[0].rest.length === 0;
    // The same file dropped again is the file already there.
    if (single && (await fs.readFile(path.join(dir, top)).catch(() => undefined))?.equals(entries[0].bytes)) {
      added.push({ from: top, to: top });
      continue;
    }
    let to = top;
    for (let n = 2; await exists(to); n++) to = numbered(top, n);
    await writeEntry(path.join(dir, to), single ? entries[0].bytes : entries);
    added.push({ from: top, to });
  }
  return added;
}

async function writeEntry(target: string, content: Buffer | { rest: string[]; bytes: Buffer }[]): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    if (Buffer.isBuffer(content)) await fs.writeFile(tmp, content, { mode: 0o644, flag: 'wx' });
    else {
      await fs.mkdir(tmp, { mode: 0o755 });
      for (const e of content) {
        const file = path.join(tmp, ...e.rest);
        await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
        await fs.writeFile(file, e.bytes, { mode: 0o644, flag: 'wx' });
      }
    }
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
