// The window: actions on top, the layer stack on the left, the views in the
// middle, build progress and terminals below.
import { useEffect, useState, type KeyboardEvent } from 'react';
import { useStore, type Tab } from './store';
import { Explorer } from './views/Explorer';
import { SourceForm } from './views/SourceForm';
import { RunResults, RunnerButtons, VmConsoleButton } from './views/RunResults';
import { BuildPanel, Doctor, FileList, LayerDiff, Runs, Yaml } from './views/Panels';
import { ComposeBar } from './views/ComposeBar';
import { isDirty, useCompose } from './compose';
import { LayerStack } from './views/LayerStack';
import { Palette } from './views/Palette';

const TABS: [Tab, string][] = [
  ['explorer', 'Explorer'],
  ['diff', 'Layer diff'],
  ['filelist', 'File list'],
  ['source', 'Source'],
  ['yaml', 'YAML'],
  ['doctor', 'Doctor'],
];

export function App() {
  const s = useStore();
  const open = useStore((st) => st.open);
  useEffect(() => void open(), [open]);
  return (
    <div className="app">
      <header>
        <h1>Scratchyard</h1>
        <span className="project" title={s.project?.dir}>
          {s.project?.name ?? 'no project'}
        </span>
        <ProjectMenu />
        <ComposeBar />
        <div className="actions">
          <div className="group" role="group" aria-label="Build">
            <button onClick={() => void (isDirty() ? useCompose.getState().save() : s.runBuild())} disabled={s.building || !!s.problems.length} accessKey="b">
              Build
            </button>
            <button onClick={() => void s.cancel()} disabled={!s.building}>
              Cancel
            </button>
          </div>
          <div className="group" role="group" aria-label="Run the image">
            <span className="group-label" aria-hidden="true">Run in</span>
            <button aria-label="Run in chroot" onClick={() => void s.startRun('run')} disabled={s.building || !!s.problems.length}>
              chroot
            </button>
            <RunnerButtons />
          </div>
          <div className="group" role="group" aria-label="Open a terminal">
            <span className="group-label" aria-hidden="true">Open</span>
            <button aria-label="Open shell" title="A shell in a chroot of the image" onClick={() => void s.startRun('shell')} disabled={s.building || !!s.problems.length}>
              shell
            </button>
            <VmConsoleButton />
          </div>
        </div>
      </header>
      {s.error && (
        <div role="alert" className="banner">
          {s.error} <button onClick={() => s.setError(undefined)}>Dismiss</button>
        </div>
      )}
      <aside className="side">
        <LayerStack />
        <Palette />
      </aside>
      <main>
        <div role="tablist" aria-label="Views" className="tabs">
          {TABS.map(([t, label]) => (
            <button key={t} role="tab" aria-selected={s.tab === t} className={s.tab === t ? 'on' : ''} onClick={() => s.setTab(t)}>
              {label}
              {t === 'yaml' && s.problems.length ? ' ⚠' : ''}
            </button>
          ))}
        </div>
        <div role="tabpanel" className="view">
          {s.tab === 'explorer' && <Explorer />}
          {s.tab === 'diff' && <LayerDiff />}
          {s.tab === 'filelist' && <FileList />}
          {s.tab === 'source' && <SourceForm />}
          {s.tab === 'yaml' && <Yaml />}
          {s.tab === 'doctor' && <Doctor />}
        </div>
      </main>
      <footer>
        <BuildPanel />
        <Runs />
        <RunResults />
      </footer>
    </div>
  );
}

/** New / Open: a folder path typed in (browser mode has no native file dialog). */
function ProjectMenu() {
  const { open, create, project } = useStore();
  const [mode, setMode] = useState<'open' | 'new'>();
  const [path, setPath] = useState('');
  const go = () => {
    if (!path.trim()) return;
    void (mode === 'new' ? create(path.trim()) : open(path.trim()));
    setMode(undefined);
  };
  const show = (m: 'open' | 'new') => {
    setMode(m);
    setPath(m === 'open' ? (project?.dir ?? '') : '');
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter') go();
    if (e.key === 'Escape') setMode(undefined);
  };
  return (
    <div className="project-menu">
      <button onClick={() => show('new')}>New…</button>
      <button onClick={() => show('open')}>Open…</button>
      {mode && (
        <div role="dialog" aria-label={mode === 'new' ? 'New project' : 'Open project'} className="dialog">
          <label>
            {mode === 'new' ? 'Folder for the new project' : 'Project folder (or its scratchyard.yaml)'}
            <input autoFocus value={path} onChange={(e) => setPath(e.target.value)} onKeyDown={onKey} />
          </label>
          <button onClick={go}>{mode === 'new' ? 'Create' : 'Open'}</button>
          <button onClick={() => setMode(undefined)}>Cancel</button>
        </div>
      )}
    </div>
  );
}
