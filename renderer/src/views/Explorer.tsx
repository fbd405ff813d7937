// The image's filesystem as a tree (the merged image or one layer), with
// ls -l columns, the layer that last wrote each entry, and a preview. The
// filter (a path or glob) and "Changes only" ask the engine for the whole tree
// pruned to the matches (issue 15), not only the folders opened so far.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { Response, TreeRow } from '../../../shared/contract';
import { api } from '../api';
import { bytes, hexDump, looksText, lsMode } from '../format';
import { rowsOf, useStore } from '../store';
import { folderDrop } from './dnd';
import { typeAhead } from '../keys';

interface Visible {
  row: TreeRow;
  depth: number;
}

/** The row of the folder holding row i (the nearest row above it one level up), or i itself at the top. */
function parentIndex(visible: Visible[], i: number): number {
  for (let k = i - 1; k >= 0; k--) if (visible[k].depth < visible[i].depth) return k;
  return i;
}

const ROW_H = 22;
const OVERSCAN = 20;
/** Rows of a filtered tree fetched at most: more matches than a person scrolls through. */
const FILTER_ROWS = 50_000;

interface Filtered {
  key: string;
  rows: TreeRow[];
  matches: number;
  total: number;
}

/** The pruned tree for a filter, fetched page by page after typing pauses; stale answers are dropped. */
function useFilteredTree(key: string | undefined, layer: string | null, pattern: string, changesOnly: boolean): Filtered | undefined {
  const [got, setGot] = useState<Filtered>();
  useEffect(() => {
    if (!key) return;
    let live = true;
    const t = setTimeout(async () => {
      let rows: TreeRow[] = [];
      let matches = 0;
      let total = 0;
      for (let offset = 0; offset < FILTER_ROWS; ) {
        const page = await api.request({ cmd: 'tree.page', layer, dir: '/', offset, limit: 5000, filter: { pattern, ...(changesOnly ? { changesOnly } : {}) } }).catch(() => undefined);
        if (!live || !page) return;
        rows = rows.concat(page.rows);
        matches = page.matches ?? 0;
        total = page.total;
        offset += page.rows.length;
        if (offset >= page.total || page.rows.length === 0) break;
      }
      setGot({ key, rows, matches, total });
    }, 150);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [key, layer, pattern, changesOnly]);
  return got?.key === key ? got : undefined;
}

export function Explorer() {
  const s = useStore();
  const [filter, setFilter] = useState('');
  const [changesOnlyAsked, setChangesOnly] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });
  const [dropAt, setDropAt] = useState<string>();
  // One type-ahead per tree: its prefix lives as long as the view.
  const typed = useMemo(() => typeAhead(), []);
  /** Folders closed by hand in the filtered tree (every folder there starts open). */
  const [closed, setClosed] = useState<Record<string, boolean>>({});
  const { rows, expanded, layer } = s;
  const layerView = layer !== null && !layer.startsWith('stage:');
  const changesOnly = changesOnlyAsked && layerView;
  const pattern = filter.trim();
  const filtering = pattern !== '' || changesOnly;
  const shownKey = s.build?.ok ? `${s.project?.file}\0${s.build.manifestDigest ?? s.build.layers.map((l) => l.digest).join(',')}\0${layer}\0${pattern}\0${changesOnly}` : undefined;
  const filtered = useFilteredTree(filtering ? shownKey : undefined, layer, pattern, changesOnly);
  useEffect(() => setClosed({}), [shownKey]);
  const labels = useMemo(() => new Map(s.build?.layers.map((l) => [l.name, l.label ?? l.name])), [s.build]);
  // Folders of the filtered tree that hold kept rows (a matched folder may hold none).
  const withKids = useMemo(() => {
    const set = new Set<string>();
    const list = filtered?.rows ?? [];
    list.forEach((r, i) => (list[i + 1]?.depth ?? 0) > (r.depth ?? 1) && set.add(r.path));
    return set;
  }, [filtered]);
  const visible = useMemo(() => {
    const out: Visible[] = [];
    if (filtering) {
      let hideBelow = Infinity;
      for (const row of filtered?.rows ?? []) {
        const depth = row.depth ?? 1;
        if (depth > hideBelow) continue;
        hideBelow = Infinity;
        out.push({ row, depth });
        if (row.type === 'dir' && closed[row.path]) hideBelow = depth;
      }
      return out;
    }
    const walk = (dir: string, depth: number) => {
      for (const row of rowsOf({ rows, layer }, dir) ?? []) {
        out.push({ row, depth });
        if (row.type === 'dir' && expanded[row.path]) walk(row.path, depth + 1);
      }
    };
    walk('/', 1);
    return out;
  }, [rows, expanded, layer, filtering, filtered, closed]);
  const isOpen = (row: TreeRow) => (filtering ? !closed[row.path] && withKids.has(row.path) : !!s.expanded[row.path]);
  const toggle = (row: TreeRow) => (filtering ? setClosed((c) => ({ ...c, [row.path]: !c[row.path] })) : void s.toggle(row.path));

  // A path shown from elsewhere (the size map, the largest files): scroll to it once its row is here.
  const revealAt = s.reveal ? visible.findIndex((v) => v.row.path === s.reveal) : -1;
  useEffect(() => {
    const el = scroller.current;
    if (revealAt === -1 || !el) return;
    const y = revealAt * ROW_H;
    if (y < el.scrollTop || y + 2 * ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, y - el.clientHeight / 2);
    setScroll({ top: el.scrollTop, height: el.clientHeight });
    useStore.setState({ reveal: undefined });
  }, [revealAt]);

  // Right on an open folder whose rows are still on their way: the focus goes into it when they arrive (the key is not lost).
  const into = useRef<string | undefined>(undefined);
  useEffect(() => {
    const path = into.current;
    if (path === undefined) return;
    const at = visible.findIndex((v) => v.row.path === path);
    if (path !== s.selected || at === -1) {
      into.current = undefined;
      return;
    }
    if (visible[at + 1]?.depth > visible[at].depth) {
      into.current = undefined;
      s.select(visible[at + 1].row.path);
    }
  }, [visible, s.selected]);

  if (!s.build?.ok) return <p className="empty">Nothing built yet. Press <b>Build</b> to see what is inside the image.</p>;

  // Only the rows in view (plus a margin) are in the DOM: 100,000 entries scroll like 100.
  const first = Math.max(0, Math.floor(scroll.top / ROW_H) - OVERSCAN);
  const last = Math.min(visible.length, Math.ceil((scroll.top + scroll.height) / ROW_H) + OVERSCAN);
  const focusAt = (i: number) => {
    const at = Math.max(0, Math.min(visible.length - 1, i));
    const v = visible[at];
    if (!v) return;
    s.select(v.row.path);
    const el = scroller.current;
    if (el) {
      const y = at * ROW_H;
      if (y < el.scrollTop) el.scrollTop = y;
      else if (y + 2 * ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = y + 2 * ROW_H - el.clientHeight;
    }
  };
  // The WAI-ARIA tree's keys: arrows, Home/End, PageUp/PageDown, Left to the parent, Right into a folder, type-ahead.
  const onKey = (e: KeyboardEvent) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const i = visible.findIndex((v) => v.row.path === s.selected);
    const cur = visible[i]?.row;
    const page = Math.max(1, Math.floor(scroll.height / ROW_H) - 1);
    if (e.key === 'ArrowDown') focusAt(i + 1);
    else if (e.key === 'ArrowUp') focusAt(i - 1);
    else if (e.key === 'Home') focusAt(0);
    else if (e.key === 'End') focusAt(visible.length - 1);
    else if (e.key === 'PageDown') focusAt(i + page);
    else if (e.key === 'PageUp') focusAt(i - page);
    else if (e.key === 'ArrowRight' && cur?.type === 'dir') {
      if (!isOpen(cur)) toggle(cur);
      else if (visible[i + 1]?.depth > visible[i].depth) focusAt(i + 1);
      else into.current = cur.path;
    } else if (e.key === 'ArrowLeft' && cur) {
      if (cur.type === 'dir' && isOpen(cur)) toggle(cur);
      else focusAt(parentIndex(visible, i));
    } else if (e.key === 'Enter' && cur?.type === 'dir') toggle(cur);
    else {
      const to = typed(e.key, i, visible.length, (k) => visible[k].row.name);
      if (to === undefined) return;
      focusAt(to);
    }
    e.preventDefault();
  };
  const shownAt = visible.findIndex((v) => v.row.path === s.selected);

  return (
    <div className="explorer">
      <div className="toolbar">
        <label>
          Filter{' '}
          <input
            type="search"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            onKeyDown={(e) => e.key === 'Escape' && setFilter('')}
            placeholder="name, path or glob: libc*, usr/**/*.so"
            title="Text: part of a name (part of a path when it holds a /). Glob: * ? [abc] within a name, ** across folders."
          />
        </label>
        {layerView && (
          <label>
            <input type="checkbox" checked={changesOnlyAsked} onChange={(e) => setChangesOnly(e.target.checked)} /> Changes only
          </label>
        )}
        {filtering && (
          <span role="status" className={filtered && filtered.total === 0 ? 'no-matches' : 'muted'}>
            {!filtered ? 'Searching…' : filtered.total === 0 ? (pattern ? `No matches for “${pattern}”${changesOnly ? ' among the changes' : ''}` : 'No changes in this layer') : `${filtered.matches} match${filtered.matches === 1 ? '' : 'es'}${filtered.rows.length < filtered.total ? ` (first ${filtered.rows.length} rows)` : ''}`}
          </span>
        )}
        <span className="muted toolbar-note">
          {s.layer === null ? 'Merged image' : s.layer.startsWith('stage:') ? `Stage ${s.layer.slice(6)}: build only, never exported` : `Layer ${s.layer}: added, modified and removed entries are coloured`}
        </span>
      </div>
      <div className="split">
        <div
          role="tree"
          aria-label="Image filesystem"
          aria-activedescendant={shownAt >= first && shownAt < last ? `tree-row-${shownAt}` : undefined}
          tabIndex={0}
          className="tree"
          onKeyDown={onKey}
          ref={scroller}
          onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })}
          {...folderDrop('/', (o) => setDropAt(o ? '/' : undefined))}
        >
          <div className="tree-head" aria-hidden>
            <span>Name</span>
            <span>Size</span>
            <span>Mode</span>
            <span>Owner</span>
            <span>Layer</span>
          </div>
          <div style={{ height: first * ROW_H }} aria-hidden />
          {visible.slice(first, last).map(({ row, depth }, k) => (
            <div
              key={row.path}
              id={`tree-row-${first + k}`}
              role="treeitem"
              aria-level={depth}
              aria-posinset={first + k + 1}
              aria-setsize={visible.length}
              aria-selected={s.selected === row.path}
              aria-expanded={row.type === 'dir' ? isOpen(row) : undefined}
              className={`row ${row.change ?? ''} ${s.selected === row.path ? 'selected' : ''} ${dropAt === row.path ? 'drop-over' : ''} ${row.match === false ? 'via' : ''}`}
              {...(row.type === 'dir' ? folderDrop(row.path, (o) => setDropAt(o ? row.path : undefined)) : {})}
              onClick={() => {
                s.select(row.path);
                if (row.type === 'dir') toggle(row);
              }}
            >
              <span className="name" style={{ paddingLeft: `${(depth - 1) * 14}px` }}>
                <span className="chevron" aria-hidden>
                  {row.type === 'dir' ? (isOpen(row) ? '▾' : '▸') : ''}
                </span>
                {row.name}
                {row.type === 'dir' ? '/' : ''}
                {row.target !== undefined ? <span className="muted"> → {row.target}</span> : null}
              </span>
              <span className="num">{bytes(row.size)}</span>
              <span className="mono">{lsMode(row.type, row.mode)}</span>
              <span className="mono">
                {row.uid}:{row.gid}
              </span>
              <span title={labels.get(row.layer) ?? row.layer}>{s.project?.readOnly ? (labels.get(row.layer) ?? row.layer) : row.layer}</span>
            </div>
          ))}
          <div style={{ height: (visible.length - last) * ROW_H }} aria-hidden />
        </div>
        <Preview row={visible.find((v) => v.row.path === s.selected)?.row} />
      </div>
    </div>
  );
}

