// The layer stack, editable: drag layers to reorder them, sources between
// layers, palette items and desktop files onto a layer; and for each drag a
// keyboard path (Move up / Move down, "Move to layer…", Add buttons).
import { useState, type DragEvent } from 'react';
import { useCompose } from '../compose';
import { addLayer, deleteLayer, deleteSource, moveLayer, moveSource, renameLayer } from '../recipeEdits';
import { layersOf, stagesOf, type SourceValues } from '../recipeText';
import { useStore, type WarningView } from '../store';
import { useTrace, warningsOf } from '../hostSources';
import { carries, droppedOf, MIME } from './dnd';
import { bytes } from '../format';

function summary(s: SourceValues): string {
  const v = (k: string) => (s[k] === undefined ? '' : Array.isArray(s[k]) ? (s[k] as unknown[]).join(' ') : String(s[k]));
  switch (s.kind) {
    case 'symlink':
      return `${v('path')} → ${v('target')}`;
    case 'copy':
      return `${s.from ? `${v('from')}:` : ''}${v('src')} → ${v('dest') || '/'}`;
    case 'tarball':
      return `${v('src')} → ${v('dest') || '/'}`;
    case 'users':
      return Array.isArray(s.users) ? (s.users as { name?: string }[]).map((u) => u.name).join(', ') : '';
    case 'busybox':
      return '/bin/busybox + applets';
    case 'libs':
      return 'libraries of the layers above';
    case 'debian':
      return `${v('suite') || 'bookworm'} ${v('variant') || 'minbase'}`;
    case 'run':
      return Array.isArray(s.command) ? v('command') : v('command').split('\n')[0];
    default:
      return v('path') || v('paths');
  }
}

