// A file browser over the host's folders (files.list), for browser mode's
// Open…, New…, Open image… and Use as base: places (home, the project, recent
// folders), a path field that still takes a typed or pasted path, and a
// listbox driven by the keyboard (arrows, Home/End, Enter to go in or pick,
// Backspace to go up, type-ahead). The field shows what the dialog's button
// acts on: the entry selected, else the folder shown. It only lists: picking
// is the dialog's business (onPick).
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { keepTabInside } from '../focusTrap';
import type { FileEntry, PickRequest, Response } from '../../../shared/contract';
import { bytes } from '../../../shared/units';
import { api } from '../api';
import { latestRequests, STALE } from '../state/latest';
import { typeAhead } from '../keys';

type Listing = Response<'files.list'>;

/** What the dialog picks: a project (a folder or its scratchyard.yaml), a folder, or an image (a .tar, an OCI layout folder). */
export type PickKind = 'project' | 'folder' | 'image';

const join = (dir: string, name: string) => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);
const isFolder = (e: FileEntry) => e.kind === 'dir' || e.kind === 'symlink-dir';

/** Whether Enter or a double click on this entry picks it (else a folder is gone into). */
function picks(kind: PickKind, e: FileEntry): boolean {
  if (kind === 'image') return e.mark === 'oci' || (e.kind === 'file' && /\.(tar|tar\.gz|tgz)$/i.test(e.name));
  if (kind === 'project') return e.kind === 'file' && /\.yaml$/i.test(e.name);
  return false;
}

/** Plain glyphs (no emoji font on a bare Debian): a folder can be gone into. */
const ICON: Record<FileEntry['kind'], string> = { dir: '▸', 'symlink-dir': '▸', file: '', other: '·' };
const MARK: Record<NonNullable<FileEntry['mark']>, string> = { project: 'project', oci: 'OCI layout' };

export interface FileBrowserProps {
  pick: PickKind;
  /** The path field (owned by the dialog, whose button acts on it). */
  text: string;
  onText(text: string): void;
  /** Enter or a double click on something to pick, or Enter in the field on a file (or, with allowMissing, a path not there yet). */
  onPick(path: string): void;
  /** The folder shown first (default: the project's). */
  start?: string;
  /** New…, Use as base: a folder that does not exist yet can be picked (it is made). */
  allowMissing?: boolean;
  label: string;
}

