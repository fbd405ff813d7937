// scratchyard.lock on disk: read once where it enters (bounded, parsed, every
// field checked by shared/lock.ts's schema; errors name the file, line and
// field), built from what the sources resolved to, written atomically and
// only when its text changed.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { LOCK_FILE, LOCK_VERSION, MAX_LOCK_BYTES, formatLock, lockSchema, type HostLockFile, type Lock, type LockEntry } from '../../../shared/lock';
import type { Source } from '../../../shared/recipe';
import { hostPathProblem } from '../../../shared/grammar';
import type { SourceResult } from '../sources/types';
import { traceListName, TRACE_DIR } from '../sources/trace';
import { hostPackagesOf } from '../sources/host-packages';
import type { BlobStore } from '../store/blobs';
import { writeFileAtomic } from '../store/atomic';
import { RecipeLoadError } from './project';

/** A source as evaluated: its recipe field, its spec and what it gave. */
export interface EvaluatedSource {
  field: string;
  source: Source;
  result: SourceResult;
}

const refuse = (file: string, message: string, field = '', line = 0, column = 0) => new RecipeLoadError([{ file, line, column, field, message }]);

/** The project's lock, or undefined when it has none. */
export async function readLock(projectDir: string): Promise<{ lock: Lock; text: string } | undefined> {
  const file = path.join(projectDir, LOCK_FILE);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw refuse(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): a lock is a regular file`);
  }
  let text: string;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw refuse(file, 'is not a regular file');
    if (st.size > MAX_LOCK_BYTES) throw refuse(file, `is ${st.size} bytes: a lock is refused past ${MAX_LOCK_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await handle.read(buf, 0, st.size, 0);
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, bytesRead));
  } catch (e) {
    if (e instanceof RecipeLoadError) throw e;
    throw refuse(file, `is not UTF-8 text (${(e as Error).message})`);
  } finally {
    await handle.close();
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    const { line, column } = at ? lineOf(text, Number(at[1])) : { line: 0, column: 0 };
    throw refuse(file, `is not JSON: ${(e as Error).message.replace(/^JSON\.parse: /, '')}; delete it to start a new lock`, '', line, column);
  }
  const parsed = lockSchema.safeParse(doc);
  if (!parsed.success) {
    throw new RecipeLoadError(parsed.error.issues.slice(0, 10).map((i) => ({ file, line: 0, column: 0, field: fieldPath(i.path), message: i.message })));
  }
  return { lock: parsed.data, text };
}

function lineOf(text: string, pos: number): { line: number; column: number } {
  const before = text.slice(0, pos).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function fieldPath(p: PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('');
}

/** Write the lock when its text differs from `old`; true when written. */
export async function writeLock(projectDir: string, lock: Lock, old?: string): Promise<boolean> {
  const text = formatLock(lock);
  if (text === old) return false;
  await writeFileAtomic(path.join(projectDir, LOCK_FILE), text);
  return true;
}

/**
 * The lock of a build: the entries sources gave (debian, image, tarball), host
 * files with their digests and Debian packages (the host's dpkg database),
 * project files' digests, traced lists' digests.
 */
export async function lockOf(sources: EvaluatedSource[], projectDir: string, store: BlobStore): Promise<Lock> {
  const entries: LockEntry[] = [];
  const hostFiles: HostLockFile[] = [];
  for (const { field, source: s, result } of sources) {
    if (result.lock) entries.push({ ...result.lock, field });
    else if (s.kind === 'host' || s.kind === 'busybox' || s.kind === 'libs') {
      const files: HostLockFile[] = [];
      for (const [p, e] of [...result.put].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (e.type === 'file' && e.digest && !hostPathProblem(p)) files.push({ path: p, sha256: e.digest });
      hostFiles.push(...files);
      const traces = s.kind === 'host' && s.trace ? await Promise.all(s.trace.map(async (argv) => ({ list: `${TRACE_DIR}/${traceListName(argv)}`, sha256: await store.digestHostFile(path.join(projectDir, TRACE_DIR, traceListName(argv))) }))) : undefined;
      entries.push({ field, kind: s.kind, files, ...(traces ? { traces } : {}) });
    } else if (s.kind === 'copy' && s.from === undefined) {
      const files = [...result.put].filter(([, e]) => e.type === 'file' && e.digest).map(([p, e]) => ({ path: p as string, sha256: e.digest! }));
      entries.push({ field, kind: 'copy', src: s.src, files: files.sort((a, b) => (a.path < b.path ? -1 : 1)) });
    }
  }
  const owners = await debianOwners(hostFiles.map((f) => f.path), store.cacheDir);
  for (const f of hostFiles) Object.assign(f, owners.get(f.path) ?? {});
  return { lockVersion: LOCK_VERSION, sources: entries };
}

/**
 * The Debian package (and its installed version) that ships each host path,
 * from the host's dpkg database (sources/host-packages: one read, or its
 * cached answer for the same database and paths).
 */
export async function debianOwners(paths: string[], cacheDir: string): Promise<Map<string, { package: string; version: string }>> {
  const out = new Map<string, { package: string; version: string }>();
  for (const [p, pkg] of await hostPackagesOf([...new Set(paths)], cacheDir)) out.set(p, { package: pkg.name, version: pkg.version });
  return out;
}