export function LayerStack() {
  const { project, layer, setLayer, yaml: text, stale, lastGoodYaml, selectedSource, selectSource, warnings, building, build } = useStore();
  // While the text does not parse, the last stack that did stays on screen, dimmed.
  const yaml = stale ? lastGoodYaml : text;
  const { trace, byKey: traces } = useTrace();
  const { apply, dropPalette, dropFiles } = useCompose();
  const [over, setOver] = useState<number>();
  const [renaming, setRenaming] = useState<{ index: number; name: string }>();
  if (!project) return null;
  // What the last build made of each layer: its size and file count (issue 15).
  const built = new Map(build?.ok ? build.layers.map((l) => [l.name, l]) : []);
  // The stack as the text says now, so edits in forms and YAML show at once.
  const layers = layersOf(yaml) ?? [];
  const stages = stagesOf(yaml);
  const onDragOver = (li: number) => (e: DragEvent) => {
    if (!carries(e, MIME.palette, MIME.layer, MIME.source, 'Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = carries(e, MIME.layer, MIME.source) ? 'move' : 'copy';
    setOver(li);
  };
  const onDrop = (li: number) => (e: DragEvent) => {
    e.preventDefault();
    setOver(undefined);
    const dt = e.dataTransfer;
    if (dt.types.includes(MIME.layer)) apply((t) => moveLayer(t, Number(dt.getData(MIME.layer)), li));
    else if (dt.types.includes(MIME.source)) {
      const [l, s] = dt.getData(MIME.source).split(':').map(Number);
      if (l !== li) apply((t) => moveSource(t, [l, s], li));
    } else if (dt.types.includes(MIME.palette)) dropPalette(dt.getData(MIME.palette), li);
    else if (dt.types.includes('Files')) void droppedOf(dt).then((items) => dropFiles(items, li));
  };
  const newLayer = () => {
    let name = '';
    apply((t) => {
      const r = addLayer(t);
      name = r.name;
      return r.text;
    });
    if (name) setRenaming({ index: layers.length, name });
  };
  const commitRename = () => {
    if (!renaming) return;
    const old = layers[renaming.index]?.name;
    if (renaming.name && renaming.name !== old) apply((t) => renameLayer(t, renaming.index, renaming.name));
    setRenaming(undefined);
  };
  return (
    <nav className={`layer-stack${stale ? ' stale' : ''}`}>
      <div className="stack-head">
        <h2>Layers</h2>
        <button className="small" onClick={newLayer}>
          New layer
        </button>
      </div>
      {stale && (
        <p className="stale-note" role="status">
          The YAML has a syntax error: this is the last valid stack.
        </p>
      )}
      {!layers.length ? (
        <p className="empty">{layersOf(yaml) ? 'No layers yet: press New layer.' : 'No layers: the recipe has errors (see the YAML tab).'}</p>
      ) : (
        <>
          <button className={`layer-pick ${layer === null ? 'on' : ''}`} onClick={() => setLayer(null)}>
            Whole image
          </button>
          <ol role="list" aria-label="Layers" reversed className="layers">
            {layers
              .map((l, li) => ({ l, li }))
              .reverse()
              .map(({ l, li }) => (
                <li
                  key={`${li}-${l.name}`}
                  aria-label={`Layer ${l.name}`}
                  className={`${layer === l.name ? 'on' : ''} ${over === li ? 'drop-over' : ''}`}
                  draggable={renaming?.index !== li}
                  onDragStart={(e) => {
                    if (e.target !== e.currentTarget) return;
                    e.dataTransfer.setData(MIME.layer, String(li));
                    e.dataTransfer.effectAllowed = 'move';
                  }}
                  onDragOver={onDragOver(li)}
                  onDragLeave={() => setOver(undefined)}
                  onDrop={onDrop(li)}
                >
                  <div className="layer-head">
                    {renaming?.index === li ? (
                      <input
                        aria-label={`New name for layer ${l.name}`}
                        autoFocus
                        // The name selected: typing replaces it, as a rename does everywhere.
                        onFocus={(e) => e.currentTarget.select()}
                        value={renaming.name}
                        onChange={(e) => setRenaming({ index: li, name: e.target.value })}
                        onBlur={commitRename}
                        onKeyDown={(e) => {
                          if (e.key === 'Enter') commitRename();
                          if (e.key === 'Escape') setRenaming(undefined);
                        }}
                      />
                    ) : (
                      <button className="layer-pick" onClick={() => setLayer(l.name)} aria-pressed={layer === l.name}>
                        {l.name}
                      </button>
                    )}
                    <span className="layer-tools">
                      <button className="icon" aria-label={`Move layer ${l.name} up`} title="Move up" disabled={li === layers.length - 1} onClick={() => apply((t) => moveLayer(t, li, li + 1))}>
                        ↑
                      </button>
                      <button className="icon" aria-label={`Move layer ${l.name} down`} title="Move down" disabled={li === 0} onClick={() => apply((t) => moveLayer(t, li, li - 1))}>
                        ↓
                      </button>
                      <button className="icon" aria-label={`Rename layer ${l.name}`} title="Rename" onClick={() => setRenaming({ index: li, name: l.name })}>
                        ✎
                      </button>
                      <button className="icon" aria-label={`Delete layer ${l.name}`} title="Delete" onClick={() => apply((t) => deleteLayer(t, li))}>
                        ✕
                      </button>
                    </span>
                  </div>
                  {built.has(l.name) && (
                    <div className="layer-figures muted" title={`its tar: ${built.get(l.name)!.size} bytes; ${built.get(l.name)!.digest}${built.get(l.name)!.cached ? ' (from the cache)' : ''}`}>
                      {bytes(built.get(l.name)!.size)} · {built.get(l.name)!.files} file{built.get(l.name)!.files === 1 ? '' : 's'}
                    </div>
                  )}
                  {l.sources.length === 0 ? (
                    <p className="muted drop-hint">Empty: drag a source here.</p>
                  ) : (
                    <ul>
                      {l.sources.map((src, si) => (
                        <li
                          key={si}
                          className="source"
                          draggable
                          onDragStart={(e) => {
                            e.stopPropagation();
                            e.dataTransfer.setData(MIME.source, `${li}:${si}`);
                            e.dataTransfer.effectAllowed = 'move';
                          }}
                        >
                          <button
                            className={`source-pick ${selectedSource?.[0] === li && selectedSource?.[1] === si ? 'on' : ''}`}
                            onClick={() => selectSource(li, si)}
                            aria-label={`Edit ${src.kind} source of ${l.name}${warnCount(warnings, li, si)}`}
                            title={`${src.kind} ${summary(src)}`}
                          >
                            <b>{src.kind}</b> <span className="muted">{summary(src)}</span>
                            <WarningBadge count={warningsOf(warnings, li, si).length} />
                          </button>
                          {src.kind === 'host' && Array.isArray(src.trace) && src.trace.length > 0 && (
                            <button
                              className="icon"
                              aria-label={`Trace host source of ${l.name}`}
                              title="Trace: run its commands under strace and show what they used"
                              disabled={building || traces[`${li}:${si}`]?.running}
                              onClick={() => {
                                selectSource(li, si);
                                void trace(li, si);
                              }}
                            >
                              ⌕
                            </button>
                          )}
                          {layers.length > 1 && (
                            <select
                              className="move-to"
                              aria-label={`Move ${src.kind} source of ${l.name} to layer…`}
                              title="Move to another layer"
                              value=""
                              onChange={(e) => e.target.value !== '' && apply((t) => moveSource(t, [li, si], Number(e.target.value)))}
                            >
                              <option value="">⇄</option>
                              {layers.map((o, oi) => (oi === li ? null : <option key={oi} value={oi}>{`to ${o.name}`}</option>))}
                            </select>
                          )}
                          <button className="icon" aria-label={`Delete ${src.kind} source of ${l.name}`} title="Delete source" onClick={() => apply((t) => deleteSource(t, li, si))}>
                            ✕
                          </button>
                        </li>
                      ))}
                    </ul>
                  )}
                </li>
              ))}
          </ol>
        </>
      )}
      {stages.length > 0 && (
        <>
          <h2>Stages (build only)</h2>
          <ul role="list" aria-label="Stages" className="layers">
            {stages.map((name) => (
              <li key={name} className={layer === `stage:${name}` ? 'on' : ''}>
                <button className="layer-pick" onClick={() => setLayer(`stage:${name}`)} aria-pressed={layer === `stage:${name}`}>
                  {name}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </nav>
  );
}

const warnCount = (warnings: WarningView[], li: number, si: number) => {
  const n = warningsOf(warnings, li, si).length;
  return n ? ` (${n} warning${n === 1 ? '' : 's'})` : '';
};

/** How many warnings the last build gave for a source (listed in its form and the build panel). */
function WarningBadge({ count }: { count: number }) {
  if (!count) return null;
  return (
    <span className="warn-badge" role="img" aria-label={`${count} warning${count === 1 ? '' : 's'}`} title="Warnings from the last build: see the Source tab or the build panel">
      ⚠ {count}
    </span>
  );
}