/** Bytes a hex dump line can show in `width` pixels of 11.5 px monospace: 16, else 8. */
function hexWidth(width: number): number {
  const chars = Math.floor(width / 7);
  return chars >= 10 + 16 * 3 + 1 + 16 ? 16 : 8;
}

function Preview({ row }: { row?: TreeRow }) {
  const { selected, layer, showInExplorer } = useStore();
  const [data, setData] = useState<{ path: string; file: Response<'file.read'> } | { path: string; error: string }>();
  const [saved, setSaved] = useState<{ path: string; text: string }>();
  const [width, setWidth] = useState(400);
  const box = useRef<HTMLElement | null>(null);
  const seq = useRef(0);
  const isFile = row?.type === 'file';
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth - 24));
    ro.observe(el);
    return () => ro.disconnect();
  });
  useEffect(() => {
    if (!selected) return;
    const n = ++seq.current;
    api
      .request({ cmd: 'file.read', layer, path: selected, max: 64 * 1024 })
      .then((file) => n === seq.current && setData({ path: selected, file }))
      .catch((e: Error) => n === seq.current && setData({ path: selected, error: e.message }));
  }, [selected, layer]);
  if (!selected || !data || data.path !== selected) return <aside className="preview empty">Select a file to preview it.</aside>;
  if ('error' in data) return <aside className="preview error">{data.error}</aside>;
  const bytesArr = Uint8Array.from(atob(data.file.base64), (c) => c.charCodeAt(0));
  const target = row?.path === selected && row.type === 'symlink' ? row.target : undefined;
  return (
    <aside className="preview" aria-label="Preview" ref={box}>
      <div className="preview-head">
        <h3>{selected}</h3>
        {isFile && (
          <button
            className="small"
            title="Write this file's bytes to your Desktop (or Downloads, or home), never over an existing file"
            onClick={() =>
              void api.request({ cmd: 'image.saveFile', layer, path: selected }).then(
                (r) => setSaved({ path: selected, text: `Saved to ${r.path} (${bytes(r.bytes)})` }),
                (e: Error) => setSaved({ path: selected, text: `Could not save: ${e.message}` }),
              )
            }
          >
            Save file
          </button>
        )}
      </div>
      {saved?.path === selected && (
        <p role="status" className="muted">
          {saved.text}
        </p>
      )}
      {data.file.elf && (
        <dl className="elf">
          <dt>ELF</dt>
          <dd>{data.file.elf.elfClass}-bit</dd>
          <dt>Interpreter</dt>
          <dd>{data.file.elf.interp ?? 'none (static)'}</dd>
          <dt>Needs</dt>
          <dd>
            {data.file.elf.needed.length === 0 && <span className="muted">nothing</span>}
            <ul>
              {data.file.elf.needed.map((n) => (
                <li key={n.name}>
                  {n.name} {n.path ? <span className="muted">{n.path} (layer {n.layer ?? '?'})</span> : <span className="error">not in the image</span>}
                </li>
              ))}
            </ul>
          </dd>
        </dl>
      )}
      {target !== undefined ? (
        <p className="symlink">
          Symbolic link to <code>{target}</code>{' '}
          <button className="link" onClick={() => void showInExplorer(linkPath(selected, target), layer)}>
            show the target
          </button>
        </p>
      ) : row?.path === selected && row.type === 'dir' ? (
        <p className="muted">
          Folder: {row.children} entr{row.children === 1 ? 'y' : 'ies'}, {bytes(row.size)}
          {row.change ? ' in this layer' : ''}.
        </p>
      ) : data.file.size === 0 ? (
        <p className="muted">{row && row.path === selected && row.type !== 'file' ? `A ${row.type === 'char' ? 'character' : row.type} device or fifo: no contents to show.` : 'Empty file.'}</p>
      ) : looksText(bytesArr) ? (
        <pre className="text">{new TextDecoder().decode(bytesArr)}</pre>
      ) : (
        <pre className="hex">{hexDump(bytesArr, 4096, hexWidth(width))}</pre>
      )}
      {data.file.truncated && <p className="muted">Showing the first {bytes(bytesArr.length)} of {bytes(data.file.size)}.</p>}
    </aside>
  );
}

/** Where a link points, as an absolute path in the image (a relative target is taken from the link's folder). */
function linkPath(link: string, target: string): string {
  const parts = target.startsWith('/') ? [] : link.split('/').slice(1, -1);
  for (const part of target.split('/')) {
    if (part === '..') parts.pop();
    else if (part && part !== '.') parts.push(part);
  }
  return `/${parts.join('/')}`;
}
