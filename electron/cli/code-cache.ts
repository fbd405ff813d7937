// The engine bundle (dist/cli-engine.cjs) compiled with a V8 code cache, so a
// command does not re-parse 2 MB of JavaScript on every start. Node 20 has no
// module.enableCompileCache and a startup snapshot fails on node:http, so the
// bundle is CommonJS run through vm.Script with cachedData.
//
// The cache file lives in the cache folder and is untrusted like all of it: it
// is a sealed file (sealed-file.ts), used only when it passes those checks and
// V8 accepts it (V8 checks its version, flags and the source). Anything else
// is ignored and a fresh one is written, atomically, at exit. No fault here
// ever fails the command.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isTemporary, privateDir, readSealed, writeSealed } from './sealed-file';

// Required, not imported (see sealed-file.ts).
const builtin = createRequire(import.meta.url);
const { createHash } = builtin('node:crypto') as typeof import('node:crypto');
const { readdirSync, readFileSync, rmSync, statSync } = builtin('node:fs') as typeof import('node:fs');
const vm = builtin('node:vm') as typeof import('node:vm');
const { isAscii } = builtin('node:buffer') as typeof import('node:buffer');

const MAGIC = Buffer.from('SYV8\0\0\0\x01');
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
  const cachedData = readSealed(cacheFile, MAGIC, CAP);
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

/** Write the code cache `data()` makes as `file`, in a private v8/ folder of an existing cache folder; old bundles' caches go. */
function writeCache(file: string, data: () => Buffer): void {
  const dir = path.dirname(file);
  try {
    if (!statSync(path.dirname(dir)).isDirectory() || !privateDir(dir) || !writeSealed(file, MAGIC, data())) return;
    // Caches of older bundles are dead weight: each build of the bundle has its own digest.
    const own = path.basename(file).split('.')[0];
    for (const n of readdirSync(dir)) if (!n.startsWith(own) && !isTemporary(n)) rmSync(path.join(dir, n), { force: true });
  } catch {
    // nothing more to do: the cache is an optimisation
  }
}
