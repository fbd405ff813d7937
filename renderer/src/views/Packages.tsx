// The Packages view (issue 16): every Debian package of the last build or the
// opened image, with its version, the layer holding it, its size, licences and
// the recipe source that brought it; sortable and filterable. Above it, the
// lock's state and what drifted from it in the last build.
import { useEffect, useMemo, useState } from 'react';
import type { PackageRow, Response } from '../../../shared/contract';
import { api } from '../api';
import { bytes } from '../format';
import { useStore } from '../store';

type Col = 'name' | 'version' | 'layer' | 'size' | 'licenses' | 'brought';
const COLS: [Col, string][] = [
  ['name', 'Package'],
  ['version', 'Version'],
  ['layer', 'Layer'],
  ['size', 'Size'],
  ['licenses', 'Licence'],
  ['brought', 'Brought by'],
];

function sortKey(p: PackageRow, c: Col): string | number {
  if (c === 'size') return p.size ?? -1;
  if (c === 'layer') return p.layer ?? -1;
  if (c === 'licenses') return p.licenses.join(', ');
  return p[c] ?? '';
}

export function Packages() {
  const build = useStore((s) => s.build);
  const [data, setData] = useState<Response<'packages.list'>>();
  const [error, setError] = useState<string>();
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ col: Col; desc: boolean }>({ col: 'name', desc: false });
  useEffect(() => {
    let live = true;
    setError(undefined);
    api.request({ cmd: 'packages.list' }).then(
      (r) => live && setData(r),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [build]);
  const rows = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const shown = (data?.packages ?? []).filter((p) => !f || `${p.name} ${p.version} ${p.licenses.join(' ')} ${p.layerName ?? ''}`.toLowerCase().includes(f));
    const dir = sort.desc ? -1 : 1;
    return shown.sort((a, b) => {
      const x = sortKey(a, sort.col);
      const y = sortKey(b, sort.col);
      return (x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : 1) * dir;
    });
  }, [data, filter, sort]);

  if (error) return <p className="error">{error}</p>;
  if (!data) return <p className="muted">Reading the packages…</p>;
  const total = data.packages.reduce((n, p) => n + (p.size ?? 0), 0);
  return (
    <section className="packages" aria-label="Packages">
      {data.of !== 'image' && <LockCard lock={data.lock} />}
      {data.of === 'none' ? (
        <p className="empty">Nothing built yet. Press <b>Build</b>: the packages of the image show here.</p>
      ) : data.packages.length === 0 ? (
        <p className="empty">No Debian packages: this image has no dpkg database, and its host files belong to no package of this machine.</p>
      ) : (
        <>
          <div className="toolbar">
            <input type="search" aria-label="Filter packages" placeholder="name, version, licence or layer" value={filter} onChange={(e) => setFilter(e.target.value)} />
            <span className="muted toolbar-note">
              {rows.length === data.packages.length ? `${data.packages.length} packages` : `${rows.length} of ${data.packages.length} packages`} · {bytes(total)}
            </span>
          </div>
          {rows.length === 0 ? (
            <p className="no-matches">No package matches “{filter}”.</p>
          ) : (
            <table className="grid packages-table" aria-label="Debian packages">
              <thead>
                <tr>
                  {COLS.map(([c, label]) => (
                    <th key={c} aria-sort={sort.col === c ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                      <button className="sort" onClick={() => setSort((s) => ({ col: c, desc: s.col === c ? !s.desc : c === 'size' }))}>
                        {label}
                        {sort.col === c ? (sort.desc ? ' ▾' : ' ▴') : ''}
                      </button>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((p) => (
                  <tr key={`${p.name}:${p.architecture}@${p.version}:${p.foundIn}`}>
                    <td className="mono">{p.name}</td>
                    <td className="mono">{p.version}</td>
                    <td>{p.layerName ?? '–'}</td>
                    <td className="num">{p.size === undefined ? '–' : bytes(p.size)}</td>
                    <td>{p.licenses.join(', ') || <span className="muted">unknown</span>}</td>
                    <td className="mono" title={p.foundIn === 'host-dpkg' ? "this machine's package, found by its files" : undefined}>
                      {p.brought ?? '–'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

const LOCK_TEXT = {
  locked: 'The last build matched scratchyard.lock.',
  drifted: 'The last build differed from scratchyard.lock:',
  none: 'No scratchyard.lock yet: the next build writes one.',
  unchecked: 'scratchyard.lock is there; the next build checks the image against it.',
};

function LockCard({ lock }: { lock: Response<'packages.list'>['lock'] }) {
  return (
    <div className={`lock-card ${lock.state}`} role="status" aria-label="Lock">
      <b>Lock: {lock.state}</b> <span>{LOCK_TEXT[lock.state]}</span>
      {lock.drift.length > 0 && (
        <ul aria-label="Drift since the lock">
          {lock.drift.map((d) => (
            <li key={d} className="mono">
              {d}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The header's word on the lock after a build: locked, drifted (with a count) or none; a click opens Packages. */
export function LockBadge() {
  const lock = useStore((s) => s.build?.lock);
  const setTab = useStore((s) => s.setTab);
  if (!lock) return null;
  const text = lock.state === 'drifted' ? `drifted (${lock.drift.length})` : lock.state === 'locked' ? 'locked' : lock.state === 'unchecked' ? 'lock unchecked' : 'no lock';
  return (
    <button className={`lock-badge ${lock.state}`} aria-label={`Lock: ${lock.state}`} title={`${LOCK_TEXT[lock.state]}${lock.drift.length ? ' ' + lock.drift.slice(0, 5).join('; ') : ''} (open Packages)`} onClick={() => setTab('packages')}>
      {text}
    </button>
  );
}
