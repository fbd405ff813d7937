// The file browser of browser mode (Open…, New…, Open image…, Use as base):
// one folder of the host listed by name, kind and size. It only lists: no
// file's contents are read, and a link is followed only to say whether it
// points at a folder. The request was checked by the contract (absolute, no
// NUL); what the disk says (missing, not a folder, unreadable) is named here.
import type { Dirent } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FILES_LIST_MAX, type FileEntry, type Response } from '../../../shared/contract';
import { RECIPE_FILE } from '../../engine/graph/project';
import type { Handlers } from './handler';
import { configDirOf } from './project';
import { readRecent } from './recent';
import type { HostState } from './state';

type Listing = Response<'files.list'>;

/** Names read from one folder at most; past it they are only counted. */
const READ_MAX = 100_000;
/** Folders looked into (one stat each) for a scratchyard.yaml or an oci-layout. */
const MARK_MAX = 2000;
const RECENT_PLACES = 8;

/** Why a folder cannot be listed, naming it. */
function refusal(dir: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new Error(`${dir}: no such file or folder`);
  if (code === 'ENOTDIR') return new Error(`${dir}: not a folder`);
  if (code === 'EACCES' || code === 'EPERM') return new Error(`${dir}: cannot be read (permission denied)`);
  if (code === 'ELOOP') return new Error(`${dir}: too many levels of symbolic links`);
  return new Error(`${dir}: cannot be listed (${code ?? (e instanceof Error ? e.message : String(e))})`);
}

/** An entry by its directory record; a link is stat'ed to say what it points at (a file's size comes later, for the entries sent). */
async function entryOf(dir: string, d: Dirent): Promise<FileEntry> {
  if (d.isDirectory()) return { name: d.name, kind: 'dir' };
  if (d.isFile()) return { name: d.name, kind: 'file' };
  if (d.isSymbolicLink()) {
    const st = await fs.stat(path.join(dir, d.name)).catch(() => undefined);
    if (st?.isDirectory()) return { name: d.name, kind: 'symlink-dir', link: true };
    if (st?.isFile()) return { name: d.name, kind: 'file', size: st.size, link: true };
    return { name: d.name, kind: 'other', link: true };
  }
  return { name: d.name, kind: 'other' };
}

const isFolder = (e: FileEntry) => e.kind === 'dir' || e.kind === 'symlink-dir';
const byName = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** What a folder holds, by the presence of one file: a project, an OCI layout. */
async function markOf(folder: string): Promise<FileEntry['mark']> {
  const has = (name: string) => fs.lstat(path.join(folder, name)).then(() => true, () => false);
  if (await has(RECIPE_FILE)) return 'project';
  if (await has('oci-layout')) return 'oci';
  return undefined;
}

/** List one folder: folders first, then by name; dot-files only when asked; at most FILES_LIST_MAX entries. */
export async function listFolder(dir: string, opts: { hidden?: boolean } = {}): Promise<Omit<Listing, 'places'>> {
  const abs = path.resolve(dir);
  let handle;
  try {
    const st = await fs.stat(abs);
    if (!st.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    handle = await fs.opendir(abs);
  } catch (e) {
    throw refusal(abs, e);
  }
  const dirents: Dirent[] = [];
  let unread = 0;
  let hiddenCount = 0;
  try {
    for await (const d of handle) {
      if (!opts.hidden && d.name.startsWith('.')) hiddenCount++;
      else if (dirents.length < READ_MAX) dirents.push(d);
      else unread++;
    }
  } catch (e) {
    throw refusal(abs, e);
  }
  const all = await Promise.all(dirents.map((d) => entryOf(abs, d)));
  all.sort((a, b) => Number(isFolder(b)) - Number(isFolder(a)) || byName.compare(a.name, b.name) || (a.name < b.name ? -1 : 1));
  const entries = all.slice(0, FILES_LIST_MAX);
  const folders = entries.filter(isFolder).slice(0, MARK_MAX);
  await Promise.all([
    ...folders.map(async (e) => {
      const mark = await markOf(path.join(abs, e.name));
      if (mark) e.mark = mark;
    }),
    ...entries
      .filter((e) => e.kind === 'file' && e.size === undefined)
      .map(async (e) => {
        const st = await fs.lstat(path.join(abs, e.name)).catch(() => undefined);
        if (st) e.size = st.size;
      }),
  ]);
  const parent = path.dirname(abs);
  return { dir: abs, parent: parent === abs ? null : parent, entries, more: all.length - entries.length + unread, hiddenCount };
}

/** Home, the project's folder (or the opened image's), and recent folders that still exist. */
async function placesOf(state: HostState): Promise<Listing['places']> {
  const home = os.homedir();
  const project = projectFolder(state);
  const places: Listing['places'] = [{ kind: 'home', label: 'Home', path: home }];
  if (project !== home) places.push({ kind: 'project', label: 'Project', path: project });
  const recent = await readRecent(configDirOf(state));
  const seen = new Set(places.map((p) => p.path));
  // Recent projects are folders; a recent image's place is the folder it is in (references like docker://… have none).
  const folders = [...recent.projects.map((p) => p.path), ...recent.images.filter((i) => i.path.startsWith('/')).map((i) => path.dirname(i.path))];
  for (const f of folders) {
    if (seen.has(f) || places.length >= RECENT_PLACES + 2) continue;
    seen.add(f);
    if ((await fs.stat(f).catch(() => undefined))?.isDirectory()) places.push({ kind: 'recent', label: path.basename(f) || f, path: f });
  }
  return places;
}

/** The folder of the project, or of the opened image when it is a file or folder (not a docker-daemon:… reference). */
function projectFolder(state: HostState): string {
  if (state.image?.file.startsWith('/')) return path.dirname(state.image.file);
  return path.dirname(state.recipeFile());
}

export const fileHandlers: Handlers<'files.list'> = {
  'files.list': async (req, state) => {
    // Asked for nothing: the project's folder, else (gone since) home.
    const listing = req.dir ? listFolder(req.dir, { hidden: req.hidden }) : listFolder(projectFolder(state), { hidden: req.hidden }).catch(() => listFolder(os.homedir(), { hidden: req.hidden }));
    const [listed, places] = await Promise.all([listing, placesOf(state)]);
    return { ...listed, places };
  },
};
