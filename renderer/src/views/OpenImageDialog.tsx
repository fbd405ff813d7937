// Open image…: the local docker and podman images (name, tag, size, created),
// listed by the host (images.local); a click opens one by the reference the
// host gave it (docker-daemon:NAME:TAG, containers-storage:NAME:TAG). The box
// still takes anything else: a file or folder, oci:PATH:REF, docker://…; what
// is typed there also narrows the list. An engine that gave no list says why
// in one line, and the dialog works without it.
import { useEffect, useState, type CSSProperties, type KeyboardEvent } from 'react';
import type { LocalImageRow, Response } from '../../../shared/contract';
import { bytes } from '../../../shared/units';
import { api } from '../api';
import { useStore } from '../store';

const when = (iso: string | undefined) => (iso ? iso.slice(0, 16).replace('T', ' ') : '');
const label = (i: LocalImageRow) => (i.tag ? `${i.name}:${i.tag}` : `${i.name} ${i.id.slice(7, 19)}`);

const LIST: CSSProperties = { listStyle: 'none', margin: 0, padding: 0, maxHeight: 260, overflowY: 'auto', width: 560, border: '1px solid #8884', borderRadius: 4 };
const ROW: CSSProperties = { display: 'grid', gridTemplateColumns: '58px 1fr 72px 120px', gap: 8, padding: '3px 6px', cursor: 'pointer', whiteSpace: 'nowrap' };

export function OpenImageDialog({ initial, onClose }: { initial: string; onClose: () => void }) {
  const openImage = useStore((s) => s.openImage);
  const [text, setText] = useState(initial);
  const [local, setLocal] = useState<Response<'images.local'>>();
  const [failed, setFailed] = useState<string>();
  useEffect(() => {
    let live = true;
    api.request({ cmd: 'images.local' }).then(
      (r) => live && setLocal(r),
      (e: Error) => live && setFailed(e.message),
    );
    return () => {
      live = false;
    };
  }, []);
  const open = (ref: string) => {
    if (!ref.trim()) return;
    void openImage(ref.trim());
    onClose();
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter') open(text);
    if (e.key === 'Escape') onClose();
  };
  const needle = text.trim().toLowerCase();
  const shown = (local?.images ?? []).filter((i) => !needle || `${i.name}:${i.tag ?? ''} ${i.ref}`.toLowerCase().includes(needle));
  return (
    <div role="dialog" aria-label="Open image" className="dialog" style={{ flexDirection: 'column', alignItems: 'stretch' }} onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div style={{ display: 'flex', gap: 8, alignItems: 'flex-end' }}>
        <label>
          Image: a file or folder (docker-archive, OCI layout or tar), or docker://…, docker-daemon:…, containers-storage:…, oci:…
          <input autoFocus value={text} onChange={(e) => setText(e.target.value)} onKeyDown={onKey} />
        </label>
        <button onClick={() => open(text)}>Open</button>
        <button onClick={onClose}>Cancel</button>
      </div>
      {!local && !failed && <small>Listing the local docker and podman images…</small>}
      {failed && <small>Local images: {failed}</small>}
      {local && (
        <>
          <ul role="listbox" aria-label="Local images" style={LIST}>
            {shown.map((i) => (
              <li
                key={`${i.engine} ${i.ref}`}
                role="option"
                aria-selected={false}
                aria-label={`${i.engine} ${label(i)}`}
                title={`open as ${i.ref}`}
                tabIndex={0}
                style={ROW}
                onClick={() => open(i.ref)}
                onKeyDown={(e) => e.key === 'Enter' && (e.stopPropagation(), open(i.ref))}
              >
                <span>{i.engine}</span>
                <span style={{ overflow: 'hidden', textOverflow: 'ellipsis' }}>{label(i)}</span>
                <span style={{ textAlign: 'right' }}>{bytes(i.size)}</span>
                <span>{when(i.created)}</span>
              </li>
            ))}
            {!shown.length && <li style={{ ...ROW, cursor: 'default' }}>{local.images.length ? 'no local image matches what is typed' : 'no local images'}</li>}
          </ul>
          {local.notes.map((n) => (
            <small key={n.engine}>{n.reason}</small>
          ))}
        </>
      )}
    </div>
  );
}
