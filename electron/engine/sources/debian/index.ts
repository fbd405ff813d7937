// A Debian base from mmdebstrap (or debootstrap under fakeroot), as a tree. Two cached graph nodes, as the
// seed cookbook splits them: the download (the .deb files, kept in the blob
// store, pooled per suite and mirror) and the install (the root filesystem,
// imported from mmdebstrap's tarball into a pack). Changing `include` re-runs
// the install with the pool handed to apt, so only new packages are fetched;
// a layer above re-runs neither.
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImagePath, Sha256 } from '../../../../shared/brand';
import { mirrorProblem } from '../../../../shared/grammar';
import type { SourceOf } from '../../../../shared/recipe';
import { digestOf } from '../../model/digest';
import { ROOT, isUnder } from '../../model/path';
import { treeFromJson, treeToJson, type Entry, type Tree } from '../../model/tree';
import { removeRoot } from '../../store/materialize';
import { TOOLS, ToolMissingError, findTool } from '../../tools/registry';
import { importTar } from '../../oci/tar-import';
import { RecipeError, type SourceContext, type SourceResult } from '../types';
import { runDebootstrap } from './debootstrap';
import { mmdebstrapArgs } from './mmdebstrap';
import { DebianProgress, type DebianTool } from './progress';
import { OFFLINE, lastLines, streamTool, type StreamResult } from './stream';

const ENGINE = 3;

/** What varies by host and time in a fresh Debian root, and is dropped from the tree. */
const DROP = ['/var/log', '/var/cache/apt', '/var/lib/apt/lists', '/var/cache/ldconfig/aux-cache', '/etc/resolv.conf', '/etc/hostname', '/var/cache/debconf/config.dat-old', '/var/cache/debconf/templates.dat-old', '/var/lib/dpkg/status-old', '/var/lib/dpkg/diversions-old'];
/** Kept as empty files: present in every Debian root, their content is per machine. */
const EMPTY = ['/etc/machine-id'];

interface DownloadRecord {
  debs: [string, Sha256][];
}

/**
 * The first Debian mirror of the host's apt configuration (deb822 or one-line),
 * checked by the same grammar as a recipe's mirror: it goes to the same tools.
 */
export async function hostMirror(aptDir = '/etc/apt'): Promise<string> {
  const listDir = path.join(aptDir, 'sources.list.d');
  const files = [path.join(aptDir, 'sources.list'), ...(await fs.readdir(listDir).catch(() => [] as string[])).filter((f) => /\.(sources|list)$/.test(f)).sort().map((f) => path.join(listDir, f))];
  for (const f of files) {
    const text = await fs.readFile(f, 'utf8').catch(() => '');
    const m = /^URIs:[ \t]*(\S+)/m.exec(text) ?? /^deb[ \t]+(?:\[[^\]\n]*\][ \t]+)?(\S+)/m.exec(text);
    if (!m || m[1].includes('security')) continue;
    const problem = m[1] === 'auto' ? 'is not a URL' : mirrorProblem(m[1]);
    if (problem) throw new Error(`the host's apt sources (${f}) name the mirror ${JSON.stringify(m[1])}, which ${problem.startsWith('expected') ? `is refused: ${problem}` : problem}: set mirror: in the recipe`);
    return m[1];
  }
  throw new Error(`no Debian mirror in ${path.join(aptDir, 'sources.list')} or ${listDir}: set mirror: in the recipe`);
}

/** `auto`: mmdebstrap when installed, else debootstrap (with fakeroot). */
function chooseTool(s: SourceOf<'debian'>): DebianTool {
  if (s.tool !== 'auto') return s.tool;
  if (findTool('mmdebstrap')) return 'mmdebstrap';
  if (findTool('debootstrap')) return 'debootstrap';
  throw new ToolMissingError(TOOLS.mmdebstrap);
}

