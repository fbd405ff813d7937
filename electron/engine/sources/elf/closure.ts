// The shared-library closure of ELF files, found the way glibc's ld.so (2.36,
// Debian 12) finds them when it starts a program:
//
//   1. NEEDED names already loaded (by the name they were loaded as, or by
//      SONAME) are not searched again; the interpreter counts as loaded.
//   2. A NEEDED name containing '/' is a path.
//   3. Otherwise: DT_RPATH of the object, then of the object that loaded it,
//      and so on up to the program (all skipped when the object has
//      DT_RUNPATH); then the object's own DT_RUNPATH; then the directories of
//      /etc/ld.so.conf (what ld.so.cache is built from), then the built-in
//      system directories. A candidate of another ELF class, byte order or
//      machine is skipped, as ld.so skips it.
//   4. Dependencies are mapped breadth first, so which object "loaded" a
//      library (whose RPATH chain applies) is the first one that needed it.
//
// Not modelled: LD_LIBRARY_PATH and LD_PRELOAD (not part of an image), glibc-hwcaps
// and legacy hwcap subdirectories (tls/, haswell/, x86_64/... none exist on the
// host's search path), DF_1_NODEFLIB, and search path elements that are empty
// or relative (the loader resolves them against the process's working
// directory at run time, which a build cannot know).
import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ElfError, ElfTruncatedError, isElf, parseElf, type ElfInfo } from './parse';

export interface ClosureResult {
  /** Every library (and the interpreter) the loader would map, as the path the loader finds it at (NOT realpath'd), sorted, unique. */
  libs: string[];
  /** NEEDED names (or interpreters) that could not be found, with the object that needed them. */
  missing: { needed: string; from: string }[];
}

/** What decides whether ld.so accepts a library for an object. */
export type ElfTarget = Pick<ElfInfo, 'elfClass' | 'littleEndian' | 'machine'>;

const EM_386 = 3;
const EM_PPC = 20;
const EM_PPC64 = 21;
const EM_S390 = 22;
const EM_ARM = 40;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const EM_RISCV = 243;
const EM_LOONGARCH = 258;

/** Debian's multiarch triplet for a target, when we know it. */
export function multiarchTriplet(t: ElfTarget): string | undefined {
  const is64 = t.elfClass === 64;
  switch (t.machine) {
    case EM_X86_64:
      return is64 ? 'x86_64-linux-gnu' : 'x86_64-linux-gnux32';
    case EM_386:
      return 'i386-linux-gnu';
    case EM_AARCH64:
      return is64 ? 'aarch64-linux-gnu' : undefined;
    case EM_ARM:
      // armel (soft float) would be arm-linux-gnueabi; armhf is what Debian ships today.
      return 'arm-linux-gnueabihf';
    case EM_PPC64:
      return t.littleEndian ? 'powerpc64le-linux-gnu' : 'powerpc64-linux-gnu';
    case EM_PPC:
      return 'powerpc-linux-gnu';
    case EM_S390:
      return is64 ? 's390x-linux-gnu' : undefined;
    case EM_RISCV:
      return is64 ? 'riscv64-linux-gnu' : undefined;
    case EM_LOONGARCH:
      return is64 ? 'loongarch64-linux-gnu' : undefined;
    default:
      return undefined;
  }
}

/** ld.so's built-in system directories (`ld.so --help` lists them). */
export function systemDirs(t: ElfTarget): string[] {
  const triplet = multiarchTriplet(t);
  return [...(triplet ? [`/lib/${triplet}`, `/usr/lib/${triplet}`] : []), '/lib', '/usr/lib'];
}

/** The target of the running Node process, for callers that do not name one. */
function hostTarget(): ElfTarget {
  const le = process.arch !== 's390x' && process.arch !== 'ppc';
  const machines: Partial<Record<NodeJS.Architecture, [number, 32 | 64]>> = {
    x64: [EM_X86_64, 64],
    ia32: [EM_386, 32],
    arm64: [EM_AARCH64, 64],
    arm: [EM_ARM, 32],
    ppc64: [EM_PPC64, 64],
    s390x: [EM_S390, 64],
    riscv64: [EM_RISCV, 64],
    loong64: [EM_LOONGARCH, 64],
  };
  const [machine, elfClass] = machines[process.arch] ?? [EM_X86_64, 64];
  return { machine, elfClass, littleEndian: le };
}

