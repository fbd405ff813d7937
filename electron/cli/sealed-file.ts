// Files the CLI's entry keeps in the cache folder for itself (the V8 code
// cache, the no-op stamps) and reads before the engine loads. The cache is
// untrusted like everything in it, so such a file is believed only when it is
// a regular file owned by us and writable by nobody else, in a folder of the
// same kind, of bounded size, starting with its kind's magic and the sha256 of
// the rest. It is written through a private temporary and a rename. Nothing
// here throws: a file that fails any check is as good as absent.
import { createRequire } from 'node:module';
import path from 'node:path';

// Required, not imported: an ESM import of a built-in reads every export to
// build its facade, and node:crypto's `webcrypto` getter alone loads WebCrypto
// (~40 ms of a 150 ms start). (process.getBuiltinModule would do, from Node 20.16 on.)
const builtin = createRequire(import.meta.url);
const { createHash } = builtin('node:crypto') as typeof import('node:crypto');
const fs = builtin('node:fs') as typeof import('node:fs');

/** Ours, and writable by nobody else. */
export function ownedAndPrivate(st: { uid: number; mode: number }): boolean {
  return st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
}

/** `dir` made (mode 0700) when missing; true when it is then a folder of ours that nobody else can write. */
export function privateDir(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  try {
    const st = fs.lstatSync(dir);
    return st.isDirectory() && ownedAndPrivate(st);
  } catch {
    return false;
  }
}

/** The payload of the sealed file `file` (see the file comment), or undefined. */
export function readSealed(file: string, magic: Buffer, cap: number): Buffer | undefined {
  const header = magic.length + 32;
  let fd: number | undefined;
  try {
    const dir = fs.lstatSync(path.dirname(file));
    if (!dir.isDirectory() || !ownedAndPrivate(dir)) return undefined;
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile() || !ownedAndPrivate(st) || st.size < header || st.size > cap) return undefined;
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = fs.readSync(fd, buf, got, st.size - got, got);
      if (n === 0) return undefined;
      got += n;
    }
    const payload = buf.subarray(header);
    const sealed = buf.subarray(0, magic.length).equals(magic) && createHash('sha256').update(payload).digest().equals(buf.subarray(magic.length, header));
    return sealed ? payload : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** `payload` sealed with `magic` into `file` (mode 0600); false when anything failed. */
export function writeSealed(file: string, magic: Buffer, payload: Buffer): boolean {
  return writeAtomic(file, Buffer.concat([magic, createHash('sha256').update(payload).digest(), payload]), 0o600);
}

/** A temporary of writeAtomic's, beside the file it becomes: `.NAME.scratchyard-PID-HEX.tmp`. */
export const isTemporary = (name: string) => name.startsWith('.') && name.endsWith('.tmp');

/** Write `data` to `file` through a private temporary and a rename; false when anything failed (nothing is left behind). */
export function writeAtomic(file: string, data: Buffer | string, mode: number): boolean {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.scratchyard-${process.pid}-${Math.random().toString(16).slice(2)}.tmp`);
  try {
    fs.writeFileSync(tmp, data, { mode, flag: 'wx' });
    fs.renameSync(tmp, file);
    return true;
  } catch {
    fs.rmSync(tmp, { force: true });
    return false;
  }
}