export async function debianSource(s: SourceOf<'debian'>, ctx: SourceContext): Promise<SourceResult> {
  const tool = chooseTool(s);
  if (!findTool(tool)) throw new ToolMissingError(TOOLS[tool]);
  const mirror = s.mirror === 'auto' ? await hostMirror().catch((e: Error) => Promise.reject(new RecipeError(`${ctx.field}.mirror`, e.message))) : s.mirror;
  const arch = 'amd64';
  // The pool of .debs is shared by both tools: a .deb is a .deb.
  const poolKey = digestOf({ node: 'debian-pool', v: ENGINE, suite: s.suite, components: s.components, mirror, arch });
  const dlKey = digestOf({ node: 'debian-download', v: ENGINE, tool, suite: s.suite, variant: s.variant, include: [...s.include].sort(), exclude: [...s.exclude].sort(), components: s.components, mirror, arch });
  const download = await ctx.cache.get<DownloadRecord>(dlKey);
  const installKey = download && digestOf({ node: 'debian-install', v: ENGINE, dlKey, debs: download.debs, epoch: ctx.epoch });
  const label = `debian ${s.suite}/${s.variant}`;
  if (installKey) {
    const rows = await ctx.cache.get<[string, Entry][]>(installKey);
    if (rows && (await ctx.store.loadPack(installKey))) {
      ctx.node('download', `${label} download`).cached(`${download.debs.length} packages`);
      ctx.node('install', `${label} install`).cached();
      return { put: treeFromJson(rows), remove: [] };
    }
  }
  // The tool downloads and installs in one run; the two nodes report together.
  const dlNode = ctx.node('download', `${label} download`);
  const installNode = ctx.node('install', `${label} install`);

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'scratchyard-debian-'));
  try {
    const debDir = path.join(work, 'debs');
    await fs.mkdir(debDir);
    const pool = (await ctx.cache.get<DownloadRecord>(poolKey))?.debs ?? [];
    for (const [name, digest] of download?.debs ?? pool) await ctx.store.copyTo(digest, path.join(debDir, name), 0o644);
    const out = path.join(work, 'root.tar');
    const cached = (download?.debs ?? pool).length;
    ctx.log(`debian ${s.suite}/${s.variant}: ${cached ? `installing from the cached download (${cached} packages; only what is missing is fetched)` : 'downloading and installing'} (${tool}, ${mirror})`);
    try {
      await bootstrap(tool, s, mirror, debDir, work, out, ctx, download?.debs.length ?? 0, (f) => installNode.progress(f));
    } catch (e) {
      dlNode.failed(e as Error);
      installNode.failed(e as Error);
      throw e;
    }

    // The download node: the .deb files apt had, by content (the pool grows with each new set).
    const debs: [string, Sha256][] = [];
    for (const name of (await fs.readdir(debDir)).filter((n) => n.endsWith('.deb')).sort()) debs.push([name, (await ctx.store.putHostFile(path.join(debDir, name))).digest]);
    const record = download ?? { debs };
    if (!download) await ctx.cache.put(dlKey, record);
    await ctx.cache.put(poolKey, { debs: mergeDebs(pool, debs) } satisfies DownloadRecord);
    if (download) dlNode.cached(`${download.debs.length} packages`);
    else dlNode.done(`${debs.length} packages`);

    // The install node: the root, normalized.
    const key = digestOf({ node: 'debian-install', v: ENGINE, dlKey, debs: record.debs, epoch: ctx.epoch });
    const pack = await ctx.store.beginPack(key);
    let tree: Tree;
    try {
      tree = normalize(await importTar(pack, createReadStream(out), ROOT), await ctx.store.putBytes(''));
      await pack.finish();
    } catch (e) {
      await pack.abort();
      throw e;
    }
    await ctx.cache.put(key, treeToJson(tree));
    installNode.done(`${tree.size} entries`);
    return { put: tree, remove: [] };
  } finally {
    // debootstrap's root holds folders without write permission: removeRoot copes.
    await removeRoot(work);
  }
}

function mergeDebs(a: [string, Sha256][], b: [string, Sha256][]): [string, Sha256][] {
  return [...new Map([...a, ...b])].sort(([x], [y]) => (x < y ? -1 : 1));
}

function normalize(tree: Tree, empty: { digest: Sha256; size: number }): Tree {
  for (const p of [...tree.keys()]) {
    if (DROP.some((d) => p === d || isUnder(p, d))) tree.delete(p);
  }
  // Keep the folders apt and dpkg expect, empty.
  for (const d of ['/var/log', '/var/cache/apt', '/var/lib/apt/lists']) tree.set(d as ImagePath, { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
  for (const f of EMPTY) if (tree.has(f as ImagePath)) tree.set(f as ImagePath, { ...tree.get(f as ImagePath)!, size: 0, digest: empty.digest });
  return tree;
}

async function bootstrap(tool: DebianTool, s: SourceOf<'debian'>, mirror: string, debDir: string, work: string, out: string, ctx: SourceContext, expected: number, onProgress: (f: number) => void): Promise<void> {
  const progress = new DebianProgress(tool, expected);
  let r: StreamResult;
  if (tool === 'mmdebstrap') {
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(ctx.epoch), LC_ALL: 'C.UTF-8' };
    r = await streamTool(findTool('mmdebstrap')!, mmdebstrapArgs(s, mirror, debDir, out), env, ctx, progress, onProgress);
  } else {
    r = await runDebootstrap({ s, mirror, debDir, work, out, ctx, progress, onProgress });
  }
  if (r.code === 0) return;
  const offline = OFFLINE.test(r.tail);
  throw new RecipeError(ctx.field, offline ? `cannot reach the Debian mirror ${mirror}: ${lastLines(r.tail)}` : `${tool} failed (exit ${r.code}): ${lastLines(r.tail)}`);
}
