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
import path from 'node:path';
import { ElfError, ElfTruncatedError, isElf, parseElf, type ElfInfo } from './parse';
import { hostView, type FsView } from './view';

export interface ClosureResult {
  /** Every library (and the interpreter) the loader would map, as the path the loader finds it at (NOT realpath'd), sorted, unique. */
  libs: string[];
  /** NEEDED names (or interpreters) that could not be found, with the object that needed them. */
  missing: { needed: string; from: string }[];
  /** Where the loader looked for each missing name, in order, by `missingKey` (a NEEDED path: that path). */
  searched: Map<string, string[]>;
  /** Symbol versions an object needs that the library it gets does not define: ld.so refuses to start the program. */
  versions: { program: string; object: string; library: string; libraryPath: string; version: string; defined: string[] }[];
  /** Libraries found only in a folder ld.so.conf names (not a system folder, not an RPATH): at run time ld.so finds them through ld.so.cache alone. */
  viaConf: { library: string; folder: string }[];
}

export const missingKey = (m: { needed: string; from: string }): string => `${m.needed}\0${m.from}`;

/** An ld.so.conf that cannot be read as ldconfig would (an include loop, too many files). */
export class LoaderConfigError extends Error {
  override name = 'LoaderConfigError';
}

/** ldconfig reads a handful of files; a tree whose includes fan out past this is hostile. */
const MAX_CONF_FILES = 256;
const MAX_CONF_BYTES = 1 << 20;

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
export async function loaderSearchDirs(ldSoConf = '/etc/ld.so.conf', target: ElfTarget = hostTarget(), view: FsView = hostView, confView: FsView = view): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const dir of [...(await readLdSoConf(ldSoConf, confView, [], { files: 0 })), ...systemDirs(target)]) {
    const st = await view.stat(dir);
    if (st?.type !== 'dir' || seen.has(st.id)) continue;
    seen.add(st.id);
    out.push(dir);
  }
  return out;
}

const utf8 = new TextDecoder();

