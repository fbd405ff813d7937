// A Debian base from mmdebstrap (or debootstrap under fakeroot), as a tree. Two cached graph nodes, as the
// seed cookbook splits them: the download (the .deb files, kept in the blob
// store, pooled per suite and mirror) and the install (the root filesystem,
// imported from mmdebstrap's tarball into a pack). Changing `include` re-runs
// the install with the pool handed to apt, so only new packages are fetched;
// a layer above re-runs neither. Each install also records what it installed
// (scratchyard.lock's entry); `build --locked` installs exactly a lock's
// packages from the pool, as a local repository apt sees alone, first
// fetching from the archives exactly the locked versions the pool lacks.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { asSha256, type ImagePath, type Sha256 } from '../../../../shared/brand';
import { LockDriftError, debianLockSchema, type DebianLock, type LockArchive, type LockPackage } from '../../../../shared/lock';
import type { SourceOf } from '../../../../shared/recipe';
import { digestOf } from '../../model/digest';
import { ROOT, isUnder } from '../../model/path';
import { treeFromJson, treeToJson, type Entry, type Tree } from '../../model/tree';
import { removeRoot } from '../../store/materialize';
import { TOOLS, ToolMissingError, findTool, requireTool } from '../../tools/registry';
import { execOk } from '../../tools/exec';
import { HEX64 } from '../../store/integrity';
import { importTar } from '../../oci/tar-import';
import { RecipeError, type SourceContext, type SourceResult } from '../types';
import { archivesOf, listsName, sourcesLine, type Archive } from './archives';
import { runDebootstrap } from './debootstrap';
import { debootstrapStatus, installedMarks, rewriteText } from './deb-fields';
import { fetchLocked } from './fetch';
import { adoptDeb, placeDeb } from './pool';
import { debFileName, installedPackages, shippedPaths, withDebDigests } from './installed';
import { mmdebstrapArgs } from './mmdebstrap';
import { DebianProgress, type DebianTool } from './progress';
import { OFFLINE, lastLines, streamTool, type StreamResult } from './stream';

const ENGINE = 5;
/** Bumped when what an install makes of the tool's root changes: cached roots are made again, downloads and the pool stay. */
const ROOT_FORMAT = 3;

/** Their contents vary by host and time and are dropped; the folders packages ship under them stay (emptied files too). */
const DROP_CONTENTS = ['/var/log', '/var/cache/apt', '/var/lib/apt/lists'];
/** Files that vary by host and time, dropped. */
const DROP = ['/var/cache/ldconfig/aux-cache', '/etc/resolv.conf', '/etc/hostname', '/var/cache/debconf/config.dat-old', '/var/cache/debconf/templates.dat-old', '/var/lib/dpkg/status-old', '/var/lib/dpkg/diversions-old'];
/** Kept as empty files: their content is per machine (machine-id) or the archive's index as fetched (debootstrap's dpkg `available`). */
const EMPTY = ['/etc/machine-id', '/var/lib/dpkg/available'];

const sha256 = z.string().regex(HEX64).transform(asSha256);
/** The cache's record of a download: the .deb files apt had, by content (checked: the cache is untrusted). */
const downloadSchema = z.object({ debs: z.array(z.tuple([z.string().regex(/^[A-Za-z0-9+.~%_-]+\.deb$/), sha256])) });
type DownloadRecord = z.infer<typeof downloadSchema>;
/** An install's lock entry as cached (the recipe field is the build's). */
const installLockSchema = debianLockSchema.omit({ field: true });
type InstallLock = z.infer<typeof installLockSchema>;

/** `auto`: mmdebstrap when installed, else debootstrap (with fakeroot). */
function chooseTool(s: SourceOf<'debian'>): DebianTool {
  if (s.tool !== 'auto') return s.tool;
  if (findTool('mmdebstrap')) return 'mmdebstrap';
  if (findTool('debootstrap')) return 'debootstrap';
  throw new ToolMissingError(TOOLS.mmdebstrap);
}

