// The image's filesystem as a tree (the merged image or one layer), with
// ls -l columns, the layer that last wrote each entry, and a preview.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { Response, TreeRow } from '../../../shared/contract';
import { api } from '../api';
import { bytes, hexDump, looksText, lsMode } from '../format';
import { rowsOf, useStore } from '../store';
import { folderDrop } from './dnd';

interface Visible {
  row: TreeRow;
  depth: number;
}

const ROW_H = 22;
const OVERSCAN = 20;

export function Explorer() {
  const s = useStore();
  const [filter, setFilter] = useState('');
  const [changesOnly, setChangesOnly] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });
  const [dropAt, setDropAt] = useState<string>();
  const { rows, expanded, layer } = s;
  const visible = useMemo(() => {
    const out: Visible[] = [];
    const walk = (dir: string, depth: number) => {
      for (const row of rowsOf({ rows, layer }, dir) ?? []) {
        if (changesOnly && row.change === 'unchanged' && row.type !== 'dir') continue;
        const match = !filter || row.name.includes(filter) || row.type === 'dir';
        if (match) out.push({ row, depth });
        if (row.type === 'dir' && expanded[row.path]) walk(row.path, depth + 1);
      }
    };
    walk('/', 1);
    return out;
  }, [rows, expanded, layer, filter, changesOnly]);

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
  const onKey = (e: KeyboardEvent) => {
    const i = visible.findIndex((v) => v.row.path === s.selected);
    const cur = visible[i]?.row;
    if (e.key === 'ArrowDown') focusAt(i + 1);
    else if (e.key === 'ArrowUp') focusAt(i - 1);
    else if (e.key === 'ArrowRight' && cur?.type === 'dir' && !s.expanded[cur.path]) void s.toggle(cur.path);
    else if (e.key === 'ArrowLeft' && cur?.type === 'dir' && s.expanded[cur.path]) void s.toggle(cur.path);
    else if (e.key === 'Enter' && cur?.type === 'dir') void s.toggle(cur.path);
    else return;
    e.preventDefault();
  };

  return (
    <div className="explorer">
      <div className="toolbar">
        <label>
          Filter <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name contains…" />
        </label>
        {s.layer !== null && !s.layer.startsWith('stage:') && (
          <label>
            <input type="checkbox" checked={changesOnly} onChange={(e) => setChangesOnly(e.target.checked)} /> Changes only
          </label>
        )}
        <span className="muted">
          {s.layer === null ? 'Merged image' : s.layer.startsWith('stage:') ? `Stage ${s.layer.slice(6)}: build only, never exported` : `Layer ${s.layer}: added, modified and removed entries are coloured`}
        </span>
      </div>
      <div className="split">
        <div
          role="tree"
          aria-label="Image filesystem"
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
              role="treeitem"
              aria-level={depth}
              aria-posinset={first + k + 1}
              aria-setsize={visible.length}
              aria-selected={s.selected === row.path}
              aria-expanded={row.type === 'dir' ? !!s.expanded[row.path] : undefined}
              className={`row ${row.change ?? ''} ${s.selected === row.path ? 'selected' : ''} ${dropAt === row.path ? 'drop-over' : ''}`}
              {...(row.type === 'dir' ? folderDrop(row.path, (o) => setDropAt(o ? row.path : undefined)) : {})}
              onClick={() => {
                s.select(row.path);
                if (row.type === 'dir') void s.toggle(row.path);
              }}
            >
              <span className="name" style={{ paddingLeft: `${(depth - 1) * 14}px` }}>
                {row.name}
                {row.type === 'dir' ? '/' : ''}
                {row.target !== undefined ? <span className="muted"> → {row.target}</span> : null}
              </span>
              <span className="num">{bytes(row.size)}</span>
              <span className="mono">{lsMode(row.type, row.mode)}</span>
              <span className="mono">
                {row.uid}:{row.gid}
              </span>
              <span>{row.layer}</span>
            </div>
          ))}
          <div style={{ height: (visible.length - last) * ROW_H }} aria-hidden />
        </div>
        <Preview />
      </div>
    </div>
  );
}

function Preview() {
  const { selected, layer, rows } = useStore();
  const [data, setData] = useState<{ path: string; file: Response<'file.read'> } | { path: string; error: string }>();
  const [saved, setSaved] = useState<{ path: string; text: string }>();
  const seq = useRef(0);
  const isFile = useMemo(() => {
    if (!selected) return false;
    const dir = selected.slice(0, selected.lastIndexOf('/')) || '/';
    return rowsOf({ rows, layer }, dir)?.find((r) => r.path === selected)?.type === 'file';
  }, [rows, layer, selected]);
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
  return (
    <aside className="preview" aria-label="Preview">
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
      {data.file.size === 0 ? <p className="muted">Empty, or not a regular file.</p> : looksText(bytesArr) ? <pre>{new TextDecoder().decode(bytesArr)}</pre> : <pre className="hex">{hexDump(bytesArr)}</pre>}
      {data.file.truncated && <p className="muted">Showing the first {bytes(bytesArr.length)} of {bytes(data.file.size)}.</p>}
    </aside>
  );
}