/**
 * The directories ld.so searches after RPATH/RUNPATH, as `ldconfig -v` lists
 * them: those of ld.so.conf (following `include` globs), then the system
 * directories; directories that do not exist are dropped and one reached under
 * two names (say /lib and /usr/lib on merged /usr) is kept under the first.
 */
export async function loaderSearchDirs(ldSoConf = '/etc/ld.so.conf', target: ElfTarget = hostTarget()): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const dir of [...(await readLdSoConf(ldSoConf)), ...systemDirs(target)]) {
    const st = await fs.stat(dir).catch(() => undefined);
    if (!st?.isDirectory() || seen.has(fileId(st))) continue;
    seen.add(fileId(st));
    out.push(dir);
  }
  return out;
}

/** The directory lines of an ld.so.conf, in order, parsed as ldconfig does. */
async function readLdSoConf(file: string, depth = 0): Promise<string[]> {
  if (depth > 16) return []; // an include cycle
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const dirs: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const include = /^include\s+(.*)$/.exec(line);
    if (include) {
      for (const pattern of include[1].split(/\s+/)) {
        // Relative patterns are relative to the including file's directory.
        const abs = pattern.startsWith('/') ? pattern : `${path.dirname(file)}/${pattern}`;
        for (const f of await glob(abs)) dirs.push(...(await readLdSoConf(f, depth + 1)));
      }
    } else if (/^hwcap\s/i.test(line)) {
      continue; // ldconfig ignores hwcap directives too
    } else {
      // `dir=TYPE` is the old library-type syntax; strip trailing slashes.
      const dir = line.replace(/=.*$/, '').trimEnd().replace(/(.)\/+$/, '$1');
      if (dir.startsWith('/')) dirs.push(dir);
    }
  }
  return dirs;
}

/** Absolute glob with `*`, `?` and `[...]` in any component; sorted like glob(3) in the C locale. */
async function glob(pattern: string): Promise<string[]> {
  let matches = ['/'];
  for (const part of pattern.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const dir of matches) {
      if (!/[*?[]/.test(part)) {
        next.push(path.join(dir, part));
        continue;
      }
      const re = globPartRegExp(part);
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      for (const n of names) if (re.test(n) && (part.startsWith('.') || !n.startsWith('.'))) next.push(path.join(dir, n));
    }
    matches = next;
  }
  const existing = await Promise.all(matches.map((m) => fs.stat(m).then(() => m, () => undefined)));
  return existing.filter((m): m is string => m !== undefined).sort();
}

