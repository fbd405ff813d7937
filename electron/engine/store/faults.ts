// Storage faults: the disk under the cache or the output folder is full,
// read-only, over quota or not ours. They are not bugs and not recipe
// mistakes: the message names the folder and the cause in words (exit 1).
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { targetOfTemp } from './atomic';

const CAUSES: Record<string, string> = {
  ENOSPC: 'is full',
  EDQUOT: 'is over its disk quota',
  EROFS: 'is on a read-only filesystem',
  EACCES: 'is not writable by this user',
};

export type FolderRole = 'cache' | 'output';

export class StorageFault extends Error {
  constructor(
    readonly role: FolderRole,
    readonly folder: string,
    readonly code: string,
    readonly file?: string,
  ) {
    const advice = role === 'cache' ? 'free some space (scratchyard cache gc) or choose another with --cache' : 'free some space or choose another with --out';
    const target = file && targetOfTemp(file);
    const where = target && target !== folder ? ` (writing ${target})` : '';
    super(`the ${role} folder ${folder} ${CAUSES[code] ?? 'cannot be written'} (${code})${where}; ${code === 'ENOSPC' || code === 'EDQUOT' ? advice : `choose another with --${role === 'cache' ? 'cache' : 'out'}`}`);
  }
}

export function storageCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code && code in CAUSES ? code : undefined;
}

/** The errno code of a storage fault named in an error's text, for errors a caller re-wrapped as its own. */
function codeInText(e: unknown): string | undefined {
  const m = /\b(ENOSPC|EDQUOT|EROFS|EACCES)\b/.exec((e as Error | undefined)?.message ?? '');
  return m?.[1];
}

function inside(file: string, folder: string): boolean {
  const rel = path.relative(folder, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Why `folder` cannot take writes now (ENOSPC, EROFS, EACCES), or undefined. */
async function probe(folder: string): Promise<string | undefined> {
  try {
    await fs.access(folder, constants.W_OK);
  } catch (e) {
    return storageCode(e);
  }
  try {
    const s = await fs.statfs(folder);
    if (s.bavail === 0) return 'ENOSPC';
  } catch {
    // no statfs here: nothing more to learn
  }
  return undefined;
}

/**
 * The storage fault behind `e`, or undefined when it is something else.
 * Write errors of streams carry no path: then the folder that is full or
 * read-only now is the one at fault. `latched` are faults the stores
 * recorded where they happened, before a caller wrapped them.
 */
export async function storageFault(e: unknown, folders: Partial<Record<FolderRole, string>>, latched: unknown[] = []): Promise<StorageFault | undefined> {
  if (e instanceof StorageFault) return e;
  const first = [e, ...latched].find((x) => storageCode(x));
  const code = storageCode(first) ?? codeInText(e);
  if (!code) return undefined;
  const err = (first ?? e) as NodeJS.ErrnoException & { dest?: string };
  // The innermost folder first, should one hold the other.
  const roles = Object.entries(folders)
    .filter((kv): kv is [FolderRole, string] => !!kv[1])
    .sort((a, b) => b[1].length - a[1].length);
  const text = err.message ?? '';
  const files = [err.path, err.dest].filter((f): f is string => !!f);
  for (const file of files) {
    const hit = roles.find(([, f]) => inside(path.resolve(file), f));
    if (hit) return new StorageFault(hit[0], hit[1], code, file);
  }
  // A path outside both folders is something else's (a host file the recipe names).
  if (files.length) return undefined;
  const named = roles.find(([, f]) => text.includes(f));
  if (named) return new StorageFault(named[0], named[1], code);
  for (const [role, f] of roles) {
    const now = await probe(f);
    if (now) return new StorageFault(role, f, now);
  }
  // EACCES on a path outside both folders is a host file the recipe names, not ours.
  if (code === 'EACCES' || !roles.length) return undefined;
  return new StorageFault(roles[0][0], roles[0][1], code);
}
