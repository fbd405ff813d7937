// The engine bundle (dist/cli-engine.cjs) compiled with a V8 code cache, so a
// command does not re-parse 2 MB of JavaScript on every start. Node 20 has no
// module.enableCompileCache and a startup snapshot fails on node:http, so the
// bundle is CommonJS run through vm.Script with cachedData.
//
// The cache file lives in the cache folder and is untrusted like all of it: it
// is used only when it is a regular file owned by us and writable by nobody
// else, in a folder of the same kind; when its own sha256 matches; and when
// V8 accepts it (V8 checks its version, flags and the source). Anything else
// is ignored and a fresh one is written, atomically, at exit. No fault here
// ever fails the command.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// Required, not imported: an ESM import of a built-in reads every export to
// build its facade, and node:crypto's `webcrypto` getter alone loads WebCrypto
// (~40 ms of a 150 ms start). (process.getBuiltinModule would do, from Node 20.16 on.)
const builtin = createRequire(import.meta.url);
const { createHash } = builtin('node:crypto') as typeof import('node:crypto');
const { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } = builtin('node:fs') as typeof import('node:fs');
const vm = builtin('node:vm') as typeof import('node:vm');
const { isAscii } = builtin('node:buffer') as typeof import('node:buffer');

const MAGIC = Buffer.from('SYV8\0\0\0\x01');
const HEADER = MAGIC.length + 32;
/** The cache of a 2 MB bundle is a few MB; anything far larger is not ours. */
const CAP = 64 << 20;

export interface LoadedBundle {
  exports: unknown;
  /** Write the code cache for this command if the one read was missing or refused; `cacheDir` as the command resolved it. */
  save(cacheDir: string): void;
}

/** Compile and run the CommonJS bundle `file`, with the code cache kept under `cacheDir` for command `key`. */
export function loadBundle(file: string, cacheDir: string, key: string): LoadedBundle {
  // Hashed as read (hashing the string would encode all of it to UTF-8 again).
  const bytes = readFileSync(file);
  const digest = createHash('sha256').update(bytes).digest('hex');
  // The bundle is built ASCII-only (esbuild's charset): decoded as latin1 it is a one-byte string at memcpy speed.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const cacheFile = path.join(cacheDir, 'v8', `${digest}.${key}.bin`);
  const cachedData = readCache(cacheFile);
  // The wrapper stays on the bundle's first line, so its line numbers (and its source map) still hold.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __importMetaUrl) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const fresh = !cachedData || script.cachedDataRejected === true;
  const module = { exports: {} as unknown };
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  fn(module.exports, createRequire(file), module, file, path.dirname(file), pathToFileURL(file).href);
  return {
    exports: module.exports,
    save(resolved: string) {
      // Only into the folder the command itself used, and only once that folder exists (commands create it).
      if (!fresh || path.resolve(resolved) !== path.resolve(cacheDir)) return;
      writeCache(cacheFile, () => script.createCachedData());
    },
  };
}

/** The cache's payload, or undefined when absent, not trustworthy, or damaged. */
function readCache(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    if (!ownedAndPrivate(lstatSync(path.dirname(file))) || !lstatSync(path.dirname(file)).isDirectory()) return undefined;
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || !ownedAndPrivate(st) || st.size < HEADER || st.size > CAP) return undefined;
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n === 0) return undefined;
      got += n;
    }
    if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const payload = buf.subarray(HEADER);
    const sum = createHash('sha256').update(payload).digest();
    return sum.equals(buf.subarray(MAGIC.length, HEADER)) ? payload : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function ownedAndPrivate(st: { uid: number; mode: number }): boolean {
  return st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
}

function writeCache(file: string, data: () => Buffer): void {
  const dir = path.dirname(file);
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
  try {
    if (!statSync(path.dirname(dir)).isDirectory()) return;
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return;
  }
  try {
    const payload = data();
    const sum = createHash('sha256').update(payload).digest();
    writeFileSync(tmp, Buffer.concat([MAGIC, sum, payload]), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
    // Caches of older bundles are dead weight: each build of the bundle has its own digest.
    const own = path.basename(file).split('.')[0];
    for (const n of readdirSync(dir)) if (!n.startsWith(own) && !n.includes('.tmp-')) rmSync(path.join(dir, n), { force: true });
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing more to do: the cache is an optimisation
    }
  }
}