function globPartRegExp(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[' && part.indexOf(']', i + 2) !== -1) {
      const end = part.indexOf(']', i + 2);
      const body = part.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
      re += `[${body}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function fileId(st: Stats): string {
  return `${st.dev}:${st.ino}`;
}

interface ElfFile {
  info: ElfInfo;
  /** dev:ino, how ld.so notices one file reached under two names; the path when the file cannot be stat'ed. */
  id: string;
}

/** A file the loader has mapped while starting one program. */
interface Loaded {
  path: string;
  info: ElfInfo;
  /** The names it answers to: the path it was found at and the NEEDED names that led to it (plus its SONAME). */
  names: Set<string>;
  /** Directory that `$ORIGIN` expands to in its RPATH/RUNPATH. */
  origin: string;
  /** The object whose NEEDED mapped it first; its RPATH chain is searched too. */
  loader?: Loaded;
  id: string;
}

/** Enough for the ELF header, program headers and usually PT_INTERP; the rest needs the whole file. */
const HEAD_BYTES = 64 * 1024;

/** Reads each file once per closure: null when it is missing, not a regular file or not ELF; ElfError when it is a broken ELF. */
class ElfFiles {
  private readonly cache = new Map<string, Promise<ElfFile | null>>();

  get(p: string, bytes?: Uint8Array): Promise<ElfFile | null> {
    let f = this.cache.get(p);
    if (!f) {
      f = readElf(p, bytes);
      this.cache.set(p, f);
      f.catch(() => undefined); // a rejection is reported to whoever awaits it, not as unhandled
    }
    return f;
  }
}

async function readElf(p: string, bytes?: Uint8Array): Promise<ElfFile | null> {
  if (bytes) {
    if (!isElf(bytes)) return null;
    const st = await fs.stat(p).catch(() => undefined);
    try {
      return { info: parseElf(bytes), id: st ? fileId(st) : p };
    } catch (e) {
      if (!(e instanceof ElfTruncatedError) || !st) throw e;
      // Only part of the file was passed: fall through and read it all.
    }
  }
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(p, 'r');
  } catch {
    return null;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return null;
    let buf = await readAt(handle, Math.min(st.size, HEAD_BYTES));
    if (!isElf(buf)) return null;
    let info: ElfInfo;
    try {
      info = parseElf(buf);
    } catch (e) {
      if (!(e instanceof ElfTruncatedError) || buf.length >= st.size) throw e;
      buf = await readAt(handle, st.size);
      info = parseElf(buf);
    }
    return { info, id: fileId(st) };
  } finally {
    await handle.close();
  }
}

async function readAt(handle: fs.FileHandle, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

function sameTarget(a: ElfTarget, b: ElfTarget): boolean {
  return a.elfClass === b.elfClass && a.machine === b.machine && a.littleEndian === b.littleEndian;
}

/** `$LIB` as this host's glibc expands it: Debian builds it from slibdir, /lib/<triplet>. */
function dstLib(t: ElfTarget): string {
  const triplet = multiarchTriplet(t);
  return triplet ? `lib/${triplet}` : t.elfClass === 64 ? 'lib64' : 'lib';
}

/** `$PLATFORM`: the kernel's AT_PLATFORM for the machine (see the note in the report on x86_64). */
function dstPlatform(t: ElfTarget): string | undefined {
  switch (t.machine) {
    case EM_X86_64:
      return 'x86_64';
    case EM_386:
      return 'i686';
    case EM_AARCH64:
      return 'aarch64';
    default:
      return undefined;
  }
}

/**
 * Expand $ORIGIN, $LIB and $PLATFORM (bare or in braces) in one RPATH/RUNPATH
 * element. Other `$NAME`s stay literal, as in ld.so; an element with a known
 * token we cannot expand is dropped (undefined), as in ld.so.
 */
function expandDst(element: string, obj: Loaded): string | undefined {
  let unknown = false;
  const out = element.replace(/\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))/g, (_m, braced?: string, bare?: string) => {
    const token = braced ?? bare;
    const value = token === 'ORIGIN' ? obj.origin : token === 'LIB' ? dstLib(obj.info) : dstPlatform(obj.info);
    if (value === undefined) unknown = true;
    return value ?? '';
  });
  return unknown ? undefined : out;
}

/** RPATH/RUNPATH elements expanded into directories; empty and relative ones dropped (see the file comment). */
function searchPathDirs(elements: string[], obj: Loaded): string[] {
  const dirs: string[] = [];
  for (const e of elements) {
    const dir = e === '' ? undefined : expandDst(e, obj);
    if (dir?.startsWith('/')) dirs.push(dir);
  }
  return dirs;
}

/** Where ld.so looks for `name` needed by `obj`, in order. */
function candidateDirs(obj: Loaded, loaderDirs: string[]): string[] {
  const dirs: string[] = [];
  if (obj.info.runpath.length === 0) {
    // An object with RUNPATH has no RPATH as far as ld.so is concerned (it drops DT_RPATH when DT_RUNPATH is present).
    for (let l: Loaded | undefined = obj; l; l = l.loader) if (l.info.runpath.length === 0) dirs.push(...searchPathDirs(l.info.rpath, l));
  }
  dirs.push(...searchPathDirs(obj.info.runpath, obj), ...loaderDirs);
  return dirs;
}

/** dir + '/' + name the way ld.so joins them: trailing slashes trimmed, nothing else normalised. */
function joinDir(dir: string, name: string): string {
  const trimmed = dir.replace(/\/+$/, '');
  return `${trimmed}/${name}`;
}

/** The directory of a path as found, made absolute but not normalised (ld.so's l_origin for a library). */
function originOf(p: string): string {
  return path.dirname(p.startsWith('/') ? p : `${process.cwd()}/${p}`);
}

export async function libraryClosure(objects: { path: string; bytes?: Uint8Array }[], opts: { ldSoConf?: string } = {}): Promise<ClosureResult> {
  const files = new ElfFiles();
  const dirsByTarget = new Map<string, Promise<string[]>>();
  const loaderDirs = (t: ElfTarget): Promise<string[]> => {
    const key = `${t.elfClass}/${t.machine}/${t.littleEndian}`;
    let d = dirsByTarget.get(key);
    if (!d) dirsByTarget.set(key, (d = loaderSearchDirs(opts.ldSoConf, t)));
    return d;
  };

  const libs = new Set<string>();
  const missing = new Map<string, { needed: string; from: string }>();
  const addMissing = (needed: string, from: string) => missing.set(`${needed}\0${from}`, { needed, from });

  /** A candidate ld.so would accept for `obj`, or undefined. */
  const accept = async (candidate: string, obj: ElfTarget): Promise<ElfFile | undefined> => {
    try {
      const f = await files.get(candidate);
      return f && sameTarget(f.info, obj) ? f : undefined;
    } catch (e) {
      if (e instanceof ElfError) return undefined; // broken candidates are passed over
      throw e;
    }
  };

  const seenRoots = new Set<string>();
  for (const o of objects) {
    if (seenRoots.has(o.path)) continue;
    seenRoots.add(o.path);
    let rootFile: ElfFile | null;
    try {
      rootFile = await files.get(o.path, o.bytes);
    } catch (e) {
      throw new Error(`${o.path}: ${(e as Error).message}`);
    }
    if (!rootFile) continue; // scripts, data: not ours to resolve

    // Each root is its own process: what it loads does not satisfy another root's NEEDED.
    // The kernel hands ld.so the program's real path, so $ORIGIN of a root is its realpath's directory.
    const realRoot = await fs.realpath(o.path).catch(() => o.path);
    const root: Loaded = { path: o.path, info: rootFile.info, names: new Set([o.path]), origin: originOf(realRoot), id: rootFile.id };
    const loaded: Loaded[] = [root];

    if (root.info.interp) {
      const interp = await accept(root.info.interp, root.info);
      if (interp) {
        libs.add(root.info.interp);
        // ld.so is already in the process: a NEEDED ld-linux-*.so.2 resolves to it by SONAME.
        loaded.push({ path: root.info.interp, info: interp.info, names: new Set([root.info.interp]), origin: originOf(root.info.interp), id: interp.id });
      } else addMissing(root.info.interp, o.path);
    }

    const queue: Loaded[] = [root];
    for (let obj = queue.shift(); obj; obj = queue.shift()) {
      for (const name of obj.info.needed) {
        if (loaded.some((l) => l.names.has(name) || l.info.soname === name)) continue;
        const asPath = name.includes('/') ? expandDst(name, obj) : undefined;
        const candidates = name.includes('/') ? (asPath ? [asPath] : []) : candidateDirs(obj, await loaderDirs(obj.info)).map((d) => joinDir(d, name));
        let found: { path: string; file: ElfFile } | undefined;
        for (const c of candidates) {
          const file = await accept(c, obj.info);
          if (file) {
            found = { path: c, file };
            break;
          }
        }
        if (!found) {
          addMissing(name, obj.path);
          continue;
        }
        const same = loaded.find((l) => l.id === found.file.id);
        if (same) {
          same.names.add(name); // the same file under another name: ld.so maps it once
          continue;
        }
        const lib: Loaded = { path: found.path, info: found.file.info, names: new Set([found.path, name]), origin: originOf(found.path), loader: obj, id: found.file.id };
        loaded.push(lib);
        queue.push(lib);
        libs.add(found.path);
      }
    }
  }
  return { libs: [...libs].sort(), missing: [...missing.values()] };
}
