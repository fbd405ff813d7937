// The no-op stamp: a `scratchyard build` whose every input is as the last
// no-op build of the same command found it is answered here, before the engine
// bundle loads (loading it is most of a no-op's time).
//
// A build writes a stamp only when it wrote nothing but its bookkeeping (the
// roots and building marks), ran no program, opened no socket and looked for
// no process (fs-record.ts lists what taints a recording). The stamp holds,
// per path, what stat, lstat, realpath or "is it a folder" said just before
// the build first used it (device, inode, size, mode, mtime and ctime in ns),
// and the bytes the build printed; a path that answers otherwise at the end of
// the build keeps the stamp from being written. A later run with the same key
// (its arguments, working folder, environment, user, umask, terminal, node and
// bundle) replays them when every path still answers the same, and refreshes
// the roots' time as the engine would. Anything else, including any doubt
// about the stamp file, runs the engine. ctime moves on every change to a file
// and cannot be set back without the clock; a path changed within RACY_NS
// before the build started (timestamps are coarse) keeps the stamp from being
// written at all, as git does with a racily clean index.
//
// The stamp lives in the cache folder and is untrusted like all of it: read
// only when it is a regular file owned by us and writable by nobody else, in a
// folder of the same kind, of bounded size, whose own sha256 matches and whose
// shape is checked field by field (zod lives in the engine bundle).
import { createRequire } from 'node:module';
import path from 'node:path';
import { ownedAndPrivate, privateDir, readSealed, writeAtomic, writeSealed } from './sealed-file';

// Required, not imported (see sealed-file.ts: an ESM import of a built-in builds its whole facade).
const builtin = createRequire(import.meta.url);
const { createHash } = builtin('node:crypto') as typeof import('node:crypto');
const fs = builtin('node:fs') as typeof import('node:fs');

const MAGIC = Buffer.from('SYNOOP\0\x01');
/** A stamp names every path a build looked at: a few hundred for a host-file project; far more is not ours. */
const CAP = 16 << 20;
const RACY_NS = 2_000_000_000n;
/** A recording stops (and no stamp is made) past this many paths; a stamp names at most four looks at each. */
export const MAX_PATHS = 50_000;
const HEX64 = /^[0-9a-f]{64}$/;

/** How the build looked at a path: stat (follows links), lstat, realpath, or only whether it is a folder (mkdir -p). */
export type Look = 's' | 'l' | 'r' | 'k';
export type Dep = [Look, string, string];

export function stampsDir(cacheDir: string): string {
  return path.join(cacheDir, 'stamps');
}

