// Which Debian package of this machine each host file belongs to, and that
// package's control fields: read once per process with one dpkg-query call
// (every package's name, version and file list) and the status file. Used to
// name host files' packages in SBOMs and to write distroless-style
// /var/lib/dpkg/status.d entries for them.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { ImagePath } from '../../../shared/brand';
import { debPackage, formatParagraph, parseParagraphs, usrKey, type DebPackage, type Paragraph } from '../model/dpkg';
import { imagePath } from '../model/path';
import type { Entry, Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import { exec } from '../tools/exec';
import { findTool } from '../tools/registry';

export interface HostPackage extends DebPackage {
  /** Its paragraph of /var/lib/dpkg/status, Conffiles dropped (they name host md5s of files the image may not hold). */
  control: Paragraph;
}

/** This machine's dpkg database as read once per process: every package's file list (dpkg-query's text) and control paragraph. */
interface HostDb {
  listing: string;
  controls: Map<string, Paragraph>;
}

const FORMAT = '${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n${db-fsys:Files}';
const STATUS = '/var/lib/dpkg/status';
const MAX_STATUS = 64 << 20;

let loaded: Promise<HostDb | undefined> | undefined;

/** Read once per process (undefined without dpkg). */
function hostDb(): Promise<HostDb | undefined> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<HostDb | undefined> {
  const tool = findTool('dpkgQuery');
  if (!tool) return undefined;
  const [listing, statusText] = await Promise.all([
    exec(tool, ['-W', '-f', FORMAT]),
    fs.stat(STATUS).then((st) => (st.size <= MAX_STATUS ? fs.readFile(STATUS, 'utf8') : ''), () => ''),
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
 * The installed package that ships each of `paths` (by usrKey: either name of a
 * merged-/usr path). Only the paths asked for are looked at: the listing has
 * every file of every package (130k lines here), and keying all of them cost
 * more than the whole rest of a no-op rebuild.
 */
async function owners(paths: Iterable<string>): Promise<Map<string, HostPackage>> {
  const out = new Map<string, HostPackage>();
  const db = await hostDb();
  if (!db) return out;
  const wanted = new Set<string>();
  for (const p of paths) {
    const k = usrKey(p);
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
      const pkg = control && status?.startsWith('ii') ? debPackage(control) : undefined;
      cur = control && pkg && pkg.version === version ? (known.get(control) ?? remember(control, { ...pkg, control })) : undefined;
    }
    from = to + 1;
  }
  return out;
}

/** One HostPackage object per package across calls: SBOM and status.d group files by it. */
const known = new WeakMap<Paragraph, HostPackage>();
function remember(control: Paragraph, pkg: HostPackage): HostPackage {
  known.set(control, pkg);
  return pkg;
}

/**
 * The files of `brought` (host paths put at the same path in the image) that
 * are the host's own, by package: a file whose content differs from the
 * host's now (or that came out of a stage) is not counted.
 */
export async function hostFilesByPackage(brought: Iterable<[ImagePath, Entry]>, store: BlobStore): Promise<Map<HostPackage, ImagePath[]>> {
  const out = new Map<HostPackage, ImagePath[]>();
  const candidates = [...brought].filter(([, e]) => e.type === 'file' || e.type === 'symlink');
  // No host file, no dpkg-query.
  if (!candidates.length) return out;
  const owned = await owners(candidates.map(([p]) => p));
  for (const [p, e] of candidates) {
    const pkg = owned.get(usrKey(p));
    if (!pkg || !(await sameAsHost(p, e, store))) continue;
    out.set(pkg, [...(out.get(pkg) ?? []), p]);
  }
  return out;
}

async function sameAsHost(p: ImagePath, e: Entry, store: BlobStore): Promise<boolean> {
  try {
    if (e.type === 'symlink') return (await fs.readlink(p)) === e.target;
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
  for (const [pkg, paths] of [...files].sort(([a], [b]) => (a.name < b.name ? -1 : 1))) {
    const control = await store.putBytes(formatParagraph(pkg.control));
    out.set(imagePath(`${STATUS_D}/${pkg.name}`), { type: 'file', ...meta, size: control.size, digest: control.digest });
    let sums = '';
    for (const p of [...new Set(paths)].sort()) {
      const e = state.get(p);
      if (e?.type !== 'file' || !e.digest) continue;
      sums += `${createHash('md5').update(await store.read(e.digest)).digest('hex')}  ${p.slice(1)}\n`;
    }
    const md5 = await store.putBytes(sums);
    out.set(imagePath(`${STATUS_D}/${pkg.name}.md5sums`), { type: 'file', ...meta, size: md5.size, digest: md5.digest });
  }
  return out;
}
