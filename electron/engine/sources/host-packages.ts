// Which Debian package of this machine each host file belongs to, and that
// package's control fields: one dpkg-query call (every package's name,
// version and file list) and the status file, or the answer kept in the cache
// folder for the same database and paths. Used to name host files' packages
// in SBOMs and the lock, and to write distroless-style /var/lib/dpkg/status.d
// entries for them.
import { createHash } from 'node:crypto';
import { promises as fs, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { digestOf } from '../model/digest';
import { DPKG_LIMITS, debPackage, formatParagraph, parseParagraphs, usrKey, type DebPackage, type Paragraph } from '../model/dpkg';
import { imagePath } from '../model/path';
import type { Entry, Tree } from '../model/tree';
import { sweepStaleTemps, writeFileAtomic } from '../store/atomic';
import type { BlobStore } from '../store/blobs';
import { readJsonCapped } from '../store/integrity';
import { exec } from '../tools/exec';
import { findTool } from '../tools/registry';

export interface HostPackage extends DebPackage {
  /** Its paragraph of /var/lib/dpkg/status, Conffiles dropped (they name host md5s of files the image may not hold). */
  control: Paragraph;
}

/** This machine's dpkg database as read in full (on a miss of the answers' cache): every package's file list (dpkg-query's text) and control paragraph. */
interface HostDb {
  listing: string;
  controls: Map<string, Paragraph>;
}

const FORMAT = '${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n${db-fsys:Files}';
const MAX_STATUS = 64 << 20;

/** dpkg's database folder: DPKG_ADMINDIR, as dpkg-query itself honours it, else Debian's. */
function adminDir(): string {
  return process.env.DPKG_ADMINDIR || '/var/lib/dpkg';
}

/** The full read, once per identity of the database (a long-lived process sees an upgrade). */
let loaded: { identity: string; db: Promise<HostDb | undefined> } | undefined;

function hostDb(identity: string): Promise<HostDb | undefined> {
  if (loaded?.identity !== identity) loaded = { identity, db: load(adminDir()) };
  return loaded.db;
}

async function load(dir: string): Promise<HostDb | undefined> {
  const tool = findTool('dpkgQuery');
  if (!tool) return undefined;
  const status = path.join(dir, 'status');
  const [listing, statusText] = await Promise.all([
    exec(tool, ['-W', '-f', FORMAT]),
    fs.stat(status).then((st) => (st.size <= MAX_STATUS ? fs.readFile(status, 'utf8') : ''), () => ''),
  ]);
  const controls = new Map<string, Paragraph>();
  for (const p of parseParagraphs(statusText)) {
    const pkg = debPackage(p);
    if (!pkg) continue;
    const control = new Map([...p].filter(([k]) => k !== 'Conffiles'));
    controls.set(`${pkg.name}:${pkg.architecture}`, control);
  }
  return { listing: listing.stdout, controls };
}

/**
 * The identity of the dpkg database: what any install, upgrade or removal
 * changes (status is replaced by a rename, info/ gains or loses .list files,
 * updates/ holds the journal of one in progress). Undefined without one.
 */
async function dbIdentity(dir: string): Promise<string | undefined> {
  const parts = await Promise.all(
    ['status', 'info', 'updates'].map((n) =>
      fs.stat(path.join(dir, n), { bigint: true }).then(
        (st) => `${n}:${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`,
        () => `${n}:-`,
      ),
    ),
  );
  if (parts[0] === 'status:-') return undefined;
  return digestOf({ dir, parts });
}

/** The identity of this machine's dpkg database (undefined without one): what answers about host packages depend on. */
export function hostDbIdentity(): Promise<string | undefined> {
  return dbIdentity(adminDir());
}

/**
 * The installed package that ships each of `paths`, by usrKey (either name of
 * a merged-/usr path). The answer for a set of paths is kept in the cache
 * folder (host-dpkg/), named by the database's identity and the paths: a
 * no-op rebuild reads a few KB instead of the whole database (130k file
 * lines here, more than all the rest of the rebuild). A changed database has
 * another identity, so its answers are computed again.
 */
async function owners(paths: Iterable<string>, cacheDir: string | undefined): Promise<Map<string, HostPackage>> {
  const keys = [...new Set([...paths].map(usrKey))].sort();
  const identity = await dbIdentity(adminDir());
  if (!identity) return new Map();
  const memo = cacheDir ? memoOf(cacheDir, identity) : undefined;
  const key = digestOf({ v: 1, identity, keys });
  const hit = memo && answerOf(await memoRead(memo, key), key, keys);
  if (hit) return hit;
  const out = await ownersFromDb(keys, identity);
  if (memo) await memoWrite(memo, key, answerDoc(key, out));
  return out;
}

async function ownersFromDb(keys: string[], identity: string): Promise<Map<string, HostPackage>> {
  const out = new Map<string, HostPackage>();
  const db = await hostDb(identity);
  if (!db) return out;
  const wanted = new Set<string>();
  for (const k of keys) {
    wanted.add(k);
    wanted.add(`/usr${k}`);
  }
  let cur: HostPackage | undefined;
  let from = 0;
  const text = db.listing;
  while (from < text.length) {
    let to = text.indexOf('\n', from);
    if (to === -1) to = text.length;
    if (text.charCodeAt(from) === 32) {
      if (cur) {
        const f = text.slice(from + 1, to);
        if (wanted.has(f) && !out.has(usrKey(f))) out.set(usrKey(f), cur);
      }
    } else {
      const [name, version, architecture, status] = text.slice(from, to).split('\t');
      const control = db.controls.get(`${name}:${architecture}`);
      // Status-Abbrev is want, state, error: "ii", or "hi" for a held package.
      const pkg = control && status?.[1] === 'i' ? debPackage(control) : undefined;
      cur = control && pkg && pkg.version === version ? intern(control) : undefined;
    }
    from = to + 1;
  }
  return out;
}

/** One HostPackage object per package across calls (and cache hits): SBOM and status.d group files by it. */
const known = new Map<string, HostPackage>();
function intern(control: Paragraph): HostPackage | undefined {
  const text = formatParagraph(control);
  const had = known.get(text);
  if (had) return had;
  const pkg = debPackage(control);
  if (!pkg) return undefined;
  const made = { ...pkg, control };
  known.set(text, made);
  return made;
}

/**
 * Answers kept in the cache folder (host-dpkg/), each file named by the
 * database's identity and a key of what was asked. Read as untrusted: capped,
 * shape-checked by hand (a zod schema costs more to build and run than the
 * look-up it saves), and any fault is a miss, computed again and rewritten.
 */
interface Memo {
  dir: string;
  prefix: string;
}
const MEMO_CAP = 16 << 20;

function memoOf(cacheDir: string, identity: string): Memo {
  return { dir: path.join(cacheDir, 'host-dpkg'), prefix: `${identity.slice(0, 16)}-` };
}

async function memoRead(m: Memo, key: string): Promise<unknown> {
  const doc = await readJsonCapped(path.join(m.dir, `${m.prefix}${key}.json`), MEMO_CAP).catch(() => undefined);
  return doc && 'value' in doc ? doc.value : undefined;
}

/** Write an answer (atomically; a read-only cache only costs speed), and drop those of other identities of the database: they can never be read again. */
async function memoWrite(m: Memo, key: string, value: unknown): Promise<void> {
  try {
    await fs.mkdir(m.dir, { recursive: true });
    await sweepStaleTemps(m.dir);
    await writeFileAtomic(path.join(m.dir, `${m.prefix}${key}.json`), JSON.stringify(value));
    for (const n of await fs.readdir(m.dir)) if (!n.startsWith(m.prefix) && !n.startsWith('.')) await fs.rm(path.join(m.dir, n), { force: true });
  } catch {
    // Not kept: the next build computes it again.
  }
}

const FIELD_NAME = /^[!-9;-~]+$/;
const isStr = (x: unknown, max: number): x is string => typeof x === 'string' && x.length <= max;
const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);