export function FileBrowser({ pick, text, onText, onPick, start, allowMissing, label }: FileBrowserProps) {
  const [listing, setListing] = useState<Listing>();
  const [error, setError] = useState<string>();
  const [active, setActive] = useState(-1);
  const [hidden, setHidden] = useState(false);
  const latest = useRef(latestRequests()).current;
  const list = useRef<HTMLUListElement>(null);
  const typed = useMemo(() => typeAhead(), []);
  const id = useId();

  /** List `dir` (undefined: the project's folder); resolves with the listing, or undefined when it failed (the error shown) or was overtaken. */
  const load = async (dir: string | undefined, opts: { hidden?: boolean; quiet?: boolean } = {}): Promise<Listing | undefined> => {
    const r = await latest.run('list', () => api.request({ cmd: 'files.list', ...(dir ? { dir } : {}), ...((opts.hidden ?? hidden) ? { hidden: true } : {}) }).then((l) => ({ l }), (e: Error) => ({ e })));
    if (r === STALE) return undefined;
    if ('e' in r) {
      if (!opts.quiet) setError(r.e.message);
      return undefined;
    }
    show(r.l);
    return r.l;
  };
  /** A listing arrived: nothing selected yet (the field keeps the folder, which is what the button acts on). */
  const show = (l: Listing) => {
    setError(undefined);
    setListing(l);
    setActive(-1);
  };
  /** Go into a folder: listed, and the field shows it; going up, the folder come out of is selected. */
  const go = async (dir: string, from?: string) => {
    const l = await load(dir);
    if (!l) return;
    const back = from ? l.entries.findIndex((e) => join(l.dir, e.name) === from) : -1;
    if (back >= 0) {
      setActive(back);
      onText(from!);
    } else onText(l.dir);
  };

  useEffect(() => {
    // The folder asked first may be gone: then the project's.
    void (async () => (start && (await load(start, { quiet: true }))) || load(undefined))();
  }, []);

  useEffect(() => {
    if (active >= 0) document.getElementById(`${id}-${active}`)?.scrollIntoView({ block: 'nearest' });
  }, [active, listing]);

  const entries = listing?.entries ?? [];
  const select = (i: number) => {
    if (!listing || !entries.length) return;
    const n = Math.max(0, Math.min(entries.length - 1, i));
    setActive(n);
    onText(join(listing.dir, entries[n].name));
  };
  /** Enter or a double click: pick what can be picked, go into a folder. */
  const choose = (e: FileEntry) => {
    if (!listing) return;
    const full = join(listing.dir, e.name);
    if (picks(pick, e)) onPick(full);
    else if (isFolder(e)) void go(full);
  };

  /** Enter in the field: a folder is gone into (the one shown is picked), a file picked, a missing path picked only for New…. */
  const typedPath = async () => {
    const t = text.trim();
    // An image may be a reference (docker://…); anything else relative is the host's to refuse, naming it.
    if (!t || (pick === 'image' && !t.startsWith('/'))) return onPick(t);
    const r = await latest.run('list', () => api.request({ cmd: 'files.list', dir: t, ...(hidden ? { hidden: true } : {}) }).then((l) => ({ l }), (e: Error) => ({ e })));
    if (r === STALE) return;
    if ('l' in r) {
      if (r.l.dir === listing?.dir) return onPick(t);
      show(r.l);
      return onText(r.l.dir);
    }
    if (/: not a folder$/.test(r.e.message) || (allowMissing && /: no such file or folder$/.test(r.e.message))) return onPick(t);
    setError(r.e.message);
  };

  const onListKey = (e: KeyboardEvent) => {
    const page = Math.max(1, Math.floor((list.current?.clientHeight ?? 240) / 24) - 1);
    const moves: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active < 0 ? 0 : active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: entries.length - 1 };
    if (e.key in moves) {
      e.preventDefault();
      select(moves[e.key]);
    } else if (e.key === 'Enter' && entries[active]) {
      e.preventDefault();
      choose(entries[active]);
    } else if (e.key === 'Backspace' && listing?.parent) {
      e.preventDefault();
      void go(listing.parent, listing.dir);
    } else if (!e.ctrlKey && !e.metaKey && !e.altKey) {
      // Type-ahead, as in the explorer's tree.
      const hit = typed(e.key, active, entries.length, (i) => entries[i].name);
      if (hit === undefined) return;
      select(hit);
      e.preventDefault();
    }
  };

  const folders = entries.filter(isFolder).length;
  return (
    <div className="file-browser">
      <div className="places" role="group" aria-label="Places">
        {listing?.places.map((p) => (
          <button key={`${p.kind} ${p.path}`} title={p.path} aria-label={p.kind === 'recent' ? `Recent folder ${p.label}` : p.label} className={listing.dir === p.path ? 'on' : ''} onClick={() => void go(p.path)}>
            {p.kind === 'home' ? '⌂ ' : p.kind === 'project' ? '◆ ' : ''}
            {p.label}
          </button>
        ))}
      </div>
      <div className="path-row">
        <button aria-label="Parent folder" title={listing?.parent ? `Up to ${listing.parent} (Backspace)` : 'At the root'} disabled={!listing?.parent} onClick={() => listing?.parent && void go(listing.parent, listing.dir)}>
          ↑
        </button>
        <input
            aria-label={label}
            autoFocus
            spellCheck={false}
            value={text}
            placeholder="/path/to/… (Enter goes there)"
            onChange={(e) => onText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key !== 'Enter') return;
              e.preventDefault();
              void typedPath();
            }}
          />
      </div>
      {error && (
        <p role="alert" className="error file-error">
          {error}
        </p>
      )}
      <ul
        ref={list}
        role="listbox"
        aria-label={listing ? `Files in ${listing.dir}` : 'Files'}
        className="files"
        tabIndex={0}
        aria-activedescendant={active >= 0 && entries[active] ? `${id}-${active}` : undefined}
        onKeyDown={onListKey}
      >
        {entries.map((e, i) => {
          const pickable = picks(pick, e);
          const dim = !pickable && !isFolder(e);
          return (
            <li
              key={e.name}
              id={`${id}-${i}`}
              role="option"
              aria-selected={i === active}
              aria-label={`${e.name}${isFolder(e) ? ' (folder)' : ''}${e.mark ? ` (${MARK[e.mark]})` : ''}`}
              className={`${i === active ? 'on' : ''} ${dim ? 'dim' : ''} ${pickable ? 'pickable' : ''}`}
              onClick={() => (isFolder(e) && !pickable ? void go(join(listing!.dir, e.name)) : select(i))}
              onDoubleClick={() => choose(e)}
            >
              <span aria-hidden="true" className="icon">
                {ICON[e.kind]}
              </span>
              <span className="name">
                {e.name}
                {e.link ? <span className="muted"> ↪</span> : null}
              </span>
              <span className="muted">{e.mark ? MARK[e.mark] : ''}</span>
              <span className="size">{e.size !== undefined ? bytes(e.size) : ''}</span>
            </li>
          );
        })}
      </ul>
      <div className="file-status">
        <span className="muted" role="status">
          {listing && !entries.length ? 'Empty folder' : listing ? `${folders} folder${folders === 1 ? '' : 's'}, ${entries.length - folders} file${entries.length - folders === 1 ? '' : 's'}` : 'Listing…'}
          {listing?.more ? ` · ${listing.more} more not shown` : ''}
        </span>
        <label className="check">
          <input
            type="checkbox"
            checked={hidden}
            onChange={(e) => {
              setHidden(e.target.checked);
              void load(listing?.dir, { hidden: e.target.checked });
            }}
          />
          Hidden files{listing?.hiddenCount ? ` (${listing.hiddenCount})` : ''}
        </label>
      </div>
    </div>
  );
}

