// A host source's `trace:` commands: each runs on this machine, in the
// sandbox with the host root read-only, under strace; the regular files it
// used, with the symlinks on their way, are listed in the project
// (scratchyard.trace/NAME.txt, sorted, reviewable, committed with the recipe)
// and join the source. A build traces again only when the command or the
// file its program resolves to changed, so another machine with the same
// program builds from the list without tracing.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostPathProblem } from '../../../shared/grammar';
import type { ImagePath } from '../../../shared/brand';
import { DEFAULT_OUT_DIR } from '../../../shared/recipe';
import { comparePaths, imagePath, isUnder } from '../model/path';
import type { Tree } from '../model/tree';
import { DEFAULT_PATH } from '../model/runspec';
import { projectFolderProblem, writeFileAtomic } from '../store/atomic';
import { requireTool } from '../tools/registry';
import { HOST_SCRATCH, hostRoot, identityFor, runSandboxed } from '../tools/sandbox';
import { makeWorkDir, removeWorkDir } from '../tools/workdir';
import { isElf, parseElf } from './elf/parse';
import { hostLook, walkPath } from './elf/view';
import { addHostPath, hostEntry } from './hostfs';
import { tracedPaths } from './strace-parse';
import type { SourceContext } from './types';

export const TRACE_DIR = 'scratchyard.trace';
/** Host state, not files a program ships with: never taken. */
const NOT_HOST_FILES = ['/proc', '/sys', '/dev', '/tmp', '/var/tmp', '/run', '/var/run', '/home', '/root'];
/** The host loader's cache describes the host's libraries, not the image's. */
const DROPPED_FILES = new Set(['/etc/ld.so.cache']);

/** A trace that failed or a list that cannot be used: names the command or the list file. */
export class TraceError extends Error {}

/** Where a command's list lives: the program's name and a digest of the whole argv. */
export function traceListName(argv: string[]): string {
  const base = path.basename(argv[0]).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40) || 'command';
  return `${base}-${createHash('sha256').update(JSON.stringify(argv)).digest('hex').slice(0, 12)}.txt`;
}

/** The key of a trace: the argv and the digest of every file (and link target) its program resolves to. */
async function traceKey(argv: string[], ctx: TraceContext): Promise<string> {
  const h = createHash('sha256').update(JSON.stringify(argv));
  const chain = await hostChain(argv[0]);
  if (!chain.file) throw new TraceError(`${argv[0]}: not a program on this machine`);
  for (const l of chain.links) h.update(`\0link ${l} -> ${await fs.readlink(l)}`);
  h.update(`\0file ${chain.file} ${await ctx.store.digestHostFile(chain.file)}`);
  return `sha256:${h.digest('hex')}`;
}

/**
 * Resolve a host path component by component: the symlinks met on the way
 * and the regular file it ends at (none for a folder, a device, a missing file).
 */
export async function hostChain(p: string): Promise<{ links: string[]; file?: string }> {
  const w = await walkPath(p, hostLook, true);
  return { links: w.links.map((l) => l.path), ...(w.end?.type === 'file' ? { file: w.end.path } : {}) };
}

/** What a trace needs of a source's context (a trace run from the app has no build around it). */
export type TraceContext = Pick<SourceContext, 'projectDir' | 'store' | 'signal' | 'log'>;

/** Why a path is host state rather than a file to ship, or undefined when it may be taken. */
function exclusionOf(ctx: TraceContext): (p: string) => string | undefined {
  const home = os.homedir();
  const tmp = os.tmpdir();
  const out = path.join(ctx.projectDir, DEFAULT_OUT_DIR);
  const under = (p: string, d: string) => p === d || isUnder(p, d);
  return (p) => {
    if (DROPPED_FILES.has(p)) return "the host's loader cache (it describes the host's libraries, not the image's)";
    const d = NOT_HOST_FILES.find((x) => under(p, x));
    if (d) return `host state under ${d}`;
    if (under(p, home)) return `the home folder ${home}`;
    if (under(p, tmp)) return `the temporary folder ${tmp}`;
    if (under(p, out)) return "the project's out/ folder";
    if (under(p, ctx.store.dir)) return 'the build cache';
    return undefined;
  };
}

function excludedTest(ctx: TraceContext): (p: string) => boolean {
  const why = exclusionOf(ctx);
  return (p) => why(p) !== undefined;
}

/** A traced path not taken, and why. */
export interface DroppedPath {
  path: string;
  reason: string;
}

/** Why a path the trace saw that resolves to no regular file is not taken. */
async function notAFile(p: string): Promise<string> {
  const st = await fs.stat(p).catch(() => undefined);
  if (!st) return 'not on this machine (missing, or made by the program in its private /tmp)';
  if (st.isDirectory()) return 'a folder (only the files used in it are taken)';
  return 'not a regular file (a device, socket or pipe)';
}