const poolKeyOf = (suite: string, arch: string) => digestOf({ node: 'debian-pool', v: ENGINE, suite, arch });
const installKeyOf = (dlKey: string, debs: DownloadRecord['debs'], epoch: number) => digestOf({ node: 'debian-install', v: ENGINE, root: ROOT_FORMAT, dlKey, debs, epoch });
const lockKeyOf = (installKey: string) => digestOf({ node: 'debian-lock', v: ENGINE, installKey });

/** A cached install (tree, pack and lock entry all present) of the download `dlKey`. */
async function cachedInstall(dlKey: string, ctx: SourceContext): Promise<{ tree: Tree; lock: InstallLock; download: DownloadRecord } | undefined> {
  const download = await ctx.cache.get(dlKey, downloadSchema);
  if (!download) return undefined;
  const installKey = installKeyOf(dlKey, download.debs, ctx.epoch);
  const rows = await ctx.cache.get<[string, Entry][]>(installKey);
  const lock = await ctx.cache.get(lockKeyOf(installKey), installLockSchema);
  if (!rows || !lock || !(await ctx.store.loadPack(installKey))) return undefined;
  return { tree: treeFromJson(rows), lock, download };
}

const samePackages = (a: LockPackage[] = [], b: LockPackage[] = []) => a.length === b.length && a.every((p, i) => p.name === b[i].name && p.version === b[i].version && p.arch === b[i].arch && p.sha256 === b[i].sha256);