export interface FileDialogProps {
  title: string;
  /** The button that acts on the field: Open, Create… */
  goLabel: string;
  label: string;
  pick: PickKind;
  /** The field's first value, and the folder shown first. */
  initial?: string;
  start?: string;
  allowMissing?: boolean;
  onGo(path: string): void;
  onClose(): void;
  /** Beside the browser (Open image…'s local images), given what the field holds and the way to go. */
  aside?: (text: string, go: (path: string) => void) => ReactNode;
}

/** A dialog around the file browser: the browser, its button, Cancel; Escape closes it. */
export function FileDialog({ title, goLabel, label, pick, initial = '', start, allowMissing, onGo, onClose, aside }: FileDialogProps) {
  const [text, setText] = useState(initial);
  // Closed, focus goes back where it was (the button that opened it), when that is still on the page.
  // Taken as it first renders: the browser's field takes focus before any effect of this one runs.
  const opener = useRef(document.activeElement as HTMLElement | null);
  useEffect(() => {
    const before = opener.current;
    return () => {
      if (before?.isConnected) before.focus();
    };
  }, []);
  const go = (p: string) => {
    if (!p.trim()) return;
    onGo(p.trim());
    onClose();
  };
  return (
    <div
      role="dialog"
      aria-modal="true"
      aria-label={title}
      className={`dialog file-dialog ${aside ? 'with-aside' : ''}`}
      onKeyDown={(e) => {
        keepTabInside(e);
        if (e.key !== 'Escape') return;
        e.stopPropagation();
        onClose();
      }}
    >
      <h2>{title}</h2>
      <div className="file-dialog-body">
        <FileBrowser pick={pick} text={text} onText={setText} onPick={go} start={start} allowMissing={allowMissing} label={label} />
        {aside?.(text, go)}
      </div>
      <div className="buttons">
        <button onClick={() => go(text)} disabled={!text.trim()} title={text.trim() ? undefined : 'Pick or type a path first'}>
          {goLabel}
        </button>
        <button onClick={onClose}>Cancel</button>
      </div>
    </div>
  );
}

/** Electron's native open dialog when the preload offers one: the path picked, null when cancelled; undefined in browser mode. */
export async function nativePick(req: PickRequest): Promise<string | null | undefined> {
  return api.pickPath ? api.pickPath(req) : undefined;
}