/**
 * The traced paths sorted into the host files they stand for (regular files
 * and the symlinks on their way, sorted) and the paths dropped, with why.
 * Host state (`/proc`, `/tmp`, home folders…) is `excluded`; folders and
 * missing paths are dropped too but were never files to take.
 */
export async function classifyTraced(paths: string[], ctx: TraceContext): Promise<{ kept: string[]; dropped: DroppedPath[]; excluded: number }> {
  const why = exclusionOf(ctx);
  const kept = new Set<string>();
  const dropped = new Map<string, string>();
  let excluded = 0;
  const queue = [...paths];
  for (const p of queue) {
    const own = why(p);
    if (own) {
      excluded++;
      dropped.set(p, own);
      continue;
    }
    const chain = await hostChain(p);
    if (!chain.file) {
      // folders, missing files: nothing to take
      if (!dropped.has(p)) dropped.set(p, await notAFile(p));
      continue;
    }
    const via = [...chain.links, chain.file].find((f) => why(f) !== undefined);
    if (via) {
      excluded++;
      dropped.set(p, `reached through ${via}: ${why(via)}`);
      continue;
    }
    for (const f of [...chain.links, chain.file]) kept.add(f);
    // The kernel opens an executable's interpreter itself, unseen by strace.
    const interp = await interpreterOf(chain.file);
    if (interp && !queue.includes(interp)) queue.push(interp);
  }
  return { kept: [...kept].sort(comparePaths), dropped: [...dropped].map(([p, reason]) => ({ path: p, reason })).sort((a, b) => comparePaths(a.path, b.path)), excluded };
}

/** The host files (regular files and the symlinks on their way) the paths a trace saw stand for. */
export async function keptFiles(paths: string[], ctx: TraceContext): Promise<{ kept: string[]; dropped: number }> {
  const { kept, excluded } = await classifyTraced(paths, ctx);
  return { kept, dropped: excluded };
}

async function interpreterOf(file: string): Promise<string | undefined> {
  const fh = await fs.open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(64), 0, 64, 0);
    if (!isElf(buffer.subarray(0, bytesRead))) return undefined;
    return parseElf(await fh.readFile()).interp;
  } catch {
    return undefined; // not an ELF file we can read from its head: the closure reports real problems
  } finally {
    await fh.close();
  }
}

async function runTrace(argv: string[], ctx: TraceContext): Promise<string[]> {
  const strace = requireTool('strace');
  const work = await makeWorkDir('trace');
  try {
    const scratch = path.join(work, 'scratch');
    await fs.mkdir(scratch);
    const log = `${HOST_SCRATCH}/strace.out`;
    const outcome = await runSandboxed(
      {
        prepared: hostRoot(scratch),
        work,
        identity: await identityFor(),
        process: {
          argv: [strace, '-f', '--seccomp-bpf', '-qq', '-y', '-e', 'trace=%file,%process,fchdir', '-o', log, '--', ...argv],
          env: { PATH: DEFAULT_PATH, HOME: '/root', LANG: 'C.UTF-8' },
          workdir: '/',
        },
      },
      { signal: ctx.signal },
    );
    if (outcome.code !== 0) {
      const why = (outcome.stderr.trim().split('\n').slice(-3).join(' | ') || `exit code ${outcome.code}`).slice(0, 400);
      throw new TraceError(`the traced command ${JSON.stringify(argv)} failed (exit code ${outcome.code}): ${why}`);
    }
    const text = await fs.readFile(path.join(scratch, 'strace.out'), 'utf8');
    return tracedPaths(text);
  } finally {
    await removeWorkDir(work);
  }
}

const HEADER = '# scratchyard trace: the files this command used, taken into the image. Edit to drop or add; a changed command or program traces again.';

function canonicalProblem(p: string): string | undefined {
  const ok = (() => {
    try {
      return imagePath(p) === p;
    } catch {
      return false;
    }
  })();
  return ok ? undefined : 'not a canonical path (no ".", "..", "//" or trailing "/")';
}

/** Read a list file: the key and the paths, each validated as an absolute host path (the file is project input). */
async function readList(file: string, rel: string): Promise<{ key?: string; paths: string[] } | undefined> {
  const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (text === undefined) return undefined;
  let key: string | undefined;
  const paths: string[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.startsWith('# key: ')) key = line.slice(7).trim();
    if (line === '' || line.startsWith('#')) continue;
    const problem = hostPathProblem(line) ?? canonicalProblem(line);
    if (problem) throw new TraceError(`${rel}:${i + 1}: ${problem}`);
    paths.push(line);
  }
  return { key, paths };
}

