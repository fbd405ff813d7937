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

/** A storage error a store recorded where it happened, so its folder is known. */
export interface Latched {
  role: FolderRole;
  error: unknown;
}

/**
 * The storage fault behind `e`, or undefined when it is something else.
 * Write errors of streams carry no path, and callers may wrap errors in
 * their own: then a fault the stores latched names the folder, else the
 * folder the failing step writes to (`writing`), else whichever folder
 * cannot take writes now.
 */
export async function storageFault(e: unknown, folders: Partial<Record<FolderRole, string>>, latched: Latched[] = [], writing?: FolderRole): Promise<StorageFault | undefined> {
  if (e instanceof StorageFault) return e;
  const latch = latched.find((l) => storageCode(l.error));
  const code = storageCode(e) ?? codeInText(e) ?? storageCode(latch?.error);
  if (!code) return undefined;
  // The innermost folder first, should one hold the other.
  const roles = Object.entries(folders)
    .filter((kv): kv is [FolderRole, string] => !!kv[1])
    .sort((a, b) => b[1].length - a[1].length);
  const folderOf = (role: FolderRole) => roles.find(([r]) => r === role);
  const err = e as NodeJS.ErrnoException & { dest?: string };
  // A copy's destination is where a write fails.
  const files = storageCode(e) ? [err.dest, err.path].filter((f): f is string => !!f) : [];
  for (const file of files) {
    const hit = roles.find(([, f]) => inside(path.resolve(file), f));
    if (hit) return new StorageFault(hit[0], hit[1], code, file);
  }
  const latchedFolder = latch && folderOf(latch.role);
  if (latchedFolder) return new StorageFault(latch.role, latchedFolder[1], storageCode(latch.error)!, (latch.error as NodeJS.ErrnoException).path);
  // A path outside both folders is something else's (a host file the recipe names).
  if (files.length) return undefined;
  const text = err?.message ?? '';
  const named = roles.find(([, f]) => text.includes(f));
  if (named) return new StorageFault(named[0], named[1], code);
  const target = writing && folderOf(writing);
  if (target) return new StorageFault(target[0], target[1], code);
  for (const [role, f] of roles) {
    const now = await probe(f);
    if (now) return new StorageFault(role, f, now);
  }
  // EACCES with no path is not known to be ours; other faults before the exports are the cache's.
  const cache = folderOf('cache');
  if (code === 'EACCES' || !cache) return undefined;
  return new StorageFault('cache', cache[1], code);
}

/** Something that remembers the first storage fault of its writes (the blob store, the build cache). */
export interface FaultLatch {
  fault?: NodeJS.ErrnoException;
}

/** Run a write for `latch`, remembering a storage fault before any caller wraps it in an error of its own. */
export async function latchingFaults<T>(latch: FaultLatch, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (storageCode(e)) latch.fault ??= e as NodeJS.ErrnoException;
    throw e;
  }
}