export async function debianSource(s: SourceOf<'debian'>, ctx: SourceContext): Promise<SourceResult> {
  const tool = chooseTool(s);
  if (!findTool(tool)) throw new ToolMissingError(TOOLS[tool]);
  const archives = await archivesOf(s).catch((e: Error) => Promise.reject(new RecipeError(`${ctx.field}.mirror`, e.message)));
  const locked = ctx.locked?.kind === 'debian' ? ctx.locked : undefined;
  const arch = 'amd64';
  // The pool of .debs is shared by both tools and all archives of a suite: a .deb is a .deb.
  const poolKey = poolKeyOf(s.suite, arch);
  const spec = { tool, suite: s.suite, variant: s.variant, include: [...s.include].sort(), exclude: [...s.exclude].sort(), components: s.components, archives, arch };
  const unlockedKey = digestOf({ node: 'debian-download', v: ENGINE, ...spec });
  const lockedKey = locked && digestOf({ node: 'debian-locked', v: ENGINE, ...spec, packages: locked.packages });
  const label = `debian ${s.suite}/${s.variant}`;
  const result = (tree: Tree, lock: InstallLock): SourceResult => ({ put: tree, remove: [], lock: { field: ctx.field, ...lock } });
  // An unlocked install is reused by --locked when it installed exactly the locked packages.
  for (const key of lockedKey ? [unlockedKey, lockedKey] : [unlockedKey]) {
    const hit = await cachedInstall(key, ctx);
    if (hit && (!locked || (samePackages(hit.lock.packages, locked.packages) && samePackages(hit.lock.purged, locked.purged)))) {
      ctx.node('download', `${label} download`).cached(`${hit.download.debs.length} packages`);
      ctx.node('install', `${label} install`).cached();
      return result(hit.tree, locked ? { ...hit.lock, archives: locked.archives } : hit.lock);
    }
  }
  const dlKey = lockedKey ?? unlockedKey;
  const download = await ctx.cache.get(dlKey, downloadSchema);
  let pool = (await ctx.cache.get(poolKey, downloadSchema))?.debs ?? [];
  const poolMap = new Map(pool);
  // The tool downloads and installs in one run; the two nodes report together.
  const dlNode = ctx.node('download', `${label} download`);
  const installNode = ctx.node('install', `${label} install`);

  // The work folder sits beside the cache when it can, so the pool's .debs are hard links, not copies.
  const work = await fs.mkdtemp(path.join(await workParent(ctx.store.cacheDir), 'scratchyard-debian-'));
  try {
    const debDir = path.join(work, 'debs');
    const listsDir = path.join(work, 'lists');
    await Promise.all([fs.mkdir(debDir), fs.mkdir(listsDir)]);
    let mirrors: string[];
    /** Under --locked, the local repository's index: dpkg-scanpackages' stanzas of every locked .deb. */
    let repoIndex: string | undefined;
    if (locked) {
      const lacking = withPurged(locked).filter((p) => poolMap.get(debFileName(p)) !== p.sha256);
      if (lacking.length) {
        // The lock's archives too: they may still serve what the recipe's no longer do.
        const from = [...new Map([...archives, ...locked.archives].map((a) => [`${a.uri} ${a.suite}`, { uri: a.uri, suite: a.suite, components: a.components }])).values()];
        ctx.log(`debian ${s.suite}/${s.variant}: ${lacking.length} locked package(s) not in the cache's pool: asking the archives for exactly those versions`);
        const fetched = await fetchLocked(lacking, from, path.join(work, 'fetch'), ctx).catch((e: Error) => {
          dlNode.failed(e);
          throw e;
        });
        if (fetched.problems.length) {
          const err = new LockDriftError(ctx.field, fetched.problems);
          dlNode.failed(err);
          throw err;
        }
        pool = mergeDebs(pool, fetched.debs);
        for (const [name, digest] of fetched.debs) poolMap.set(name, digest);
        await ctx.cache.put(poolKey, { debs: pool } satisfies DownloadRecord);
      }
      repoIndex = await lockedRepository(locked, poolMap, debDir, s, arch, ctx);
      mirrors = [`deb [trusted=yes] file://${debDir} ./`];
    } else {
      for (const [name, digest] of download?.debs ?? pool) await placeDeb(ctx.store, digest, path.join(debDir, name), true);
      mirrors = archives.map(sourcesLine);
    }
    const out = path.join(work, 'root.tar');
    const cached = locked ? locked.packages.length : (download?.debs ?? pool).length;
    const logFile = path.join(ctx.store.cacheDir, 'logs', `debian-${dlKey.slice(0, 16)}.log`);
    ctx.log(`debian ${s.suite}/${s.variant}: ${locked ? `installing the ${cached} locked packages from the cache's pool` : cached ? `installing from the cached download (${cached} packages; only what is missing is fetched)` : 'downloading and installing'} (${tool}, ${locked ? 'scratchyard.lock' : archives.map((a) => `${a.uri} ${a.suite}`).join(', ')})`);
    try {
      // Under --locked every locked package is asked for by name: the repository holds only its locked version.
      await bootstrap({ tool, s: locked ? { ...s, include: [...new Set([...s.include, ...locked.packages.map((p) => p.name)])] } : s, mirrors, locked, debDir, listsDir, work, out, ctx, expected: download?.debs.length ?? 0, logFile, onProgress: (f) => installNode.progress(f) });
    } catch (e) {
      dlNode.failed(e as Error);
      installNode.failed(e as Error);
      throw e;
    } finally {
      ctx.log(`debian ${s.suite}/${s.variant}: ${tool}'s full log: ${logFile}`);
    }

    // The download node: the .deb files apt had, by content (the pool grows with each new set).
    const debs: [string, Sha256][] = [];
    for (const name of (await fs.readdir(debDir)).filter((n) => n.endsWith('.deb')).sort()) debs.push([name, poolMap.get(name) ?? (await adoptDeb(ctx.store, path.join(debDir, name)))]);
    const record = download ?? { debs };
    if (!download) await ctx.cache.put(dlKey, record);
    const merged = mergeDebs(pool, debs);
    await ctx.cache.put(poolKey, { debs: merged } satisfies DownloadRecord);
    if (download) dlNode.cached(`${download.debs.length} packages`);
    else dlNode.done(`${debs.length} packages`);

    // The install node: the root, normalized, and what it installed.
    const key = installKeyOf(dlKey, record.debs, ctx.epoch);
    // The tool's tar is the pack: contents indexed where they lie in it, not copied (store/inplace-pack.ts).
    const pack = await ctx.store.beginPackInPlace(key);
    let raw: Tree;
    try {
      raw = await importTar(pack, pack.tee(createReadStream(out, { highWaterMark: 1 << 20 })), ROOT);
      await pack.finish();
    } catch (e) {
      await pack.abort();
      throw e;
    }
    if (locked && tool === 'debootstrap') await debootstrapSources(raw, locked, s, ctx);
    // Read from the finished pack: the status file, dpkg's log, the packages' file lists.
    const t0 = performance.now();
    const installed = await installedPackages(raw, ctx.store, await fs.readFile(path.join(listsDir, 'dpkg.log'), 'utf8').catch(() => undefined));
    const pooled = new Map(merged);
    const { packages, missing } = withDebDigests(installed.packages, pooled);
    const purged = withDebDigests(installed.purged, pooled);
    if (missing.length || purged.missing.length) throw new Error(`${tool} installed packages whose .deb is not in the pool: ${[...missing, ...purged.missing].map(debFileName).join(', ')}`);
    if (tool === 'debootstrap') await debootstrapStatus(raw, installed.packages, repoIndex ?? { debDir, scratch: path.join(work, 'installed-debs') }, ctx);
    await installedMarks(raw, installed.packages, ctx);
    const lock: InstallLock = { kind: 'debian', archives: locked ? locked.archives : await releaseDigests(archives, listsDir, ctx), packages, ...(purged.packages.length ? { purged: purged.packages } : {}) };
    const lockMs = Math.round(performance.now() - t0);
    const tree = normalize(raw, await ctx.store.putBytes(''), await shippedPaths(raw, ctx.store));
    await ctx.cache.put(key, treeToJson(tree));
    await ctx.cache.put(lockKeyOf(key), lock);
    installNode.done(`${tree.size} entries; ${packages.length} packages recorded for the lock in ${lockMs} ms`);
    return result(tree, lock);
  } finally {
    // debootstrap's root holds folders without write permission: removeRoot copes.
    await removeRoot(work);
  }
}

/** The locked packages, and those the install pulled in and the recipe's `exclude` purged (apt needs them to resolve). */
const withPurged = (locked: DebianLock): LockPackage[] => [...locked.packages, ...(locked.purged ?? [])];

/** A local repository of exactly the locked .debs from the pool, for apt to resolve against alone; its Packages index is returned. */
async function lockedRepository(locked: DebianLock, pool: Map<string, Sha256>, debDir: string, s: SourceOf<'debian'>, arch: string, ctx: SourceContext): Promise<string> {
  const suite = s.suite;
  // Linked unverified: dpkg-scanpackages hashes every .deb, and its index is checked against the lock below.
  const all = withPurged(locked);
  for (const p of all) await placeDeb(ctx.store, pool.get(debFileName(p))!, path.join(debDir, debFileName(p)), false);
  const scan = await execOk(requireTool('dpkgScanpackages'), ['--multiversion', '.', '/dev/null'], { cwd: debDir });
  const scanned = new Map([...scan.stdout.matchAll(/^Filename: \.\/(\S+)\n(?:.+\n)*?SHA256: ([0-9a-f]{64})$/gm)].map((m) => [m[1], m[2]]));
  const bad = all.filter((p) => scanned.get(debFileName(p)) !== p.sha256);
  for (const p of bad) ctx.store.drop(pool.get(debFileName(p))!);
  if (bad.length) throw new Error(`the cache's .deb pool (${ctx.store.dir}) holds damaged .debs, now removed: ${bad.map((p) => `${debFileName(p)} (sha256 ${scanned.get(debFileName(p))?.slice(0, 12) ?? 'unreadable'}, the lock ${p.sha256.slice(0, 12)})`).join(', ')}; build again to fetch them anew`);
  await fs.writeFile(path.join(debDir, 'Packages'), scan.stdout);
  // mmdebstrap picks the essential set with ?archive(^SUITE$): the repository names the suite it stands for.
  const index = Buffer.from(scan.stdout);
  const release = [`Suite: ${suite}`, `Codename: ${suite}`, 'Date: Thu, 01 Jan 1970 00:00:00 UTC', `Architectures: ${arch} all`, 'SHA256:', ` ${createHash('sha256').update(index).digest('hex')} ${index.length} Packages`, ''];
  await fs.writeFile(path.join(debDir, 'Release'), release.join('\n'));
  // debootstrap reads a mirror's dists/SUITE/COMPONENT/binary-ARCH/Packages (the first component holds them all).
  const dists = path.join(debDir, 'dists', suite);
  const lists: string[] = [];
  for (const [i, c] of s.components.entries()) {
    const rel = `${c}/binary-${arch}/Packages`;
    const body = i === 0 ? index : Buffer.alloc(0);
    await fs.mkdir(path.dirname(path.join(dists, rel)), { recursive: true });
    await fs.writeFile(path.join(dists, rel), body);
    lists.push(` ${createHash('sha256').update(body).digest('hex')} ${body.length} ${rel}`);
  }
  await fs.writeFile(path.join(dists, 'Release'), [`Suite: ${suite}`, `Codename: ${suite}`, 'Date: Thu, 01 Jan 1970 00:00:00 UTC', `Architectures: ${arch} all`, `Components: ${s.components.join(' ')}`, 'SHA256:', ...lists, ''].join('\n'));
  return scan.stdout;
}

/** Each archive with the sha256 of the InRelease (or Release) file apt fetched for it. */
async function releaseDigests(archives: Archive[], listsDir: string, ctx: SourceContext): Promise<LockArchive[]> {
  const out: LockArchive[] = [];
  for (const a of archives) {
    let release: Sha256 | undefined;
    for (const f of ['InRelease', 'Release'] as const) {
      const file = path.join(listsDir, listsName(a, f));
      if (!release && (await fs.access(file).then(() => true, () => false))) release = await ctx.store.digestHostFile(file);
    }
    out.push({ ...a, ...(release ? { release } : {}) });
  }
  return out;
}

/** debootstrap named the local repository in /etc/apt/sources.list: name the lock's first archive instead, as an unlocked debootstrap writes it. */
function debootstrapSources(raw: Tree, locked: DebianLock, s: SourceOf<'debian'>, ctx: SourceContext): Promise<void> {
  const a = locked.archives[0];
  return rewriteText(raw, '/etc/apt/sources.list', ctx, () => (a ? `deb ${a.uri} ${a.suite} ${s.components.join(' ')}\n` : ''));
}

/** The system's temporary folder when it shares the blobs' file system (links work), else a folder in the cache. */
async function workParent(cacheDir: string): Promise<string> {
  const [tmp, cache] = await Promise.all([fs.stat(os.tmpdir()), fs.stat(cacheDir)]);
  if (tmp.dev === cache.dev) return os.tmpdir();
  const dir = path.join(cacheDir, 'tmp');
  return fs.mkdir(dir, { recursive: true }).then(() => dir, () => os.tmpdir());
}

function mergeDebs(a: [string, Sha256][], b: [string, Sha256][]): [string, Sha256][] {
  return [...new Map([...a, ...b])].sort(([x], [y]) => (x < y ? -1 : 1));
}

/**
 * Drop what varies by host and time: under DROP_CONTENTS only what no
 * package ships (a shipped folder such as /var/log/nginx stays; a shipped
 * file stays empty).
 */
function normalize(tree: Tree, empty: { digest: Sha256; size: number }, shipped: Set<string>): Tree {
  for (const p of [...tree.keys()]) {
    const e = tree.get(p)!;
    if (DROP.includes(p)) tree.delete(p);
    else if (DROP_CONTENTS.some((d) => isUnder(p, d))) {
      if (!shipped.has(p)) tree.delete(p);
      else if (e.type === 'file') tree.set(p, { ...e, size: 0, digest: empty.digest });
    }
  }
  // Keep the folders apt and dpkg expect.
  for (const d of DROP_CONTENTS) if (!tree.has(d as ImagePath)) tree.set(d as ImagePath, { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
  for (const f of EMPTY) if (tree.has(f as ImagePath)) tree.set(f as ImagePath, { ...tree.get(f as ImagePath)!, size: 0, digest: empty.digest });
  return tree;
}

/**
 * A locked install reads a local repository: afterwards the root is made what
 * the unlocked install of the same packages makes, its sources.list naming the
 * locked archives (as mmdebstrap writes it) and apt's auto marks restored.
 * Every value is checked by the lock's schema (URLs, suites, package names).
 */
function lockedHooks(locked: DebianLock | undefined): string[] {
  if (!locked) return [];
  const list = locked.archives.map((a) => `deb ${a.uri} ${a.suite} ${a.components.join(' ')}\n`).join('\n');
  const auto = locked.packages.filter((p) => p.auto).map((p) => p.name);
  return [
    `--customize-hook=printf '%s' '${list}' > "$1"/etc/apt/sources.list`,
    ...(auto.length ? [`--customize-hook=chroot "$1" apt-mark auto -- ${auto.join(' ')} >/dev/null`] : []),
  ];
}

interface BootstrapRun {
  tool: DebianTool;
  s: SourceOf<'debian'>;
  mirrors: string[];
  debDir: string;
  listsDir?: string;
  work: string;
  out: string;
  ctx: SourceContext;
  expected: number;
  logFile: string;
  onProgress: (f: number) => void;
  /** Under --locked: the archives to name in /etc/apt/sources.list and apt's auto marks to restore. */
  locked?: DebianLock;
}

async function bootstrap(b: BootstrapRun): Promise<void> {
  const progress = new DebianProgress(b.tool, b.expected);
  await fs.mkdir(path.dirname(b.logFile), { recursive: true });
  const full = createWriteStream(b.logFile);
  let r: StreamResult;
  try {
    if (b.tool === 'mmdebstrap') {
      const env = { ...process.env, SOURCE_DATE_EPOCH: String(b.ctx.epoch), LC_ALL: 'C.UTF-8' };
      r = await streamTool(findTool('mmdebstrap')!, [...lockedHooks(b.locked), ...mmdebstrapArgs(b.s, b.mirrors, b.debDir, b.out, b.listsDir)], env, b.ctx, progress, b.onProgress, full);
    } else {
      // debootstrap reads one archive: the suite's (the -updates and -security archives need mmdebstrap).
      // Locked: the local repository of checked .debs (unsigned: each .deb's sha256 was compared with the lock).
      const mirror = b.locked ? `file://${b.debDir}` : b.mirrors[0].split(' ')[1];
      r = await runDebootstrap({ s: b.s, mirror, unsigned: !!b.locked, debDir: b.debDir, work: b.work, out: b.out, ctx: b.ctx, progress, onProgress: b.onProgress, full });
    }
  } finally {
    await new Promise<void>((resolve) => full.end(resolve));
  }
  if (r.code === 0) return;
  const offline = OFFLINE.test(r.tail);
  throw new RecipeError(b.ctx.field, offline ? `cannot reach the Debian mirror ${b.mirrors.join(', ')}: ${lastLines(r.tail)}` : `${b.tool} failed (exit ${r.code}): ${lastLines(r.tail)}`);
}
