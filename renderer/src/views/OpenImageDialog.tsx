// Open image…: a file browser over the host's folders (a docker-archive or
// OCI tar, an OCI layout folder), or under Electron the native dialog; and
// beside it the local docker and podman images (name, tag, size, created),
// listed by the host (images.local), a click opening one by the reference the
// host gave it (docker-daemon:NAME:TAG, containers-storage:NAME:TAG). The
// field still takes anything else: a path, oci:PATH:REF, docker://…; what is
// typed there (unless a path) also narrows the images. An engine that gave no
// list says why in one line, and the dialog works without it.
import { useEffect, useState, type KeyboardEvent } from 'react';
import type { LocalImageRow, Response } from '../../../shared/contract';
import { bytes } from '../../../shared/units';
import { api } from '../api';
import { useStore } from '../store';
import { FileDialog, nativePick } from './FileBrowser';

const when = (iso: string | undefined) => (iso ? iso.slice(0, 16).replace('T', ' ') : '');
const label = (i: LocalImageRow) => (i.tag ? `${i.name}:${i.tag}` : `${i.name} ${i.id.slice(7, 19)}`);

export function OpenImageDialog({ initial, onClose }: { initial: string; onClose: () => void }) {
  const openImage = useStore((s) => s.openImage);
  const folder = initial.startsWith('/') ? initial.replace(/\/[^/]*\/?$/, '') || '/' : undefined;
  return (
    <FileDialog
      title="Open image"
      label="Image: a file or folder (docker-archive, OCI layout or tar), or docker://…, docker-daemon:…, containers-storage:…, oci:…"
      goLabel="Open"
      pick="image"
      initial={initial}
      start={folder}
      onGo={(ref) => void openImage(ref)}
      onClose={onClose}
      aside={(text, go) => <LocalImages text={text} go={go} />}
    />
  );
}

function LocalImages({ text, go }: { text: string; go: (ref: string) => void }) {
  const [local, setLocal] = useState<Response<'images.local'>>();
  const [failed, setFailed] = useState<string>();
  const [active, setActive] = useState(0);
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
  const chooseFile = async () => {
    const picked = await nativePick({ title: 'Open image', kind: 'file', folders: true, filters: [{ name: 'Image archives', extensions: ['tar', 'tar.gz', 'tgz'] }, { name: 'All files', extensions: ['*'] }] });
    if (picked) go(picked);
  };
  // A path in the field is the file browser's; anything else narrows the images.
  const needle = text.trim().startsWith('/') ? '' : text.trim().toLowerCase();
  const shown = (local?.images ?? []).filter((i) => !needle || `${i.name}:${i.tag ?? ''} ${i.ref}`.toLowerCase().includes(needle));
  const at = Math.min(active, Math.max(0, shown.length - 1));
  const onListKey = (e: KeyboardEvent<HTMLUListElement>) => {
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: shown.length - 1 }[e.key];
    if (to === undefined || shown.length === 0) return;
    e.preventDefault();
    const n = Math.max(0, Math.min(shown.length - 1, to));
    setActive(n);
    (e.currentTarget.children[n] as HTMLElement | undefined)?.focus();
  };
  return (
    <section className="local-images" aria-label="Local images">
      <h3>Local images</h3>
      {api.pickPath && <button onClick={() => void chooseFile()}>Choose a file…</button>}
      {!local && !failed && <small>Listing the local docker and podman images…</small>}
      {failed && <small>Local images: {failed}</small>}
      {local && (
        <>
          {/* One Tab stop: the arrows, Home and End move between the images, Enter opens one. */}
          <ul role="listbox" aria-label="Local images" className="image-list" onKeyDown={onListKey}>
            {shown.map((i, n) => (
              <li
                key={`${i.engine} ${i.ref}`}
                role="option"
                aria-selected={n === at}
                aria-label={`${i.engine} ${label(i)}`}
                title={`open as ${i.ref}`}
                tabIndex={n === at ? 0 : -1}
                onFocus={() => setActive(n)}
                onClick={() => go(i.ref)}
                onKeyDown={(e) => e.key === 'Enter' && (e.stopPropagation(), go(i.ref))}
              >
                <span>{i.engine}</span>
                <span className="name">{label(i)}</span>
                <span className="size">{bytes(i.size)}</span>
                <span className="created">{when(i.created)}</span>
              </li>
            ))}
            {!shown.length && (
              <li role="presentation" className="muted none">
                {local.images.length ? 'no local image matches what is typed' : 'no local images'}
              </li>
            )}
          </ul>
          {local.notes.map((n) => (
            <small key={n.engine}>{n.reason}</small>
          ))}
        </>
      )}
    </section>
  );
}
