// A list of changed paths as a table sortable by change, path and size (issue
// 15), with one vocabulary everywhere: added, modified, removed.
import { useMemo, useState } from 'react';
import { bytes } from '../format';

export type ChangeKind = 'added' | 'modified' | 'removed';

export interface ChangeRow {
  path: string;
  change: ChangeKind;
  /** The size the change is about: after for added and modified, before for removed. */
  size?: number;
  /** Modified: the size before, shown as "before → after". */
  before?: number;
  /** Not a regular file: its type is shown instead of a size. */
  type?: string;
}

type Key = 'change' | 'path' | 'size';
const ORDER: Record<ChangeKind, number> = { added: 0, modified: 1, removed: 2 };
const SHOWN = 3000;

export function ChangeTable({ rows, label, more = 0 }: { rows: ChangeRow[]; label: string; more?: number }) {
  const [sort, setSort] = useState<{ key: Key; desc: boolean }>({ key: 'path', desc: false });
  const sorted = useMemo(() => {
    const by = (a: ChangeRow, b: ChangeRow): number => {
      if (sort.key === 'size') return (a.size ?? -1) - (b.size ?? -1);
      if (sort.key === 'change') return ORDER[a.change] - ORDER[b.change];
      return 0;
    };
    const byPath = (a: ChangeRow, b: ChangeRow) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    return [...rows].sort((a, b) => (sort.desc ? -1 : 1) * (by(a, b) || byPath(a, b)));
  }, [rows, sort]);
  const head = (key: Key, text: string, cls = '') => (
    <th className={cls} aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button className="link sort" onClick={() => setSort({ key, desc: sort.key === key ? !sort.desc : key === 'size' })}>
        {text}
        <span aria-hidden>{sort.key === key ? (sort.desc ? ' ▾' : ' ▴') : ''}</span>
      </button>
    </th>
  );
  const rest = more + Math.max(0, sorted.length - SHOWN);
  return (
    <>
      <table className="grid changes" aria-label={label}>
        <thead>
          <tr>
            {head('change', 'Change')}
            {head('path', 'Path')}
            {head('size', 'Size', 'num')}
          </tr>
        </thead>
        <tbody>
          {sorted.slice(0, SHOWN).map((r) => (
            <tr key={r.path} className={r.change}>
              <td className="tag">{r.change}</td>
              <td className="mono">{r.path}</td>
              <td className="num" title={r.size !== undefined ? `${r.size} bytes` : undefined}>
                {r.type === 'dir' ? '' : r.type && r.type !== 'file' ? <span className="muted">{r.type}</span> : r.change === 'modified' && r.before !== undefined ? `${bytes(r.before)} → ${bytes(r.size ?? 0)}` : bytes(r.size ?? 0)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rest > 0 && <p className="muted">and {rest} more.</p>}
    </>
  );
}
