// The Push dialog: where to (docker://REGISTRY/NAME:TAG, prefilled with the
// last destination), skip TLS verification, an optional user and password
// (sent with this push only, never stored). Enter pushes, Esc closes. Each
// blob's row changes as the host reports it, then the manifest digest shows.
import { useEffect, useRef } from 'react';
import { keepTabInside } from '../focusTrap';
import { BLOB_WORDS, usePush } from '../push';
import { engineBlocked, useStore } from '../store';

/** The header's Push button: usable once a build can run (the host refuses an unbuilt image in words). */
export function PushButton() {
  const { building, problems } = useStore();
  const show = usePush((p) => p.show);
  const blocked = useStore(engineBlocked);
  return (
    <button aria-label="Push…" title={blocked ?? 'Push the built image to a registry'} onClick={() => void show()} disabled={building || !!problems.length || !!blocked}>
      Push…
    </button>
  );
}

const short = (d: string) => (d.startsWith('sha256:') ? `sha256:${d.slice(7, 19)}` : d);

export function PushDialog() {
  const p = usePush();
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (!p.open) return;
    const before = document.activeElement as HTMLElement | null;
    first.current?.focus();
    return () => before?.focus?.();
  }, [p.open]);
  if (!p.open) return null;
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && p.close()}>
      <form
        role="dialog"
        aria-modal="true"
        aria-labelledby="push-dialog-title"
        className="run-dialog push-dialog"
        onKeyDown={(e) => {
          keepTabInside(e);
          if (e.key === 'Escape') {
            e.stopPropagation();
            p.close();
          }
        }}
        onSubmit={(e) => {
          e.preventDefault();
          void p.push();
        }}
      >
        <h2 id="push-dialog-title">Push the image</h2>
        <div className="run-grid">
          <label htmlFor="push-dest">Destination</label>
          <div className="run-field">
            <input
              id="push-dest"
              ref={first}
              spellCheck={false}
              value={p.dest}
              placeholder="docker://REGISTRY/NAME:TAG"
              aria-describedby="push-dest-hint"
              onChange={(e) => p.update({ dest: e.target.value })}
            />
            <span id="push-dest-hint" className="muted hint">
              docker://REGISTRY/NAME:TAG (or any skopeo destination); remembered for this project
            </span>
          </div>
          <span />
          <label className="check">
            <input type="checkbox" checked={p.skipTls} onChange={(e) => p.update({ skipTls: e.target.checked })} /> Skip TLS verification
          </label>
          <label htmlFor="push-user">User</label>
          <div className="run-field">
            <input id="push-user" autoComplete="off" spellCheck={false} value={p.user} placeholder="none" aria-describedby="push-creds-hint" onChange={(e) => p.update({ user: e.target.value })} />
          </div>
          <label htmlFor="push-password">Password</label>
          <div className="run-field">
            <input id="push-password" type="password" autoComplete="off" value={p.password} aria-describedby="push-creds-hint" onChange={(e) => p.update({ password: e.target.value })} />
            <span id="push-creds-hint" className="muted hint">
              Sent with this push only, never stored
            </span>
          </div>
        </div>
        {p.error && (
          <p role="alert" className="error push-error">
            {p.error}
          </p>
        )}
        {(p.blobs.length > 0 || p.pushing) && (
          <table className="push-blobs" aria-label="Blobs">
            <thead>
              <tr>
                <th scope="col">Blob</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {p.blobs.map((b) => (
                <tr key={b.digest} aria-label={`Blob ${b.digest}`}>
                  <td title={b.digest}>
                    <code>{short(b.digest)}</code>
                  </td>
                  <td>{b.role ?? ''}</td>
                  <td className={`blob-${b.status}`}>{BLOB_WORDS[b.status]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p className="muted summary" role="status" aria-label="Push result">
          {p.pushing ? (
            'Pushing…'
          ) : p.result ? (
            <>
              Pushed to <code>{p.result.destination}</code> · manifest <code data-testid="manifest-digest">{p.result.manifestDigest}</code>
            </>
          ) : (
            'Enter pushes, Esc closes.'
          )}
        </p>
        <div className="buttons">
          <button type="submit" className="primary" disabled={p.pushing}>
            Push
          </button>
          <button type="button" onClick={p.close} disabled={p.pushing}>
            Close
          </button>
        </div>
      </form>
    </div>
  );
}
