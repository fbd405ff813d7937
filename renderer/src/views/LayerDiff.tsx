// What one layer adds, modifies and removes, against the layers under it: the
// layer picked in the stack unless another is chosen here.
import { useEffect, useState } from 'react';
import type { Response } from '../../../shared/contract';
import { api } from '../api';
import { bytes } from '../format';
import { useStore } from '../store';
import { ChangeTable } from './ChangeTable';

export function LayerDiff() {
  const { project, build, layer: stackLayer } = useStore();
  const [layer, setLayer] = useState<{ from: string | null; pick: string }>();
  const [diff, setDiff] = useState<{ layer: string; data: Response<'diff.layer'> } | { layer: string; error: string }>();
  const names = project?.layers.map((l) => l.name) ?? [];
  const labels = new Map(build?.layers.map((l) => [l.name, l.label ?? l.name]));
  // The stack's pick wins when it changes; a pick here holds until then.
  const fromStack = stackLayer !== null && names.includes(stackLayer) ? stackLayer : undefined;
  const pick = layer && layer.from === stackLayer && names.includes(layer.pick) ? layer.pick : (fromStack ?? names[names.length - 1]);
  useEffect(() => {
    if (!build?.ok || !pick) return;
    let live = true;
    api.request({ cmd: 'diff.layer', layer: pick }).then(
      (data) => live && setDiff({ layer: pick, data }),
      (e: Error) => live && setDiff({ layer: pick, error: e.message }),
    );
    return () => void (live = false);
  }, [build, pick]);
  if (!build?.ok) return <p className="empty">Build first: a layer diff compares what a layer holds with the layers under it.</p>;
  const shown = diff?.layer === pick ? diff : undefined;
  return (
    <div className="diff">
      <label>
        Layer{' '}
        <select value={pick} onChange={(e) => setLayer({ from: stackLayer, pick: e.target.value })}>
          {names.map((n) => (
            <option key={n} value={n}>
              {project?.readOnly ? labels.get(n) : n}
            </option>
          ))}
        </select>
      </label>
      {shown && 'error' in shown && <p className="error">{shown.error}</p>}
      {shown && 'data' in shown && (
        <>
          <p className="counts">
            <span className="added">{shown.data.added.count} added ({bytes(shown.data.added.bytes)})</span> · <span className="modified">{shown.data.modified.count} modified ({bytes(shown.data.modified.bytes)})</span> ·{' '}
            <span className="removed">{shown.data.removed.count} removed ({bytes(shown.data.removed.bytes)})</span>
          </p>
          <ChangeTable label={`Changes in layer ${pick}`} rows={shown.data.paths} />
        </>
      )}
    </div>
  );
}
