// Inspecting an image like dive (issue 6): efficiency and wasted space (ours
// first; dive's figures after, explained), the layers by what made them, each
// wasteful path explained, the largest files and folders; the size map; and
// comparisons.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { CompareSide, ImageAnalysis, Response } from '../../../shared/contract';
import { api } from '../api';
import { bytes } from '../format';
import { useStore } from '../store';
import { ChangeTable } from './ChangeTable';
import { crumbs, layerColour, layoutTreemap, LABEL_H } from '../treemap';

export const percent = (x: number) => `${(x * 100).toFixed(1)} %`;

function useShownKey(): string | undefined {
  const { build, project } = useStore();
  // A new build or another image makes every view fetch again.
  return build?.ok ? `${project?.file}\0${build.manifestDigest ?? ''}\0${build.layers.map((l) => l.digest).join(',')}` : undefined;
}

export function Inspect() {
  const key = useShownKey();
  const { project } = useStore();
  const [a, setA] = useState<{ key: string; data: ImageAnalysis } | { key: string; error: string }>();
  useEffect(() => {
    if (!key) return;
    let live = true;
    api.request({ cmd: 'image.inspect' }).then(
      (data) => live && setA({ key, data }),
      (e: Error) => live && setA({ key, error: e.message }),
    );
    return () => void (live = false);
  }, [key]);
  if (!key) return <p className="empty">Nothing built yet. Press <b>Build</b>, or <b>Open image…</b> to inspect any docker-archive or OCI image.</p>;
  if (!a || a.key !== key) return <p className="empty">Analysing the layers…</p>;
  if ('error' in a) return <p className="error">{a.error}</p>;
  const d = a.data;
  const labelOf = (name: string) => d.layers.find((l) => l.name === name)?.label ?? name;
  const noteFor = project?.readOnly ? 'this image' : 'the last build';
  return (
    <section className="inspect" aria-label="Inspect">
      <p className="muted">
        {d.layers.length} layer{d.layers.length === 1 ? '' : 's'} of {noteFor} store {bytes(d.stored)} of file content; the final filesystem shows {bytes(d.final)} in {d.files} entries.
      </p>
      {/* One figure leads; dive's, counted another way, follow with what makes them differ. */}
      <figure className="lead-figure" aria-label="Efficiency">
        <figcaption>Efficiency</figcaption>
        <div className="big">{percent(d.efficiency)}</div>
        <div aria-label="Wasted space">
          <b>{bytes(d.wasted.bytes)}</b> wasted <span className="muted">({d.wasted.bytes} bytes stored in layers that the final filesystem never shows) of {bytes(d.stored)} stored: efficiency = 1 − wasted / stored</span>
        </div>
        <details className="dive" aria-label="dive's figures">
          <summary>
            dive reports efficiency <b>{percent(d.dive.efficiency)}</b>, wasted <b>{bytes(d.dive.wastedBytes)}</b>
          </summary>
          <p className="muted">
            dive counts a path stored more than once as wasted in every copy, the one the final filesystem shows too ({d.dive.wastedBytes} bytes here), and its efficiency weighs each path's smallest copy against all its copies. Its
            “user wasted” figure, {percent(d.dive.userWastedPercent)}, is that count divided by the bytes of the layers above the first, so it can pass 100 %. The figure above counts only the bytes nobody can see.
          </p>
        </details>
      </figure>
      <h3>Layers</h3>
      <LayerTable a={d} />
      <h3>Wasteful paths</h3>
      {d.wasted.paths.length === 0 ? (
        <p className="muted">Nothing wasted: every byte the layers store is in the final filesystem.</p>
      ) : (
        <table className="grid" aria-label="Wasteful paths">
          <thead>
            <tr>
              <th>Path</th>
              <th>Stored in</th>
              <th>Hidden by</th>
              <th>How</th>
              <th className="num">Bytes</th>
            </tr>
          </thead>
          <tbody>
            {d.wasted.paths.map((p) => (
              <tr key={`${p.path}\0${p.storedIn}`}>
                <td className="mono">{p.path}</td>
                <td className="label-cell mono" title={p.storedIn}>
                  {labelOf(p.storedIn)}
                </td>
                <td className="label-cell mono" title={p.hiddenBy}>
                  {labelOf(p.hiddenBy)}
                </td>
                <td className={p.how === 'removed' ? 'removed' : 'modified'}>{p.how}</td>
                <td className="num" title={`${p.bytes} bytes`}>
                  {bytes(p.bytes)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {d.wasted.more > 0 && <p className="muted">and {d.wasted.more} smaller paths.</p>}
      <Largest names={d.layers.map((l) => l.name)} labelOf={labelOf} />
    </section>
  );
}

function LayerTable({ a }: { a: ImageAnalysis }) {
  const [saved, setSaved] = useState<string>();
  const exportLayer = (name: string) =>
    api.request({ cmd: 'image.exportLayer', layer: name }).then(
      (r) => setSaved(`Layer ${name} written to ${r.path} (${bytes(r.bytes)})`),
      (e: Error) => setSaved(`Could not export layer ${name}: ${e.message}`),
    );
  return (
    <>
      <table className="grid" aria-label="Layers of the image">
        <thead>
          <tr>
            <th>#</th>
            <th>Layer</th>
            <th>Digest</th>
            <th className="num" title="Bytes of the files the layer stores (its tar, with headers and padding, is a little larger: the size the layer list gives)">
              File bytes
            </th>
            <th className="num">Files</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {a.layers.map((l) => (
            <tr key={l.index}>
              <td>
                <span className="swatch" style={{ background: layerColour(l.index) }} aria-hidden />
                {l.index + 1}
              </td>
              <td className="mono command" title={l.command ?? l.label ?? l.name}>
                {l.label ?? l.name}
              </td>
              <td className="mono" title={l.digest}>
                {l.digest.slice(0, 19)}
              </td>
              <td className="num" title={`${l.bytes} bytes`}>
                {bytes(l.bytes)}
              </td>
              <td className="num">{l.files}</td>
              <td>
                <button className="small" aria-label={`Export layer ${l.name}`} onClick={() => void exportLayer(l.name)}>
                  Export tar
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {saved && (
        <p role="status" className="muted">
          {saved}
        </p>
      )}
    </>
  );
}

function Largest({ names, labelOf }: { names: string[]; labelOf: (name: string) => string }) {
  const key = useShownKey();
  // A layer picked for another image or build means nothing now: back to the whole image.
  const [pick, setPick] = useState<{ key?: string; layer: string | null }>({ layer: null });
  const layer = pick.key === key ? pick.layer : null;
  const setLayer = (l: string | null) => setPick({ key, layer: l });
  const [data, setData] = useState<Response<'image.largest'>>();
  const { showInExplorer } = useStore();
  useEffect(() => {
    if (!key) return;
    let live = true;
    api.request({ cmd: 'image.largest', layer, n: 15 }).then((r) => live && setData(r), () => live && setData(undefined));
    return () => void (live = false);
  }, [key, layer]);
  return (
    <>
      <div className="toolbar largest-head">
        <h3>Largest</h3>
        <label>
          In{' '}
          <LayerSelect label="Largest in" names={names} layer={layer} onChange={setLayer} />
        </label>
      </div>
      <div className="largest">
        <table className="grid" aria-label="Largest files">
          <thead>
            <tr>
              <th>File</th>
              <th>Layer</th>
              <th className="num">Bytes</th>
            </tr>
          </thead>
          <tbody>
            {data?.files.map((f) => (
              <tr key={f.path}>
                <td className="mono">
                  <button className="link" title={f.path} onClick={() => void showInExplorer(f.path, layer)}>
                    {f.path}
                  </button>
                </td>
                <td className="label-cell mono" title={f.layer}>
                  {f.layer ? labelOf(f.layer) : ''}
                </td>
                <td className="num" title={`${f.bytes} bytes`}>
                  {bytes(f.bytes)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <table className="grid" aria-label="Largest directories">
          <thead>
            <tr>
              <th>Folder</th>
              <th className="num">Bytes</th>
            </tr>
          </thead>
          <tbody>
            {data?.dirs.map((f) => (
              <tr key={f.path}>
                <td className="mono">{f.path}</td>
                <td className="num" title={`${f.bytes} bytes`}>
                  {bytes(f.bytes)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data && data.files.length === 0 && <p className="muted">No files {layer === null ? 'in the image' : `in layer ${layer}`}.</p>}
    </>
  );
}

export function SizeMap() {
  const key = useShownKey();
  const { project, showInExplorer } = useStore();
  // The layer and zoom belong to what is shown: another build or image starts at the whole image's root.
  const [view, setView] = useState<{ key?: string; layer: string | null; dir: string }>({ layer: null, dir: '/' });
  const layer = view.key === key ? view.layer : null;
  const dir = view.key === key ? view.dir : '/';
  const setLayer = (l: string | null) => setView({ key, layer: l, dir: '/' });
  const setDir = (d: string) => setView({ key, layer, dir: d });
  const [map, setMap] = useState<{ key: string; data: Response<'image.sizeMap'> } | { key: string; error: string }>();
  const box = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ w: 0, h: 0 });
  const [hover, setHover] = useState<string>();
  const want = `${key}\0${layer}\0${dir}`;
  useEffect(() => {
    if (!key) return;
    let live = true;
    api.request({ cmd: 'image.sizeMap', layer, dir, depth: 3 }).then(
      (data) => live && setMap({ key: want, data }),
      (e: Error) => live && setMap({ key: want, error: e.message }),
    );
    return () => void (live = false);
  }, [key, layer, dir, want]);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setSize({ w: el.clientWidth, h: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [key]);
  if (!key) return <p className="empty">Nothing built yet. Press <b>Build</b>, or <b>Open image…</b>, to see where the bytes are.</p>;
  const names = map && 'data' in map ? map.data.layers : (project?.layers.map((l) => l.name) ?? []);
  const boxes = map && 'data' in map && map.key === want ? layoutTreemap(map.data.root, size.w, size.h) : [];
  const root = map && 'data' in map && map.key === want ? map.data.root : undefined;
  return (
    <section className="sizemap" aria-label="Size map">
      <div className="toolbar">
        <label>
          Map of{' '}
          <LayerSelect label="Map of" names={names} layer={layer} onChange={setLayer} />
        </label>
        <nav aria-label="Zoom" className="crumbs">
          {crumbs(dir).map((c, i, all) =>
            i === all.length - 1 ? (
              <span key={c.path} aria-current="location">
                {c.name}
              </span>
            ) : (
              <span key={c.path}>
                <button className="link" onClick={() => setDir(c.path)}>
                  {c.name}
                </button>
                {i > 0 ? ' / ' : ' '}
              </span>
            ),
          )}
        </nav>
        {root && <span className="muted">{bytes(root.bytes)}</span>}
        <span className="muted hover">{hover ?? 'Click a folder to zoom in, a file to show it in the explorer.'}</span>
      </div>
      <div className="legend" aria-label="Layer colours">
        {names.map((n, i) => (
          <span key={n}>
            <span className="swatch" style={{ background: layerColour(i) }} aria-hidden /> {n}
          </span>
        ))}
      </div>
      <div className="map" ref={box}>
        {map && 'error' in map && map.key === want && <p className="error">{map.error}</p>}
        {root && root.bytes === 0 && <p className="empty">No file content {dir === '/' ? '' : `under ${dir} `}to map: {layer === null ? 'the image holds only folders, links and empty files' : `layer ${layer} stores no bytes`}.</p>}
        {boxes.map((b) => {
          const label = `${b.folded ? `${b.name} in ${b.path}` : b.path}${b.dir && !b.folded ? '/' : ''}, ${bytes(b.bytes)}${b.layer !== undefined && names[b.layer] ? `, layer ${names[b.layer]}` : ''}`;
          const clickable = !b.folded;
          return (
            <div
              key={b.key}
              className={`block ${b.parent ? 'parent' : 'leaf'} ${b.dir ? 'dir' : 'file'} ${b.folded ? 'folded' : ''}`}
              style={{ left: b.x, top: b.y, width: b.w, height: b.h, ...(b.parent ? {} : { background: layerColour(b.layer) }) }}
              role={clickable ? 'button' : 'img'}
              tabIndex={clickable ? 0 : undefined}
              aria-label={label}
              title={label}
              onMouseEnter={() => setHover(label)}
              onMouseLeave={() => setHover(undefined)}
              onClick={(e) => {
                e.stopPropagation();
                if (!clickable) return;
                if (b.dir) setDir(b.path);
                else void showInExplorer(b.path, layer);
              }}
              onKeyDown={(e) => {
                if (clickable && (e.key === 'Enter' || e.key === ' ')) {
                  e.preventDefault();
                  e.stopPropagation();
                  if (b.dir) setDir(b.path);
                  else void showInExplorer(b.path, layer);
                }
              }}
            >
              {(b.parent ? b.w > 30 : b.w > 40 && b.h > 14) && <span className="label" style={b.parent ? { height: LABEL_H } : {}}>{b.name}</span>}
            </div>
          );
        })}
      </div>
    </section>
  );
}

type SideKind = 'current' | 'previous' | 'image' | 'layer';

function SidePicker({ label, kind, setKind, value, setValue, names }: { label: string; kind: SideKind; setKind(k: SideKind): void; value: string; setValue(v: string): void; names: string[] }) {
  const { project } = useStore();
  return (
    <fieldset className="side-pick">
      <legend>{label}</legend>
      <select aria-label={`${label}: what`} value={kind} onChange={(e) => setKind(e.target.value as SideKind)}>
        {!project?.readOnly && <option value="current">the current build</option>}
        {!project?.readOnly && <option value="previous">the previous build</option>}
        <option value="layer">a layer of what is shown</option>
        <option value="image">an image file or OCI folder</option>
      </select>
      {kind === 'layer' && (
        <select aria-label={`${label}: layer`} value={value} onChange={(e) => setValue(e.target.value)}>
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      )}
      {kind === 'image' && <input aria-label={`${label}: image path`} placeholder="/path/to/image.tar" value={value} onChange={(e) => setValue(e.target.value)} />}
    </fieldset>
  );
}

function sideOf(kind: SideKind, value: string): CompareSide {
  if (kind === 'current' || kind === 'previous') return { build: kind };
  if (kind === 'layer') return { layer: value };
  return { image: value.trim() };
}

export function Compare() {
  const { project, build } = useStore();
  const names = project?.layers.map((l) => l.name) ?? [];
  const ro = !!project?.readOnly;
  const [ka, setKa] = useState<SideKind>(ro ? 'layer' : 'previous');
  const [kb, setKb] = useState<SideKind>(ro ? 'layer' : 'current');
  const [va, setVa] = useState('');
  const [vb, setVb] = useState('');
  const [busy, setBusy] = useState(false);
  const [res, setRes] = useState<Response<'image.compare'> | { error: string }>();
  const [only, setOnly] = useState<'all' | 'added' | 'removed' | 'changed'>('all');
  const [asList, setAsList] = useState(false);
  // Sensible picks when the sides change: the first and last layer.
  const pickA = ka === 'layer' && !names.includes(va) ? (names[0] ?? '') : va;
  const pickB = kb === 'layer' && !names.includes(vb) ? (names[names.length - 1] ?? '') : vb;
  useEffect(() => {
    setKa(ro ? 'layer' : 'previous');
    setKb(ro ? 'layer' : 'current');
    setRes(undefined);
  }, [ro, project?.file]);
  const go = async (fileList = asList) => {
    setBusy(true);
    try {
      setRes(await api.request({ cmd: 'image.compare', a: sideOf(ka, pickA), b: sideOf(kb, pickB), fileList }));
    } catch (e) {
      setRes({ error: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  // The engine's "changed" is what every other view calls modified.
  const MODIFIED = { added: 'added', removed: 'removed', changed: 'modified' } as const;
  const shown = res && 'paths' in res ? res.paths.filter((p) => only === 'all' || p.change === only) : [];
  return (
    <section className="compare" aria-label="Comparison">
      <div className="toolbar compare-pick">
        <SidePicker label="A" kind={ka} setKind={setKa} value={pickA} setValue={setVa} names={names} />
        <span aria-hidden>→</span>
        <SidePicker label="B" kind={kb} setKind={setKb} value={pickB} setValue={setVb} names={names} />
        <button onClick={() => void go()} disabled={busy || (!build?.ok && (ka !== 'image' || kb !== 'image'))}>
          {busy ? 'Comparing…' : 'Compare'}
        </button>
      </div>
      {!build?.ok && <p className="muted">Build first to compare builds or layers; two image paths can be compared any time.</p>}
      {res && 'error' in res && (
        <p className="error" role="alert">
          {res.error}
        </p>
      )}
      {res && 'paths' in res && (
        <>
          <p className="counts" aria-label="Comparison counts">
            From <b>{res.a}</b> to <b>{res.b}</b>: <span className="added">{res.added.count} added ({bytes(res.added.bytes)})</span> · <span className="modified">{res.changed.count} modified ({bytes(res.changed.bytes)})</span> ·{' '}
            <span className="removed">{res.removed.count} removed ({bytes(res.removed.bytes)})</span>
          </p>
          {res.paths.length === 0 ? (
            <p className="muted">No differences: both sides hold the same filesystem.</p>
          ) : (
            <>
              <div className="toolbar">
                <label>
                  Show{' '}
                  <select aria-label="Show changes" value={only} onChange={(e) => setOnly(e.target.value as typeof only)}>
                    <option value="all">all changes</option>
                    <option value="added">added</option>
                    <option value="changed">modified</option>
                    <option value="removed">removed</option>
                  </select>
                </label>
                <label>
                  <input
                    type="checkbox"
                    checked={asList}
                    onChange={(e) => {
                      setAsList(e.target.checked);
                      // The text is fetched only when asked for: it can be megabytes.
                      if (e.target.checked && res.fileListDiff === undefined) void go(true);
                    }}
                  />{' '}
                  As a file-list diff
                </label>
              </div>
              {asList && (
                <pre className="filelist-diff" aria-label="File-list diff">
                  {(res.fileListDiff ?? '').split('\n').map((l, i) => (
                    <span key={i} className={l.startsWith('+++') || l.startsWith('---') ? 'head' : l.startsWith('+') ? 'added' : l.startsWith('-') ? 'removed' : ''}>
                      {l}
                      {'\n'}
                    </span>
                  ))}
                </pre>
              )}
              {!asList && (
                <ChangeTable
                  label="Changed paths"
                  more={res.more}
                  rows={shown.map((p) => ({ path: p.type === 'dir' ? `${p.path}/` : p.path, change: MODIFIED[p.change], type: p.type, size: p.change === 'removed' ? p.before : p.after, before: p.before }))}
                />
              )}
            </>
          )}
        </>
      )}
    </section>
  );
}

/** The whole image or one of its layers: what the largest lists and the size map are about. */
function LayerSelect({ label, names, layer, onChange }: { label: string; names: string[]; layer: string | null; onChange: (layer: string | null) => void }) {
  return (
    <select aria-label={label} value={layer ?? ''} onChange={(e) => onChange(e.target.value || null)}>
      <option value="">the whole image</option>
      {names.map((n) => (
        <option key={n} value={n}>
          layer {n}
        </option>
      ))}
    </select>
  );
}
