// The window: actions on top (one row; the less used in a menu), the layer
// stack on the left, the views in the middle, and a dock below for the build
// log, terminals and run results that never takes more than half the window.
import { useEffect, useRef, useState, type ReactNode, type RefObject } from 'react';
import { layerColour } from './treemap';
import { engineBlocked, useStore, type Tab } from './store';
import { ConnectionBanner } from './views/ConnectionBanner';
import { StartScreen } from './views/StartScreen';
import { Explorer } from './views/Explorer';
import { SourceForm } from './views/SourceForm';
import { RunEverywhereButton, RunnerButtons, VmConsoleButton } from './views/RunResults';
import { create } from 'zustand';
import { Doctor, FileList, LayerDiff, Yaml } from './views/Panels';
import { Dock } from './views/Dock';
import { LockBadge, Packages } from './views/Packages';
import { bytes } from './format';
import { ComposeBar } from './views/ComposeBar';
import { isDirty, useCompose } from './compose';
import { LayerStack } from './views/LayerStack';
import { Palette } from './views/Palette';
import { Compare, Inspect, SizeMap } from './views/Inspect';
import { RunDialog, RunOptionsButton } from './views/RunDialog';
import { useRunOptions } from './runOptions';
import { rovingTarget } from './keys';
import { PushButton, PushDialog } from './views/PushDialog';
import { OpenImageDialog } from './views/OpenImageDialog';
import { FileDialog, nativePick } from './views/FileBrowser';

const TABS: [Tab, string][] = [
  ['explorer', 'Explorer'],
  ['diff', 'Layer diff'],
  ['filelist', 'File list'],
  ['inspect', 'Inspect'],
  ['sizemap', 'Size map'],
  ['compare', 'Compare'],
  ['source', 'Source'],
  ['yaml', 'YAML'],
  ['packages', 'Packages'],
  ['doctor', 'Doctor'],
];

export function App() {
  const s = useStore();
  const open = useStore((st) => st.open);
  useEffect(() => void open(), [open]);
  const ro = !!s.project?.readOnly;
  const tabs = TABS.filter(([t]) => !(ro && t === 'source')).map(([t, label]): [Tab, string] => [t, ro && t === 'yaml' ? 'Config' : label]);
  const tab = ro && s.tab === 'source' ? 'explorer' : s.tab;
  const blocked = engineBlocked(s);
  const locked = s.building || !!s.problems.length || ro || !!blocked;
  const buildButton = useRef<HTMLButtonElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  useKeepBuildFocus(s.building, buildButton, cancelButton);
  return (
    <div className={`app ${ro ? 'readonly-app' : ''}`}>
      <nav className="skip-links" aria-label="Skip links">
        <a href="#view">Skip to the view</a>
        <a href="#layers">Skip to the layers</a>
      </nav>
      <header>
        <h1>Scratchyard</h1>
        <span className="project" title={s.project?.dir}>
          {s.project?.name ?? 'no project'}
        </span>
        {!ro && <LockBadge />}
        <ProjectMenu />
        {s.opening && (
          <span role="status" className="muted opening">
            Opening {s.opening}…
          </span>
        )}
        {!ro && <ComposeBar />}
        <div className="actions">
          <div className="group" role="group" aria-label="Build">
            <button ref={buildButton} onClick={() => void (isDirty() ? useCompose.getState().save() : s.runBuild())} disabled={locked} title={blocked} accessKey="b">
              Build
            </button>
            <button ref={cancelButton} onClick={() => void s.cancel()} disabled={!s.building || !!blocked} title={blocked}>
              Cancel
            </button>
          </div>
          {!ro && (
            <>
              <div className="group" role="group" aria-label="Run the image">
                <span className="group-label" aria-hidden="true">Run in</span>
                <button aria-label="Run in chroot" onClick={() => void useRunOptions.getState().run('chroot')} disabled={locked} title={blocked}>
                  chroot
                </button>
                <RunnerButtons />
                <RunOptionsButton />
              </div>
              <button aria-label="Open shell" title={blocked ?? 'A shell in a chroot of the image'} onClick={() => void s.startRun('shell')} disabled={locked}>
                shell
              </button>
              <MoreMenu>
                <button onClick={() => useProjectDialog.getState().ask('new')}>New…</button>
                <RunEverywhereButton />
                <VmConsoleButton />
                <PushButton />
              </MoreMenu>
            </>
          )}
        </div>
      </header>
      <ConnectionBanner />
      {!ro && <RunDialog />}
      {!ro && <PushDialog />}
      {s.error && (
        <div role="alert" className="banner">
          {s.error} <button onClick={() => s.setError(undefined)}>Dismiss</button>
        </div>
      )}
      {ro && <ReadOnlyBanner />}
      <aside className="side" id="layers" tabIndex={-1}>
        {ro ? (
          <ImageLayers />
        ) : (
          <>
            <LayerStack />
            <Palette />
          </>
        )}
      </aside>
      <main>
        <StartScreen />
        <div role="tablist" aria-label="Views" className="tabs">
          {tabs.map(([t, label], i) => (
            <button
              key={t}
              id={`view-tab-${t}`}
              role="tab"
              aria-selected={tab === t}
              aria-controls="view"
              tabIndex={tab === t ? 0 : -1}
              className={tab === t ? 'on' : ''}
              onClick={() => s.setTab(t)}
              onKeyDown={(e) => {
                // One tab stop: the arrows, Home and End choose the view (WAI-ARIA tabs, automatic activation).
                const next = rovingTarget(e.key, i, tabs.length, 'horizontal');
                if (next === undefined) return;
                e.preventDefault();
                s.setTab(tabs[next][0]);
                document.getElementById(`view-tab-${tabs[next][0]}`)?.focus();
              }}
            >
              {label}
              {t === 'yaml' && s.problems.length ? ' ⚠' : ''}
            </button>
          ))}
        </div>
        <div role="tabpanel" className="view" id="view" tabIndex={-1} aria-labelledby={`view-tab-${tab}`}>
          {tab === 'explorer' && <Explorer />}
          {tab === 'diff' && <LayerDiff />}
          {tab === 'filelist' && <FileList />}
          {tab === 'inspect' && <Inspect />}
          {tab === 'sizemap' && <SizeMap />}
          {tab === 'compare' && <Compare />}
          {tab === 'source' && <SourceForm />}
          {tab === 'yaml' && (ro ? <ImageConfig /> : <Yaml />)}
          {tab === 'packages' && <Packages />}
          {tab === 'doctor' && <Doctor />}
        </div>
      </main>
      {/* An opened image is never built or run here: its room goes to the views. */}
      {!ro && <Dock />}
    </div>
  );
}