/** An owners answer as stored: each package's control fields once, and each path asked with the index of its package. */
function answerDoc(key: string, answer: Map<string, HostPackage>): unknown {
  const pkgs = [...new Set(answer.values())];
  const index = new Map(pkgs.map((p, i) => [p, i]));
  return { v: 1, key, packages: pkgs.map((p) => [...p.control]), owners: [...answer].map(([k, p]) => [k, index.get(p)!]) };
}

/**
 * A stored owners answer back, when it is whole: the key it answers, paths
 * that were asked, control paragraphs that name a package and read back as
 * written (they become status.d files of images).
 */
function answerOf(v: unknown, key: string, keys: string[]): Map<string, HostPackage> | undefined {
  if (!isObject(v) || v.v !== 1 || v.key !== key || Object.keys(v).length !== 4) return undefined;
  const { packages, owners } = v;
  if (!Array.isArray(packages) || !Array.isArray(owners) || packages.length > DPKG_LIMITS.paragraphs || owners.length > keys.length) return undefined;
  const pkgs: HostPackage[] = [];
  for (const fields of packages as unknown[]) {
    if (!Array.isArray(fields) || fields.length > DPKG_LIMITS.fields) return undefined;
    for (const f of fields as unknown[]) if (!Array.isArray(f) || f.length !== 2 || !isStr(f[0], 128) || !FIELD_NAME.test(f[0]) || !isStr(f[1], DPKG_LIMITS.value)) return undefined;
    const control: Paragraph = new Map(fields as [string, string][]);
    if (control.size !== fields.length || !sameParagraph(parseParagraphs(formatParagraph(control))[0], control)) return undefined;
    const pkg = intern(control);
    if (!pkg) return undefined;
    pkgs.push(pkg);
  }
  const asked = new Set(keys);
  const out = new Map<string, HostPackage>();
  for (const o of owners as unknown[]) {
    if (!Array.isArray(o) || o.length !== 2 || !asked.has(o[0] as string) || out.has(o[0] as string) || !Number.isInteger(o[1]) || !pkgs[o[1] as number]) return undefined;
    out.set(o[0] as string, pkgs[o[1] as number]);
  }
  return out;
}