/** The directory lines of an ld.so.conf, in order, parsed as ldconfig does; `stack` holds the including files. */
async function readLdSoConf(file: string, view: FsView, stack: string[], budget: { files: number }): Promise<string[]> {
  const real = (await view.realpath(file)) ?? file;
  if (stack.includes(real)) throw new LoaderConfigError(`${[...stack, real].join(' includes ')}: an include loop in ld.so.conf (in ${view.label})`);
  if (++budget.files > MAX_CONF_FILES) throw new LoaderConfigError(`ld.so.conf includes more than ${MAX_CONF_FILES} files (in ${view.label})`);
  const st = await view.stat(file);
  if (st && st.size > MAX_CONF_BYTES) throw new LoaderConfigError(`${file} is ${st.size} bytes, more than an ld.so.conf could need (in ${view.label})`);
  const bytes = st?.type === 'file' ? await view.read(file) : undefined;
  const text = bytes ? utf8.decode(bytes) : '';
  const dirs: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const include = /^include\s+(.*)$/.exec(line);
    if (include) {
      for (const pattern of include[1].split(/\s+/)) {
        // Relative patterns are relative to the including file's directory.
        const abs = pattern.startsWith('/') ? pattern : `${path.dirname(file)}/${pattern}`;
        for (const f of await glob(abs, view)) dirs.push(...(await readLdSoConf(f, view, [...stack, real], budget)));
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
async function glob(pattern: string, view: FsView): Promise<string[]> {
  let matches = ['/'];
  for (const part of pattern.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const dir of matches) {
      if (!/[*?[]/.test(part)) {
        next.push(path.join(dir, part));
        continue;
      }
      const re = globPartRegExp(part);
      const names = await view.readdir(dir);
      for (const n of names) if (re.test(n) && (part.startsWith('.') || !n.startsWith('.'))) next.push(path.join(dir, n));
    }
    matches = next;
  }
  const existing: string[] = [];
  for (const m of matches) if (await view.stat(m)) existing.push(m);
  return existing.sort();
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

  constructor(private readonly view: FsView) {}

  get(p: string, bytes?: Uint8Array): Promise<ElfFile | null> {
    let f = this.cache.get(p);
    if (!f) {
      f = readElf(this.view, p, bytes);
      this.cache.set(p, f);
      f.catch(() => undefined); // a rejection is reported to whoever awaits it, not as unhandled
    }
    return f;
  }
}

async function readElf(view: FsView, p: string, bytes?: Uint8Array): Promise<ElfFile | null> {
  const st = await view.stat(p);
  if (bytes) {
    if (!isElf(bytes)) return null;
    try {
      return { info: parseElf(bytes), id: st ? st.id : p };
    } catch (e) {
      if (!(e instanceof ElfTruncatedError) || !st) throw e;
      // Only part of the file was passed: fall through and read it all.
    }
  }
  if (st?.type !== 'file') return null;
  let buf = await view.read(p, Math.min(st.size, HEAD_BYTES));
  if (!buf || !isElf(buf)) return null;
  let info: ElfInfo;
  try {
    info = parseElf(buf);
  } catch (e) {
    if (!(e instanceof ElfTruncatedError) || buf.length >= st.size) throw e;
    buf = (await view.read(p)) ?? buf;
    info = parseElf(buf);
  }
  return { info, id: st.id };
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

export interface ClosureOptions {
  ldSoConf?: string;
  /** The filesystem the loader sees (default: this machine). */
  view?: FsView;
  /** Where ld.so.conf is read from, when not from `view` (the tree the program came from). */
  confView?: FsView;
}

export interface ClosureRoot {
  path: string;
  bytes?: Uint8Array;
  /** The name to give it in messages. */
  label?: string;
  /** The path the program will be started as, when not `path` (a file copied out of a stage): its real folder is `$ORIGIN`. */
  startedAs?: string;
}

export async function libraryClosure(objects: ClosureRoot[], opts: ClosureOptions = {}): Promise<ClosureResult> {
  const view = opts.view ?? hostView;
  const files = new ElfFiles(view);
  const dirsByTarget = new Map<string, Promise<string[]>>();
  const loaderDirs = (t: ElfTarget): Promise<string[]> => {
    const key = `${t.elfClass}/${t.machine}/${t.littleEndian}`;
    let d = dirsByTarget.get(key);
    if (!d) dirsByTarget.set(key, (d = loaderSearchDirs(opts.ldSoConf, t, view, opts.confView ?? view)));
    return d;
  };

  /** The loader's folders that only ld.so.conf names: no system folder is the same folder. */
  const confOnlyByTarget = new Map<string, Promise<Set<string>>>();
  const confOnly = (t: ElfTarget): Promise<Set<string>> => {
    const key = `${t.elfClass}/${t.machine}/${t.littleEndian}`;
    let c = confOnlyByTarget.get(key);
    if (!c) {
      confOnlyByTarget.set(
        key,
        (c = (async () => {
          const system = new Set((await Promise.all(systemDirs(t).map((d) => view.stat(d)))).flatMap((st) => (st ? [st.id] : [])));
          const out = new Set<string>();
          for (const d of await loaderDirs(t)) if (!system.has((await view.stat(d))?.id ?? '')) out.add(d);
          return out;
        })()),
      );
    }
    return c;
  };
  const viaConf = new Map<string, ClosureResult['viaConf'][number]>();

  const libs = new Set<string>();
  const missing = new Map<string, ClosureResult['missing'][number]>();
  const searched = new Map<string, string[]>();
  const addMissing = (needed: string, from: string, looked: string[]) => {
    const m = { needed, from };
    missing.set(missingKey(m), m);
    searched.set(missingKey(m), looked);
  };
  const versions = new Map<string, ClosureResult['versions'][number]>();

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

  /** Another of the files given, a library named `name` (its SONAME, else its file name), that a process may have loaded by path. */
  const byPath = async (name: string, from: string): Promise<{ path: string; file: ElfFile } | undefined> => {
    for (const o of objects) {
      if (o.path === from || (path.basename(o.path) !== name && !o.bytes)) continue;
      const file = await files.get(o.path, o.bytes).catch(() => null);
      if (file && file.info.interp === undefined && (file.info.soname ?? path.basename(o.path)) === name) return { path: o.path, file };
    }
    return undefined;
  };

  const seenRoots = new Set<string>();
  for (const o of objects) {
    if (seenRoots.has(o.path)) continue;
    seenRoots.add(o.path);
    const label = o.label ?? o.path;
    let rootFile: ElfFile | null;
    try {
      rootFile = await files.get(o.path, o.bytes);
    } catch (e) {
      throw new ElfError(`${label}: ${(e as Error).message}`);
    }
    if (!rootFile) continue; // scripts, data: not ours to resolve

    // Each root is its own process: what it loads does not satisfy another root's NEEDED.
    // The kernel hands ld.so the program's real path, so $ORIGIN of a root is its realpath's directory.
    const startedAs = o.startedAs ?? o.path;
    const realRoot = (await view.realpath(startedAs)) ?? startedAs;
    const root: Loaded = { path: o.path, info: rootFile.info, names: new Set([o.path]), origin: originOf(realRoot), id: rootFile.id };
    const loaded: Loaded[] = [root];

    if (root.info.interp) {
      const interp = await accept(root.info.interp, root.info);
      if (interp) {
        libs.add(root.info.interp);
        // ld.so is already in the process: a NEEDED ld-linux-*.so.2 resolves to it by SONAME.
        loaded.push({ path: root.info.interp, info: interp.info, names: new Set([root.info.interp]), origin: originOf(root.info.interp), id: interp.id });
      } else addMissing(root.info.interp, label, [root.info.interp]);
    }

    const queue: Loaded[] = [root];
    for (let obj = queue.shift(); obj; obj = queue.shift()) {
      for (const name of obj.info.needed) {
        if (loaded.some((l) => l.names.has(name) || l.info.soname === name)) continue;
        const asPath = name.includes('/') ? expandDst(name, obj) : undefined;
        const dirs = name.includes('/') ? [] : candidateDirs(obj, await loaderDirs(obj.info));
        const candidates = name.includes('/') ? (asPath ? [asPath] : []) : dirs.map((d) => joinDir(d, name));
        let found: { path: string; file: ElfFile } | undefined;
        for (const [i, c] of candidates.entries()) {
          const file = await accept(c, obj.info);
          if (file) {
            found = { path: c, file };
            const dir = dirs[i];
            // An RPATH or RUNPATH naming the same folder earlier would have found it first.
            if (dir !== undefined && dirs.indexOf(dir) === i && (await confOnly(obj.info)).has(dir)) viaConf.set(c, { library: c, folder: dir });
            break;
          }
        }
        if (!found) {
          // A library is loaded into a process that may hold, loaded by path before it, one these files bring
          // (java's libjli loads lib/server/libjvm.so by path, and libjava.so's NEEDED libjvm.so is then met by it).
          const preloaded = root.info.interp === undefined ? await byPath(name, o.path) : undefined;
          if (preloaded) {
            loaded.push({ path: preloaded.path, info: preloaded.file.info, names: new Set([preloaded.path, name]), origin: originOf(preloaded.path), id: preloaded.file.id });
            continue;
          }
          addMissing(name, obj === root ? label : obj.path, candidates.map((c) => path.dirname(c)));
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
    for (const v of checkVersions(loaded)) versions.set(`${label}\0${v.object}\0${v.libraryPath}\0${v.version}`, { program: label, ...v, object: v.object === o.path ? label : v.object });
  }
  return { libs: [...libs].sort(), missing: [...missing.values()], searched, versions: [...versions.values()], viaConf: [...viaConf.values()] };
}

/**
 * What ld.so's version check (_dl_check_map_versions) refuses: an object needs
 * a version of a library that has version definitions but not that one. A
 * library without any (no DT_VERDEF) only draws a warning, and a weak need
 * too, so neither is reported.
 */
function checkVersions(loaded: Loaded[]): Omit<ClosureResult['versions'][number], 'program'>[] {
  const out: Omit<ClosureResult['versions'][number], 'program'>[] = [];
  for (const obj of loaded) {
    for (const need of obj.info.verneed ?? []) {
      const lib = loaded.find((l) => l.names.has(need.file) || l.info.soname === need.file);
      const defined = lib?.info.verdef;
      if (!lib || !defined) continue;
      for (const v of need.versions) {
        if (!v.weak && !defined.includes(v.name)) out.push({ object: obj.path, library: need.file, libraryPath: lib.path, version: v.name, defined: defined.filter((d) => d !== lib.info.soname) });
      }
    }
  }
  return out;
}
