// Recent projects and images, one click to open again: shown while nothing is
// built or restored, so a fresh window is never a blank page. Once a build ran
// (a failed one too: its form is what the user needs next) it steps aside.
import { useEffect } from 'react';
import { useStore } from '../store';

/** The newest few of each list: the start screen sits above the views, not in place of them. */
const SHOWN = 5;

export function StartScreen() {
  const { recent, build, project, connection, loadRecent, open, openImage } = useStore();
  useEffect(() => {
    if (connection.state === 'connected') void loadRecent();
  }, [connection.state, loadRecent]);
  const projects = recent?.projects.filter((p) => p.path !== project?.dir).slice(0, SHOWN) ?? [];
  const images = recent?.images.filter((i) => i.path !== project?.image).slice(0, SHOWN) ?? [];
  if (build || (projects.length === 0 && images.length === 0)) return null;
  return (
    <section aria-label="Recent" className="start">
      {projects.length > 0 && (
        <>
          <h2>Recent projects</h2>
          <ul aria-label="Recent projects">
            {projects.map((p) => (
              <li key={p.path}>
                <button className="link" title={p.path} onClick={() => void open(p.path)}>
                  {p.name}
                </button>{' '}
                <span className="muted">{p.path}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {images.length > 0 && (
        <>
          <h2>Recent images</h2>
          <ul aria-label="Recent images">
            {images.map((i) => (
              <li key={i.path}>
                <button className="link" title={i.path} onClick={() => void openImage(i.path)}>
                  {i.path.split('/').pop()}
                </button>{' '}
                <span className="muted">{i.path}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