function sameParagraph(a: Paragraph | undefined, b: Paragraph): boolean {
  if (!a || a.size !== b.size) return false;
  for (const [k, v] of b) if (a.get(k) !== v) return false;
  return true;
}

/** The installed host package that ships each of `paths` (those dpkg knows), by path as given: for the lock. */
export async function hostPackagesOf(paths: string[], cacheDir: string): Promise<Map<string, HostPackage>> {
  const out = new Map<string, HostPackage>();
  if (!paths.length) return out;
  const owned = await owners(paths, cacheDir);
  for (const p of paths) {
    const pkg = owned.get(usrKey(p));
    if (pkg) out.set(p, pkg);
  }
  return out;
}

/**
 * The files of `brought` (host paths put at the same path in the image) that
 * are the host's own, by package: a file whose content differs from the
 * host's now (or that came out of a stage) is not counted.
 */
export async function hostFilesByPackage(brought: Iterable<[ImagePath, Entry]>, store: BlobStore): Promise<Map<HostPackage, ImagePath[]>> {
  const out = new Map<HostPackage, ImagePath[]>();
  // Only the host's own files are asked about (busybox's applet links are not /bin/ar's package).
  const candidates: ImagePath[] = [];
  for (const [p, e] of brought) if ((e.type === 'file' || e.type === 'symlink') && (await sameAsHost(p, e, store))) candidates.push(p);
  // No host file, no dpkg look-up.
  if (!candidates.length) return out;
  const owned = await owners(candidates, store.cacheDir);
  for (const p of candidates) {
    const pkg = owned.get(usrKey(p));
    if (pkg) out.set(pkg, [...(out.get(pkg) ?? []), p]);
  }
  return out;
}

async function sameAsHost(p: ImagePath, e: Entry, store: BlobStore): Promise<boolean> {
  try {
    // Sync: one syscall each, for hundreds of busybox applet links; a promise round trip costs far more.
    if (e.type === 'symlink') return readlinkSync(p) === e.target;
    return (await store.digestHostFile(p)) === e.digest;
  } catch {
    return false;
  }
}

export const STATUS_D = '/var/lib/dpkg/status.d';

/**
 * Distroless-style entries for the packages whose files an image holds:
 * status.d/NAME (the package's control fields) and status.d/NAME.md5sums (the
 * md5 of each of its files in the image, paths without the leading slash).
 */
export async function statusDEntries(files: Map<HostPackage, ImagePath[]>, state: Tree, store: BlobStore): Promise<Tree> {
  const out: Tree = new Map();
  const meta = { mode: 0o644, uid: 0, gid: 0 };
  const identity = await dbIdentity(adminDir());
  const memo = identity ? memoOf(store.cacheDir, identity) : undefined;
  for (const [pkg, paths] of [...files].sort(([a], [b]) => (a.name < b.name ? -1 : 1))) {
    const control = await store.putBytes(formatParagraph(pkg.control));
    out.set(imagePath(`${STATUS_D}/${pkg.name}`), { type: 'file', ...meta, size: control.size, digest: control.digest });
    const listed: [ImagePath, Sha256][] = [];
    for (const p of [...new Set(paths)].sort()) {
      const e = state.get(p);
      if (e?.type === 'file' && e.digest) listed.push([p, e.digest]);
    }
    const md5 = await store.putBytes(await md5sums(listed, store, memo));
    out.set(imagePath(`${STATUS_D}/${pkg.name}.md5sums`), { type: 'file', ...meta, size: md5.size, digest: md5.digest });
  }
  return out;
}

/** md5sums' text for files by content digest: remembered, since it means reading (and checking) every file again. */
async function md5sums(files: [ImagePath, Sha256][], store: BlobStore, memo: Memo | undefined): Promise<string> {
  const key = `md5-${digestOf({ v: 1, files })}`;
  const kept = memo && (await memoRead(memo, key));
  if (isObject(kept) && kept.v === 1 && kept.key === key && typeof kept.sums === 'string' && sumsFor(kept.sums, files)) return kept.sums;
  let sums = '';
  for (const [p, digest] of files) sums += `${createHash('md5').update(await store.read(digest)).digest('hex')}  ${p.slice(1)}\n`;
  if (memo) await memoWrite(memo, key, { v: 1, key, sums });
  return sums;
}

/** Whether `text` is an md5sums file of exactly `files`, in order. */
function sumsFor(text: string, files: [ImagePath, Sha256][]): boolean {
  const lines = text.split('\n');
  if (lines.length !== files.length + 1 || lines[files.length] !== '') return false;
  return files.every(([p], i) => lines[i].length === 34 + p.length - 1 && /^[0-9a-f]{32} {2}/.test(lines[i]) && lines[i].slice(34) === p.slice(1));
}
