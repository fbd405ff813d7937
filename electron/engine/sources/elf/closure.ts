// The shared-library closure of ELF files, found the way glibc's ld.so finds
// libraries: RPATH (of the object and its loaders, unless it has RUNPATH),
// RUNPATH, the directories of /etc/ld.so.conf (what ld.so.cache is built from),
// then the system directories; a candidate of the wrong class or machine is
// skipped; a NEEDED name already loaded (by SONAME) is not searched again.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isElf, parseElf, type ElfInfo } from './parse';

export interface ClosureResult {
  /** Every library and interpreter the loader would map, at the path it finds it (not realpath'd); sorted, unique. */
  libs: string[];
  /** NEEDED names that could not be found, with the object that needed them. */
  missing: { needed: string; from: string }[];
}

interface Loaded {
  path: string;
  info: ElfInfo;
  /** The chain of objects that caused this one to load, nearest first. */
  loaders: Loaded[];
}

const EM_386 = 3;
const EM_ARM = 40;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const EM_RISCV = 243;

/** Debian's multiarch triplet for an ELF class and machine. */
export function multiarchTriplet(elfClass: 32 | 64, machine: number): string | undefined {
  switch (machine) {
    case EM_X86_64:
      return elfClass === 64 ? 'x86_64-linux-gnu' : 'x86_64-linux-gnux32';
    case EM_386:
      return 'i386-linux-gnu';
    case EM_AARCH64:
      return 'aarch64-linux-gnu';
    case EM_ARM:
      return 'arm-linux-gnueabihf';
    case EM_RISCV:
      return 'riscv64-linux-gnu';
    default:
      return undefined;
  }
}

/** ld.so's built-in system directories for an object of this class and machine. */
export function systemDirs(elfClass: 32 | 64, machine: number): string[] {
  const t = multiarchTriplet(elfClass, machine);
  return [...(t ? [`/lib/${t}`, `/usr/lib/${t}`] : []), '/lib', '/usr/lib'];
}

/** The directories of ld.so.conf, following `include` globs, in order. */
export async function loaderSearchDirs(ldSoConf = '/etc/ld.so.conf'): Promise<string[]> {
  const dirs: string[] = [];
  const seen = new Set<string>();
  const readConf = async (file: string): Promise<void> => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line || line.startsWith('hwcap ')) continue;
      if (line.startsWith('include ')) {
        for (const pattern of line.slice(8).trim().split(/\s+/)) {
          for (const f of await glob(path.resolve(path.dirname(file), pattern))) await readConf(f);
        }
        continue;
      }
      for (const d of line.split(/[\s:,]+/)) if (d) dirs.push(d.replace(/=.*$/, ''));
    }
  };
  await readConf(ldSoConf);
  return dirs;
}

/** Expand `*` and `?` in the last path component (all ld.so.conf includes use). */
async function glob(pattern: string): Promise<string[]> {
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (!/[*?]/.test(base)) return [pattern];
  const re = new RegExp('^' + base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

export async function libraryClosure(objects: { path: string; bytes?: Uint8Array }[], opts: { ldSoConf?: string } = {}): Promise<ClosureResult> {
  const confDirs = await loaderSearchDirs(opts.ldSoConf);
  const infoCache = new Map<string, ElfInfo | null>();
  const readInfo = async (p: string, bytes?: Uint8Array): Promise<ElfInfo | null> => {
    if (infoCache.has(p) && !bytes) return infoCache.get(p)!;
    let info: ElfInfo | null = null;
    try {
      const buf = bytes ?? (await fs.readFile(p));
      if (isElf(buf)) info = parseElf(buf);
    } catch {
      info = null;
    }
    if (!bytes) infoCache.set(p, info);
    return info;
  };

  const libs = new Set<string>();
  const missing: ClosureResult['missing'] = [];
  const bySoname = new Map<string, Loaded>();
  const byPath = new Map<string, Loaded>();
  const queue: Loaded[] = [];

  const expand = (dir: string, obj: Loaded): string =>
    dir
      .replace(/\$\{?ORIGIN\}?/g, path.dirname(obj.path))
      .replace(/\$\{?LIB\}?/g, obj.info.elfClass === 64 ? 'lib64' : 'lib')
      .replace(/\$\{?PLATFORM\}?/g, obj.info.machine === EM_X86_64 ? 'x86_64' : obj.info.machine === EM_AARCH64 ? 'aarch64' : 'i686');

  const searchDirs = (obj: Loaded): string[] => {
    const dirs: string[] = [];
    if (obj.info.runpath.length === 0) {
      for (const o of [obj, ...obj.loaders]) if (o.info.runpath.length === 0) dirs.push(...o.info.rpath.map((d) => expand(d, o)));
    }
    dirs.push(...obj.info.runpath.map((d) => expand(d, obj)));
    dirs.push(...confDirs, ...systemDirs(obj.info.elfClass, obj.info.machine));
    return dirs;
  };

  const load = (p: string, info: ElfInfo, loaders: Loaded[]): Loaded => {
    const l: Loaded = { path: p, info, loaders };
    byPath.set(p, l);
    bySoname.set(info.soname ?? path.basename(p), l);
    queue.push(l);
    return l;
  };

  for (const o of objects) {
    const info = await readInfo(o.path, o.bytes);
    if (!info) continue;
    const root = load(o.path, info, []);
    if (info.interp && !byPath.has(info.interp)) {
      const interpInfo = await readInfo(info.interp);
      libs.add(info.interp);
      if (interpInfo) load(info.interp, interpInfo, [root]);
    }
  }

  while (queue.length) {
    const obj = queue.shift()!;
    for (const name of obj.info.needed) {
      if (bySoname.has(name)) continue;
      let found: string | undefined;
      let foundInfo: ElfInfo | undefined;
      const candidates = name.includes('/') ? [name] : searchDirs(obj).map((d) => path.join(d, name));
      for (const c of candidates) {
        const info = await readInfo(c);
        if (info && info.elfClass === obj.info.elfClass && info.machine === obj.info.machine) {
          found = c;
          foundInfo = info;
          break;
        }
      }
      if (!found || !foundInfo) {
        missing.push({ needed: name, from: obj.path });
        continue;
      }
      libs.add(found);
      if (!byPath.has(found)) {
        const l = load(found, foundInfo, [obj, ...obj.loaders]);
        bySoname.set(name, l);
      } else bySoname.set(name, byPath.get(found)!);
    }
  }
  return { libs: [...libs].sort(), missing };
}
