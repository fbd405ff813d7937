// The cache's own files are untrusted: a blob is checked against its name as
// it is read (one pass, the hash rides along with the bytes), blob files must
// be regular files (a symlink could point anywhere on the host), and JSON
// documents are bounded before they are parsed.
import { createHash } from 'node:crypto';
import { constants, fstatSync, openSync, closeSync, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import type { Sha256 } from '../../../shared/brand';

export const HEX64 = /^[0-9a-f]{64}$/;

/** A cached content whose bytes are not the ones its digest names (or that is missing, or not a file). */
export class CorruptBlobError extends Error {
  /** The graph node that was reading it, when the build knows (set by entry/build). */
  node?: string;
  /** The pack that held it (removed with it), for a packed content. */
  pack?: string;
  constructor(
    readonly digest: Sha256,
    readonly file: string,
    readonly detail: string,
  ) {
    super(`cached blob sha256:${digest} (${file}) ${detail}; it was removed from the cache`);
  }
}

/** A blob still bad after the build rebuilt what used it: the message says what to run. */
export class CorruptCacheError extends Error {
  constructor(
    readonly blob: CorruptBlobError,
    cacheDir: string,
  ) {
    super(`${blob.message}${blob.node ? ` (while building ${blob.node})` : ''}, and the rebuild met a bad blob again; run \`scratchyard cache verify --cache ${cacheDir}\`, then build again`);
  }
}

/** The sha256 of an open file from its start, read through `buf` (the caller's, reused), and how many bytes it had. */
export async function hashOpenFile(fh: FileHandle, buf: Buffer): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for (let n; (n = (await fh.read(buf, 0, buf.length, size)).bytesRead) > 0; size += n) hash.update(buf.subarray(0, n));
  return { hex: hash.digest('hex'), size };
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Why `data` is not the content `digest` names, or undefined when it is. */
export function mismatch(digest: string, data: Uint8Array, size?: number): string | undefined {
  if (size !== undefined && data.length !== size) return `has ${data.length} bytes where its index says ${size}`;
  return sha256Hex(data) === digest ? undefined : 'does not match its digest';
}

/**
 * A pass-through that hashes what flows through it and fails at the end (or as
 * soon as it is too long) when the bytes are not `digest`'s. `fail` builds the
 * error, and is where the caller drops the bad blob.
 */
export function verifier(digest: string, size: number | undefined, fail: (detail: string) => Error): Transform {
  const hash = createHash('sha256');
  let seen = 0;
  return new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (size !== undefined && seen > size) return cb(fail(`is longer than its index says (${size} bytes)`));
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (size !== undefined && seen !== size) return cb(fail(`has ${seen} bytes where its index says ${size}`));
      cb(hash.digest('hex') === digest ? null : fail(seen === 0 ? 'is empty' : 'does not match its digest'));
    },
  });
}

/** Why a cache file is refused before it is read: not there, a symlink, not a regular file. */
export type Refusal = 'is missing' | 'is a symbolic link, not a file' | 'is not a regular file';

/**
 * Open a cache file for reading without following a symlink in its last
 * component; a refusal when it is not a regular file (errors other than
 * those are thrown).
 */
export function openRegularSync(file: string): { fd: number; size: number } | Refusal {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in a file's place is refused below, not waited on.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'is missing';
    if (code === 'ELOOP') return 'is a symbolic link, not a file';
    throw e;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    return 'is not a regular file';
  }
  return { fd, size: st.size };
}

/**
 * A cache JSON document: `{ value }`, `{ bad }` saying why it is refused (not
 * a regular file, over `cap` bytes, not JSON), or undefined when it is missing.
 */
export async function readJsonCapped(file: string, cap: number): Promise<{ value: unknown } | { bad: string } | undefined> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') return { bad: 'is a symbolic link' };
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { bad: 'is not a regular file' };
    if (st.size > cap) return { bad: `is ${st.size} bytes (at most ${cap})` };
    try {
      return { value: JSON.parse(await fh.readFile('utf8')) };
    } catch {
      return { bad: 'is not JSON' };
    }
  } finally {
    await fh.close();
  }
}
