// A form per source kind. Every change is written into the YAML document (so the
// YAML tab stays in sync) and validated by the engine; errors show at the field.
import { useEffect, useRef } from 'react';
import type { Problem } from '../../../shared/contract';
import { fieldName, layersOf, setField, type Key } from '../recipeText';
import { useCompose } from '../compose';
import { useStore } from '../store';
import { SourceWarnings, TraceCommandsField, TracePanel } from './TracePanel';

type FieldKind = 'text' | 'mode' | 'owner' | 'content' | 'list' | 'bool';
const FIELDS: Record<string, [string, FieldKind, string][]> = {
  busybox: [
    ['path', 'text', 'Host busybox (default /bin/busybox)'],
    ['links', 'bool', 'Applet links'],
  ],
  host: [
    ['paths', 'list', 'Host paths (one per line)'],
    ['libs', 'bool', 'Add their libraries to this layer'],
  ],
  libs: [['from', 'list', 'Only the ELF files of these layers (one per line; default: every layer above)']],
  file: [
    ['path', 'text', 'Path in the image'],
    ['mode', 'mode', 'Mode (octal)'],
    ['owner', 'owner', 'Owner uid:gid'],
    ['content', 'content', 'Content'],
  ],
  symlink: [
    ['path', 'text', 'Path in the image'],
    ['target', 'text', 'Target'],
    ['owner', 'owner', 'Owner uid:gid'],
  ],
  dir: [
    ['path', 'text', 'Path in the image'],
    ['mode', 'mode', 'Mode (octal)'],
    ['owner', 'owner', 'Owner uid:gid'],
  ],
  copy: [
    ['src', 'text', 'From the project folder'],
    ['dest', 'text', 'To (path in the image)'],
    ['owner', 'owner', 'Owner override uid:gid'],
    ['mode', 'mode', 'File mode override (octal)'],
  ],
  remove: [['paths', 'list', 'Paths to remove (one per line)']],
  tarball: [
    ['src', 'text', 'Tarball in the project folder'],
    ['dest', 'text', 'Unpack at'],
  ],
  users: [],
  image: [
    ['ref', 'text', 'Image reference (docker://…, docker-daemon:NAME:TAG, oci:PATH, or a path)'],
    ['digest', 'text', 'Pinned digest (sha256:…, optional)'],
  ],
  debian: [
    ['suite', 'text', 'Suite (bookworm, trixie, …)'],
    ['variant', 'text', 'Variant (minbase, buildd, required, important, standard)'],
    ['include', 'list', 'Extra packages (one per line)'],
    ['components', 'list', 'Components (one per line; default main)'],
    ['mirror', 'text', 'Mirror (auto: the host\'s apt sources)'],
  ],
  run: [
    ['command', 'content', 'Command (run by /bin/sh -c)'],
    ['workdir', 'text', 'Working folder'],
    ['network', 'bool', 'Network (off by default)'],
    ['keepMountPoint', 'bool', 'Leave empty mount points'],
  ],
};

/** The last palette addition whose form took focus: each addition focuses its form once, a later visit does not. */
let focusedFor = 0;

export function SourceForm() {
  const { yaml, problems, selectedSource } = useStore();
  const { edit, seal, formFocus } = useCompose();
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (formFocus <= focusedFor || !form.current) return;
    focusedFor = formFocus;
    form.current.querySelector<HTMLElement>('input, textarea, select')?.focus();
  }, [formFocus, selectedSource]);
  if (!selectedSource) return <p className="empty">Select a source in the layer stack to edit it here.</p>;
  const [li, si] = selectedSource;
  const layers = layersOf(yaml);
  const source = layers?.[li]?.sources[si];
  if (!layers) return <p className="empty error">The YAML does not parse; fix it in the YAML tab first.</p>;
  if (!source) return <p className="empty">That source no longer exists.</p>;
  const base: Key[] = ['layers', li, 'sources', si];
  const problemAt = (key: string): Problem | undefined => problems.find((p) => p.field === fieldName([...base, key]));
  const traceField = fieldName([...base, 'trace']);
  const others = problems.filter((p) => p.field.startsWith(fieldName(base)) && !FIELDS[source.kind]?.some(([k]) => p.field === fieldName([...base, k])) && !(source.kind === 'host' && p.field.startsWith(traceField)));
  // Typing a field is one undo step: its changes share a group until focus leaves it.
  const update = (key: string, value: unknown) => edit(setField(yaml, [...base, key], value), fieldName([...base, key]));
  return (
    <form ref={form} className="source-form" aria-label={`${source.kind} source of layer ${layers[li].name}`} onSubmit={(e) => e.preventDefault()} onBlur={seal}>
      <h3>
        {source.kind} <span className="muted">in layer {layers[li].name}</span>
      </h3>
      {(FIELDS[source.kind] ?? []).map(([key, kind, label]) => {
        const problem = problemAt(key);
        const id = `f-${key}`;
        const value = source[key];
        return (
          <div key={key} className="field">
            <label htmlFor={id}>{label}</label>
            {kind === 'bool' ? (
              <input id={id} type="checkbox" checked={value === undefined ? key === 'links' || key === 'keepMountPoint' : !!value} onChange={(e) => update(key, e.target.checked)} />
            ) : kind === 'content' ? (
              <textarea id={id} value={String(value ?? '')} aria-invalid={!!problem} onChange={(e) => update(key, e.target.value)} rows={6} />
            ) : kind === 'list' ? (
              <textarea id={id} value={Array.isArray(value) ? value.join('\n') : ''} aria-invalid={!!problem} rows={3} onChange={(e) => update(key, e.target.value.split('\n').filter((x) => x.trim()).length ? e.target.value.split('\n').map((x) => x.trim()).filter(Boolean) : undefined)} />
            ) : (
              <input
                id={id}
                value={String(value ?? '')}
                placeholder={kind === 'owner' ? '0:0 (default)' : kind === 'mode' ? 'default' : undefined}
                aria-invalid={!!problem}
                aria-describedby={problem ? `${id}-err` : undefined}
                onChange={(e) => update(key, e.target.value)}
              />
            )}
            {problem && (
              <span id={`${id}-err`} role="alert" className="error">
                {problem.message}
              </span>
            )}
          </div>
        );
      })}
      {source.kind === 'host' && (
        <>
          <TraceCommandsField sourceId={`${li}:${si}`} value={source.trace} problem={problems.find((p) => p.field.startsWith(traceField))} onChange={(v) => update('trace', v)} />
          <TracePanel layer={li} source={si} hasCommands={Array.isArray(source.trace) && source.trace.length > 0} />
        </>
      )}
      <SourceWarnings layer={li} source={si} />
      {source.kind === 'users' && <p className="muted">Users and groups are edited in the YAML tab.</p>}
      {others.map((p, i) => (
        <p key={i} role="alert" className="error">
          {p.field}: {p.message}
        </p>
      ))}
    </form>
  );
}