/** Less-used actions, so the header stays one row at 1024 px: a menu that closes on Escape, on a click outside and after an action. */
function MoreMenu({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    // Keyboard users land in the menu, on its first action that can be used.
    box.current?.querySelector<HTMLButtonElement>('.more-menu button:not(:disabled)')?.focus();
    const away = (e: MouseEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [open]);
  return (
    <div className="more" ref={box}>
      <button ref={button} aria-label="More actions" title="More actions" aria-haspopup="true" aria-expanded={open} onClick={() => setOpen(!open)}>
        ⋯
      </button>
      {open && (
        <div
          role="group"
          aria-label="More actions"
          className="more-menu"
          onClick={(e) => (e.target as HTMLElement).closest('button') && setOpen(false)}
          onKeyDown={(e) => {
            if (e.key !== 'Escape') return;
            setOpen(false);
            button.current?.focus();
          }}
        >
          {children}
        </div>
      )}
    </div>
  );
}

const MENU = {
  new: { title: 'New project', label: 'Folder for the new project', go: 'Create', pick: 'folder' },
  open: { title: 'Open project', label: 'Project folder (or its scratchyard.yaml)', go: 'Open', pick: 'project' },
} as const;

type MenuMode = 'open' | 'new' | 'image';
/** Which of New / Open / Open image is asking for a path: New… sits in the ⋯ menu of a project. */
const useProjectDialog = create<{ mode?: MenuMode; ask(m: MenuMode | undefined): void }>((set) => ({ ask: (mode) => set({ mode }) }));

/** The folder a path is in (a reference such as docker-daemon:… has none). */
const folderOf = (p: string | undefined) => (p?.startsWith('/') ? p.replace(/\/[^/]*\/?$/, '') || '/' : undefined);

/** New / Open / Open image: Electron's native dialog when there is one, else the file browser over the host's folders. */
function ProjectMenu() {
  const blocked = useStore(engineBlocked);
  const { open, create, project } = useStore();
  const { mode: asked, ask } = useProjectDialog();
  const [mode, setModeNow] = useState<MenuMode>();
  const setMode = (m: MenuMode | undefined) => {
    setModeNow(m);
    if (asked) ask(undefined);
  };
  const go = (m: 'open' | 'new', p: string) => void (m === 'new' ? create(p) : open(p));
  const here = project?.readOnly ? undefined : project?.dir;
  const show = async (m: MenuMode) => {
    if (m !== 'image') {
      const picked = await nativePick({ title: MENU[m].title, kind: 'folder', create: m === 'new', ...(here ? { defaultPath: here } : {}) });
      if (picked !== undefined) return void (picked && go(m, picked));
    }
    setMode(m);
  };
  useEffect(() => {
    if (asked) void show(asked);
  }, [asked]);
  return (
    <div className="project-menu">
      {project?.readOnly && <button onClick={() => void show('new')} disabled={!!blocked} title={blocked}>New…</button>}
      <button onClick={() => void show('open')} disabled={!!blocked} title={blocked}>Open…</button>
      <button onClick={() => void show('image')} disabled={!!blocked} title={blocked}>Open image…</button>
      {mode === 'image' && <OpenImageDialog initial={project?.readOnly ? (project.image ?? '') : ''} onClose={() => setMode(undefined)} />}
      {mode && mode !== 'image' && (
        <FileDialog
          title={MENU[mode].title}
          label={MENU[mode].label}
          goLabel={MENU[mode].go}
          pick={MENU[mode].pick}
          // Open starts in the project; New beside it.
          initial={mode === 'open' ? (here ?? '') : ''}
          start={mode === 'open' ? here : folderOf(here)}
          allowMissing={mode === 'new'}
          onGo={(p) => go(mode, p)}
          onClose={() => setMode(undefined)}
        />
      )}
    </div>
  );
}

/** An opened image: read-only, with the way to make a project of it and the way back. */
function ReadOnlyBanner() {
  const { project, useAsBase, open } = useStore();
  const [asking, setAsking] = useState(false);
  if (!project?.image) return null;
  const image = project.image;
  const ask = async () => {
    const picked = await nativePick({ title: 'Folder for a project on this image', kind: 'folder', create: true, ...(folderOf(image) ? { defaultPath: folderOf(image) } : {}) });
    if (picked === undefined) setAsking(true);
    else if (picked) void useAsBase(image, picked);
  };
  return (
    <div className="readonly" role="region" aria-label="Opened image">
      <span>
        <b>Read-only</b> · {project.image} · {project.layers.length} layer{project.layers.length === 1 ? '' : 's'}
      </span>
      <button onClick={() => void ask()}>Use as base</button>
      <button onClick={() => void open()}>Back to the project</button>
      {asking && (
        <FileDialog
          title="Use as base"
          label="Folder for a new project on this image (its layers as they are, pinned by digest)"
          goLabel="Create project"
          pick="folder"
          start={folderOf(image)}
          allowMissing
          onGo={(dir) => void useAsBase(image, dir)}
          onClose={() => setAsking(false)}
        />
      )}
    </div>
  );
}

/** The layers of an opened image, bottom last, as the stack shows a project's: each by the command that made it. */
function ImageLayers() {
  const { project, layer, setLayer, build } = useStore();
  if (!project) return null;
  const figures = new Map(build?.layers.map((l) => [l.name, l]));
  return (
    <nav className="layer-stack">
      <div className="stack-head">
        <h2>Layers</h2>
      </div>
      <button className={`layer-pick ${layer === null ? 'on' : ''}`} onClick={() => setLayer(null)}>
        Whole image
      </button>
      <ol role="list" aria-label="Layers" reversed className="layers">
        {project.layers
          .map((l, i) => ({ l, i }))
          .reverse()
          .map(({ l, i }) => {
            const f = figures.get(l.name);
            return (
              <li key={l.name} aria-label={`Layer ${l.name}`} className={`image-layer ${layer === l.name ? 'on' : ''}`}>
                <span className="swatch" style={{ background: layerColour(i) }} aria-hidden />
                <button className="layer-pick" onClick={() => setLayer(l.name)} aria-pressed={layer === l.name} title={`${f?.label ?? l.name}\n${f?.digest ?? ''}`}>
                  <span className="layer-label">{f?.label ?? l.name}</span>
                </button>
                {f && (
                  <span className="layer-figures muted">
                    #{i + 1} · {bytes(f.size)} · {f.files} file{f.files === 1 ? '' : 's'}
                  </span>
                )}
              </li>
            );
          })}
      </ol>
    </nav>
  );
}

function ImageConfig() {
  const { yaml } = useStore();
  return (
    <div className="yaml">
      <p className="muted">The image's config, as its archive holds it (read-only).</p>
      <textarea aria-label="Image config" readOnly spellCheck={false} value={yaml} />
    </div>
  );
}

/**
 * Focus stays on the Build / Cancel pair: a Build pressed from the keyboard
 * disables itself, so focus moves to Cancel while it runs and back to Build
 * after (only when it was on one of them: a user elsewhere is not pulled away).
 */
function useKeepBuildFocus(building: boolean, build: RefObject<HTMLButtonElement | null>, cancel: RefObject<HTMLButtonElement | null>): void {
  const held = useRef(false);
  useEffect(() => {
    const active = document.activeElement;
    const onPair = active === build.current || active === cancel.current || (held.current && (active === document.body || active === null));
    if (!onPair) {
      held.current = false;
      return;
    }
    held.current = true;
    const target = building ? cancel.current : build.current;
    // After React has applied `disabled`.
    requestAnimationFrame(() => target?.focus());
  }, [building, build, cancel]);
}