/** Trace `argv` and write its list (keyed by `key`); what was kept and dropped. */
async function traceAndWrite(argv: string[], key: string, ctx: TraceContext): Promise<{ kept: string[]; dropped: DroppedPath[] }> {
  const rel = `${TRACE_DIR}/${traceListName(argv)}`;
  const file = path.join(ctx.projectDir, rel);
  const seen = await runTrace(argv, ctx);
  const { kept, dropped, excluded } = await classifyTraced(seen, ctx);
  ctx.log(`trace: ${kept.length} files kept, ${excluded} dropped (host state: /proc, /tmp, home folders, the loader cache...), written to ${rel}`);
  const why = await projectFolderProblem(path.dirname(file));
  if (why) throw new TraceError(why);
  await fs.mkdir(path.dirname(file), { recursive: true });
  // A new file renamed over the list: a symlink planted at the list's name is replaced, never written through.
  await writeFileAtomic(file, `${HEADER}\n# command: ${JSON.stringify(argv)}\n# key: ${key}\n${kept.join('\n')}\n`);
  return { kept, dropped };
}

/** One traced command as the app shows it: the files kept (with the bytes each adds), those dropped and why. */
export interface TraceReport {
  argv: string[];
  /** The list file, relative to the project folder. */
  list: string;
  kept: { path: string; type: 'file' | 'symlink'; bytes: number; target?: string }[];
  dropped: DroppedPath[];
  /** Bytes of the kept regular files (their ELF libraries come on top, through the closure). */
  bytes: number;
}

/**
 * Trace `argv` now, even when its list is current, and write the list as a
 * build would: the "Trace" action of the app. A build after it finds the
 * list current and takes it as it is.
 */
export async function traceCommand(argv: string[], ctx: TraceContext): Promise<TraceReport> {
  const key = await traceKey(argv, ctx);
  ctx.log(`trace: tracing ${JSON.stringify(argv)} (asked for)`);
  const { kept, dropped } = await traceAndWrite(argv, key, ctx);
  const rows: TraceReport['kept'] = [];
  for (const p of kept) {
    const st = await fs.lstat(p).catch(() => undefined);
    if (st?.isSymbolicLink()) rows.push({ path: p, type: 'symlink', bytes: 0, target: await fs.readlink(p) });
    else if (st?.isFile()) rows.push({ path: p, type: 'file', bytes: st.size });
  }
  return { argv, list: `${TRACE_DIR}/${traceListName(argv)}`, kept: rows, dropped, bytes: rows.reduce((n, r) => n + r.bytes, 0) };
}

/**
 * Put the files of every `trace:` command into `out`: from its list when
 * the list is current, else by tracing (and writing the list). Logs which.
 */
export async function addTraced(commands: string[][], ctx: SourceContext, out: Tree): Promise<void> {
  const bad = excludedTest(ctx);
  for (const argv of commands) {
    const rel = `${TRACE_DIR}/${traceListName(argv)}`;
    const file = path.join(ctx.projectDir, rel);
    const key = await traceKey(argv, ctx);
    const list = await readList(file, rel);
    let paths: string[];
    if (list && list.key === key) {
      ctx.log(`trace: ${rel} is current (command and ${argv[0]} unchanged), not traced again: ${list.paths.length} files`);
      paths = list.paths;
    } else {
      ctx.log(`trace: tracing ${JSON.stringify(argv)} (${list ? `${argv[0]} changed since ${rel} was written` : `no ${rel} yet`})`);
      paths = (await traceAndWrite(argv, key, ctx)).kept;
    }
    for (const p of paths) {
      if (bad(p)) throw new TraceError(`${rel}: ${p} is host state, not a file to ship (under /proc, /tmp, a home folder, out/ or the cache)`);
      if (!(await putAsIs(ctx, p, out))) throw new TraceError(`${rel}: ${p} is not a file or symlink on this machine, or is reached through a symlinked folder (delete the list to trace again)`);
    }
  }
}

/**
 * A listed path as it is on this machine: a symlink stays one (its target is
 * listed too), a file is copied. Not one reached through a symlinked folder:
 * that folder's link is listed instead, and the file at its real path.
 */
async function putAsIs(ctx: SourceContext, p: string, out: Tree): Promise<boolean> {
  const at = imagePath(p);
  const parent = path.dirname(at);
  if ((await fs.realpath(parent).catch(() => undefined)) !== parent) return false;
  const st = await fs.lstat(at).catch(() => undefined);
  if (!st || !(st.isFile() || st.isSymbolicLink())) return false;
  if (!out.has(at)) out.set(at, await hostEntry(ctx.store, at, st, { normalizeModes: false }));
  return true;
}

/**
 * A host source's path beside traced files: a file comes as the trace's do,
 * each symlink on its way a symlink (so /bin -> usr/bin stays one and the
 * two agree); a folder is copied whole, as without trace.
 */
export async function addHostPathAsTraced(ctx: SourceContext, p: ImagePath, out: Tree): Promise<void> {
  const st = await fs.stat(p).catch(() => undefined);
  if (st?.isDirectory()) return addHostPath(ctx.store, out, p);
  const chain = await hostChain(p);
  if (!chain.file) throw new Error(`host file ${p}: not found`);
  for (const f of [...chain.links, chain.file]) await putAsIs(ctx, f, out);
}
