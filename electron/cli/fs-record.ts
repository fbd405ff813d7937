// What a build looked at, for the no-op stamp (stamp.ts): every path this
// process stat'ed, opened, listed, resolved or wrote while recording, and
// whether it ran a program or opened a socket.
//
// Recorded at Node's own file system binding, below node:fs, fs/promises,
// streams and every library: the one place all of them pass through, so no
// call is missed by being made another way. (process.binding is deprecated
// but present in Node 20 and the only door to it.) Every function of the
// binding is wrapped: one this file does not know taints the recording, so a
// Node that adds a path call yields no stamp rather than a wrong one.
import { createRequire } from 'node:module';
import { MAX_PATHS, lookAt, type Look } from './stamp';

// node:fs itself (not an ESM facade of it), whose properties the engine's calls look up at call time.
const builtinFs = () => createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

type Fn = (...args: unknown[]) => unknown;
type Binding = Record<string, unknown>;

export interface Recorded {
  /** Paths looked at, each as it was named (made absolute, not normalised: the kernel resolves `..` after links), and what each look answered first. */
  looked: Map<string, Map<Look, string>>;
  /** Paths created, changed or removed (all of them allowed, or the recording is tainted). */
  written: Set<string>;
  /** Why no stamp may be made of this recording (a program run, a socket, an unknown call), if any. */
  tainted?: string;
}

export interface Recording {
  stop(): Recorded;
}

export interface RecordingRules {
  /** Writes a no-op may make (the cache's bookkeeping of a build); any other taints the recording. */
  mayWrite(file: string): boolean;
  /** Looks at those same files, which are not inputs. */
  ignore(file: string): boolean;
}

// Calls on descriptors only: what they touch was named when the descriptor was opened.
// (fchmod, fchown and futimes work on a descriptor opened only to read, so they are not among them.)
const ON_FD = new Set(['close', 'read', 'readBuffers', 'fdatasync', 'fsync', 'ftruncate', 'fstat', 'writeBuffer', 'writeBuffers', 'writeString']);
// The module loader's own look-ups (the engine is one bundle: nothing is loaded while a build runs).
const LOADER = new Set(['internalModuleReadJSON', 'internalModuleStat', 'getFormatOfExtensionlessFile', 'legacyMainResolve']);
// Classes and constants the binding exports beside its calls.
const NOT_CALLS = new Set(['FSReqCallback', 'FileHandle', 'StatWatcher', 'statValues', 'bigintStatValues', 'statFsValues', 'bigintStatFsValues', 'kFsStatsFieldsNumber', 'kUsePromises']);

const O_WRITE = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000; // O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND

type Bindings = { fs: Binding; spawnSync: Binding; process: Binding; tcp: Binding; pipe: Binding };

/** Node's bindings, reached without the deprecation warning process.binding gives under --pending-deprecation (fatal under --throw-deprecation). */
function bindings(): Bindings | undefined {
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const proto = (b: Record<string, unknown>, cls: string) => (b[cls] as { prototype: Binding }).prototype;
    return { fs: binding('fs'), spawnSync: binding('spawn_sync'), process: proto(binding('process_wrap'), 'Process'), tcp: proto(binding('tcp_wrap'), 'TCP'), pipe: proto(binding('pipe_wrap'), 'Pipe') };
  } catch {
    return undefined;
  } finally {
    process.noDeprecation = quiet;
  }
}

/**
 * Start recording; `stop` restores every wrapped call. Each path is looked at
 * once more just before its first use, so that a change while the build runs
 * shows as a difference when the stamp is written. Undefined when this Node
 * offers no binding to record at.
 */