/** What a path answers now: the same text for the same file, error codes included. */
export function lookAt(look: Look, file: string): string {
  try {
    if (look === 'r') return `=${fs.realpathSync.native(file)}`;
    if (look === 'k') return fs.lstatSync(file).isDirectory() ? 'folder' : 'not a folder';
    const st = look === 's' ? fs.statSync(file, { bigint: true }) : fs.lstatSync(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.mode}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (e) {
    return `!${(e as NodeJS.ErrnoException).code ?? 'ERROR'}`;
  }
}

function ctimeOf(identity: string): bigint | undefined {
  const parts = identity.split(':');
  return parts.length === 6 ? BigInt(parts[5]) : undefined;
}

/**
 * The key of a build command: everything besides files that can change what it does or prints.
 * `bundle` is the engine bundle, named by its file identity (a rebuilt bundle is a new file).
 */
export function stampKey(argv: readonly string[], bundle: string): string | undefined {
  const bundleId = lookAt('s', bundle);
  if (bundleId.startsWith('!')) return undefined;
  const umask = process.umask(0o022);
  process.umask(umask);
  const tty = (s: NodeJS.WriteStream) => (s.isTTY ? `tty:${s.columns}` : 'no-tty');
  // All of the environment but what a shell keeps about itself (the last folder, the last command, its depth), which nothing reads.
  const env = Object.entries(process.env)
    .filter(([k]) => k !== 'OLDPWD' && k !== '_' && k !== 'SHLVL')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const what = {
    v: 1,
    argv,
    cwd: process.cwd(),
    env,
    uid: process.getuid?.(),
    gid: process.getgid?.(),
    groups: process.getgroups?.(),
    umask,
    out: [tty(process.stdout), tty(process.stderr)],
    node: [process.version, process.execPath, process.execArgv],
    bundle: [bundle, bundleId],
  };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex');
}

interface Stamp {
  deps: Dep[];
  /** The roots file the build wrote (a name in roots/) and its text; replaying refreshes its time. */
  roots?: { name: string; text: string };
  stdout: string;
  stderr: string;
}

function isStamp(v: unknown): v is Stamp {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  const str = (x: unknown): x is string => typeof x === 'string';
  const dep = (d: unknown) => Array.isArray(d) && d.length === 3 && ['s', 'l', 'r', 'k'].includes(d[0]) && str(d[1]) && path.isAbsolute(d[1]) && str(d[2]);
  const roots = s.roots === undefined || (typeof s.roots === 'object' && s.roots !== null && str((s.roots as Stamp['roots'])?.name) && /^[0-9a-f]{64}\.json$/.test((s.roots as { name: string }).name) && str((s.roots as { text: unknown }).text));
  return Array.isArray(s.deps) && s.deps.length <= 4 * MAX_PATHS && s.deps.every(dep) && roots && str(s.stdout) && str(s.stderr) && Object.keys(s).every((k) => ['deps', 'roots', 'stdout', 'stderr'].includes(k));
}

function readStamp(file: string): Stamp | undefined {
  const payload = readSealed(file, MAGIC, CAP);
  if (!payload) return undefined;
  try {
    const doc: unknown = JSON.parse(payload.toString('utf8'));
    return isStamp(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Replay the stamp of `key` under `cacheDir` when every path it names answers as it did:
 * print what the build printed, refresh its roots' time, and give the exit code (0).
 * Undefined when the engine must run.
 */
export function replayStamp(cacheDir: string, key: string): number | undefined {
  try {
    const stamp = readStamp(path.join(stampsDir(cacheDir), `${key}.stamp`));
    if (!stamp) return undefined;
    for (const [look, file, was] of stamp.deps) if (lookAt(look, file) !== was) return undefined;
    if (stamp.roots) {
      // The roots file is the engine's record for `cache gc`: what the last build used, and when.
      const doc = JSON.parse(stamp.roots.text) as { time?: unknown };
      if (typeof doc !== 'object' || doc === null || typeof doc.time !== 'number') return undefined;
      doc.time = Date.now();
      const dir = path.join(cacheDir, 'roots');
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || !ownedAndPrivate(st) || !writeAtomic(path.join(dir, stamp.roots.name), JSON.stringify(doc), 0o644)) return undefined;
    }
    process.stdout.write(stamp.stdout);
    process.stderr.write(stamp.stderr);
    return 0;
  } catch {
    return undefined;
  }
}

/**
 * Write the stamp of `key`: each path the build looked at, with what it answered at first (just
 * before the build used it). Not written (and any old one removed) when a path answers otherwise
 * now (it changed while the build ran), or changed within RACY_NS before the build started (a
 * later change in the same timestamp tick could not be told apart).
 */
export function writeStamp(cacheDir: string, key: string, looked: Iterable<Dep>, startNs: bigint, rest: Omit<Stamp, 'deps'>): boolean {
  if (!HEX64.test(key)) return false;
  const dir = stampsDir(cacheDir);
  const file = path.join(dir, `${key}.stamp`);
  try {
    fs.rmSync(file, { force: true });
    const deps: Dep[] = [];
    for (const [look, p, first] of looked) {
      if (lookAt(look, p) !== first) return false;
      const ctime = look === 's' || look === 'l' ? ctimeOf(first) : undefined;
      if (ctime !== undefined && ctime > startNs - RACY_NS) return false;
      deps.push([look, p, first]);
    }
    return privateDir(dir) && writeSealed(file, MAGIC, Buffer.from(JSON.stringify({ deps, ...rest })));
  } catch {
    return false;
  }
}