export function startRecording(rules: RecordingRules): Recording | undefined {
  const b = bindings();
  if (!b) return undefined;
  const fsb = b.fs;
  const rec: Recorded = { looked: new Map(), written: new Set() };
  const restore: Array<() => void> = [];
  // Our own looks (lookAt goes through the same binding) are not the build's.
  let busy = false;
  const wrap = (obj: Binding, name: string, before: (args: unknown[]) => void) => {
    const orig = obj[name] as Fn;
    obj[name] = function (this: unknown, ...args: unknown[]) {
      if (rec.tainted === undefined && !busy) {
        busy = true;
        try {
          before(args);
        } finally {
          busy = false;
        }
      }
      return orig.apply(this, args);
    };
    restore.push(() => (obj[name] = orig));
  };
  const taint = (why: string) => (rec.tainted ??= why);
  const abs = (p: unknown): string | undefined => {
    const s = typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString('utf8') : undefined;
    // A name that is not UTF-8 cannot be looked at again by the same string.
    if (s === undefined || (Buffer.isBuffer(p) && !Buffer.from(s).equals(p))) {
      taint('a path that is not UTF-8 text');
      return undefined;
    }
    return s.startsWith('/') ? s : `${process.cwd()}/${s}`;
  };
  const look = (p: unknown, how: Look) => {
    const a = abs(p);
    if (a === undefined || rules.ignore(a)) return;
    let looks = rec.looked.get(a);
    if (!looks) {
      if (rec.looked.size >= MAX_PATHS) return void taint(`more than ${MAX_PATHS} paths looked at`);
      rec.looked.set(a, (looks = new Map()));
    }
    if (!looks.has(how)) looks.set(how, lookAt(how, a));
  };
  const write = (p: unknown) => {
    const a = abs(p);
    if (a === undefined) return;
    if (!rules.mayWrite(a)) taint(`a write to ${a}`);
    else rec.written.add(a);
  };
  const lstatFs = fsb.lstat as Fn;
  const isDir = (p: unknown): boolean => {
    try {
      const st = lstatFs.call(fsb, p, false, undefined, false) as Float64Array | undefined;
      // statValues: [dev, mode, ...]; S_IFDIR
      return st !== undefined && (st[1] & 0o170000) === 0o040000;
    } catch {
      return false;
    }
  };

  for (const name of Object.keys(fsb)) {
    if (typeof fsb[name] !== 'function' || NOT_CALLS.has(name) || ON_FD.has(name) || LOADER.has(name)) continue;
    switch (name) {
      case 'open':
      case 'openFileHandle':
        wrap(fsb, name, ([p, flags]) => ((Number(flags) & O_WRITE) !== 0 ? write(p) : look(p, 's')));
        break;
      case 'readFileUtf8':
        wrap(fsb, name, ([p]) => typeof p !== 'number' && look(p, 's'));
        break;
      case 'writeFileUtf8':
        wrap(fsb, name, ([p]) => typeof p !== 'number' && write(p));
        break;
      case 'stat':
      case 'access':
      case 'existsSync':
      case 'readdir':
      case 'statfs':
        wrap(fsb, name, ([p]) => look(p, 's'));
        break;
      case 'lstat':
      case 'readlink':
        wrap(fsb, name, ([p]) => look(p, 'l'));
        break;
      case 'realpath':
        // All a realpath tells is the path it resolves to (or its error): that, not the folder's contents.
        wrap(fsb, name, ([p]) => look(p, 'r'));
        break;
      case 'mkdir':
        // mkdir -p of a folder that is there changes nothing and tells only that it is a folder.
        wrap(fsb, name, ([p]) => (isDir(p) ? look(p, 'k') : write(p)));
        break;
      case 'rename':
      case 'copyFile':
      case 'link':
        wrap(fsb, name, ([a, b]) => (name === 'copyFile' || name === 'link' ? look(a, 's') : write(a), write(b)));
        break;
      case 'symlink':
        wrap(fsb, name, ([, p]) => write(p));
        break;
      case 'unlink':
      case 'rmdir':
      case 'chmod':
      case 'chown':
      case 'lchown':
      case 'utimes':
      case 'lutimes':
      case 'mkdtemp':
        wrap(fsb, name, ([p]) => write(p));
        break;
      default:
        wrap(fsb, name, () => taint(`a file system call this recording does not know (${name})`));
    }
  }
  // Calls that reach no binding here: folder streams (their own binding), watchers. None is used by a build; all taint.
  const fsm = builtinFs();
  for (const n of ['opendir', 'opendirSync', 'watch', 'watchFile'] as const) wrap(fsm as unknown as Binding, n, () => taint(`fs.${n}`));
  wrap(fsm.promises as unknown as Binding, 'opendir', () => taint('fs.promises.opendir'));
  // Whether a process is alive (a temporary's owner, a build's mark) is no file's answer.
  wrap(process as unknown as Binding, 'kill', () => taint('a process was looked for'));
  wrap(b.spawnSync, 'spawn', () => taint('a program was run'));
  wrap(b.process, 'spawn', () => taint('a program was run'));
  for (const [proto, names] of [
    [b.tcp, ['connect', 'connect6']],
    [b.pipe, ['connect']],
  ] as const) {
    for (const n of names) if (typeof proto[n] === 'function') wrap(proto, n, () => taint('a socket was opened'));
  }
  return {
    stop() {
      for (const r of restore.reverse()) r();
      return rec;
    },
  };
}
