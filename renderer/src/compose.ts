// Composing: every change of the recipe text goes through the history (forms,
// the YAML tab and the palette alike), Save writes the file and rebuilds (the
// engine's cache re-runs only the nodes whose inputs changed), and drops from
// the palette or the desktop become sources.
import { create } from 'zustand';
import { api } from './api';
import { canRedo, canUndo, LIMIT, record, redo, seal, startHistory, undo, type History } from './history';
import { addStage, defaultSource, IMAGE, insertSource, insideProject, NEW_STAGE } from './recipeEdits';
import { layersOf, stagesOf, type SourceValues } from './recipeText';
import { useStore } from './store';

export type DropMode = 'copy' | 'reference';

/** A file or folder dropped from the desktop: its files, relative to its parent, and its host path when the shell knows it. */
export interface Dropped {
  name: string;
  folder: boolean;
  files: { path: string; file: File }[];
  hostPath?: string;
}

interface Compose {
  history: History;
  dropMode: DropMode;
  notice?: string;
  /** Counts the sources added from the palette: the source form takes focus once for each (issue 15, point 9). */
  formFocus: number;
  /** Apply an edit of the text; an edit that throws shows its message. */
  apply(edit: (text: string) => string): void;
  /**
   * A new text from a field being edited (a form field, a line of the YAML):
   * changes with the same `group` in a row are one undo step, until seal().
   */
  edit(text: string, group: string): void;
  /** The field edit under way ended (focus left the field). */
  seal(): void;
  undo(): void;
  redo(): void;
  save(): Promise<void>;
  setDropMode(m: DropMode): void;
  dropPalette(id: string, layer: number, folder?: string): void;
  dropFiles(items: Dropped[], layer: number, folder?: string): Promise<void>;
  setNotice(n?: string): void;
}

/** The group of the edit() under way: the history subscription below reads it as the store's text changes. */
let pendingGroup: string | undefined;

const modeKey = (dir: string) => `scratchyard.dropMode:${dir}`;

function storedMode(dir?: string): DropMode {
  try {
    return dir && localStorage.getItem(modeKey(dir)) === 'reference' ? 'reference' : 'copy';
  } catch {
    return 'copy';
  }
}

const join = (folder: string, name: string) => (folder === '/' ? `/${name}` : `${folder.replace(/\/+$/, '')}/${name}`);

async function base64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export const useCompose = create<Compose>((set, get) => ({
  history: startHistory(''),
  dropMode: 'copy',
  formFocus: 0,

  apply(edit) {
    const { yaml, editYaml } = useStore.getState();
    try {
      void editYaml(edit(yaml));
    } catch (e) {
      set({ notice: (e as Error).message });
    }
  },

  edit(text, group) {
    pendingGroup = group;
    try {
      void useStore.getState().editYaml(text);
    } finally {
      pendingGroup = undefined;
    }
  },

  seal() {
    const h = seal(get().history);
    if (h !== get().history) set({ history: h });
  },

  undo() {
    const h = undo(get().history);
    if (h === get().history) return;
    set({ history: h });
    void useStore.getState().editYaml(h.present);
  },

  redo() {
    const h = redo(get().history);
    if (h === get().history) return;
    set({ history: h });
    void useStore.getState().editYaml(h.present);
  },

  async save() {
    // Written as it stands: edits already touched only their own lines.
    const text = useStore.getState().yaml;
    await useStore.getState().save();
    const after = useStore.getState();
    if (after.problems.length || after.project?.text !== text) return;
    // Saved: rebuild. Unchanged nodes come from the cache, so this costs what the edit changed.
    await after.runBuild();
    const { expanded, loadDir, build } = useStore.getState();
    if (build?.ok) await Promise.all(Object.keys(expanded).filter((d) => d !== '/' && expanded[d]).map((d) => loadDir(d)));
  },

  setDropMode(dropMode) {
    set({ dropMode });
    const dir = useStore.getState().project?.dir;
    try {
      if (dir) localStorage.setItem(modeKey(dir), dropMode);
    } catch {
      // No storage (a locked-down profile): the choice lasts this session.
    }
  },

  dropPalette(id, layer, folder) {
    if (id === NEW_STAGE) {
      get().apply((t) => addStage(t).text);
      return;
    }
    if (id === IMAGE) {
      dropImage();
      return;
    }
    const stage = stagesOf(useStore.getState().yaml)[0];
    let source: SourceValues;
    try {
      source = defaultSource(id, folder ?? '/', stage ?? 'tools');
    } catch (e) {
      set({ notice: (e as Error).message });
      return;
    }
    get().apply((t) => {
      // A stage-related kind with no stage yet brings one along.
      const withStage = (id === 'copy-stage' || id === 'run-mount') && !stage ? addStage(t).text : t;
      return insertSource(withStage, layer, source);
    });
    openLast(layer);
  },

  async dropFiles(items, layer, folder = '/') {
    const { project } = useStore.getState();
    if (!project || !items.length) return;
    const mode = get().dropMode;
    const sources: SourceValues[] = [];
    const toSend: Dropped[] = [];
    const notes: string[] = [];
    for (const it of items) {
      const rel = mode === 'reference' && it.hostPath ? insideProject(project.dir, it.hostPath) : undefined;
      if (rel) {
        sources.push({ kind: 'copy', src: rel, dest: join(folder, it.name) });
        continue;
      }
      if (!it.files.length) {
        notes.push(`${it.name} left out: an empty folder`);
        continue;
      }
      if (mode === 'reference') notes.push(`${it.name} copied into the project: ${it.hostPath ? 'it is outside the project folder' : 'no host path in browser mode'}`);
      toSend.push(it);
    }
    try {
      if (toSend.length) {
        const files = await Promise.all(toSend.flatMap((it) => it.files.map(async (f) => ({ path: f.path, base64: await base64(f.file) }))));
        const { added } = await api.request({ cmd: 'project.addFiles', files });
        for (const it of toSend) {
          const to = added.find((a) => a.from === it.name)?.to ?? it.name;
          sources.push({ kind: 'copy', src: to, dest: join(folder, it.name) });
        }
      }
    } catch (e) {
      set({ notice: `could not add the dropped files: ${(e as Error).message}` });
      return;
    }
    if (sources.length) {
      get().apply((t) => sources.reduce((acc, s) => insertSource(acc, layer, s), t));
      openLast(layer);
    }
    set({ notice: notes.length ? `${notes.join('; ')}.` : undefined });
  },

  setNotice(notice) {
    set({ notice });
  },
}));

/**
 * A base image goes where the recipe accepts it, wherever it was dropped: the
 * first source of the first layer (its layers are the bottom of the stack).
 */
function dropImage(): void {
  const first = layersOf(useStore.getState().yaml)?.[0];
  if (!first) return useCompose.getState().setNotice('add a layer first: an image source is the first source of the first layer');
  if (first.sources[0]?.kind === 'image') {
    useStore.getState().selectSource(0, 0);
    return useCompose.getState().setNotice(`${first.name} already starts from an image: edit its ref`);
  }
  // Said first: a failed edit's own notice replaces it.
  useCompose.getState().setNotice(`image added first in ${first.name}: a base image is the bottom`);
  useCompose.getState().apply((t) => insertSource(t, 0, defaultSource(IMAGE), 0));
  useStore.getState().selectSource(0, 0);
}

/** Open the form of the source just added at the end of a layer. */
function openLast(layer: number): void {
  const n = layersOf(useStore.getState().yaml)?.[layer]?.sources.length ?? 0;
  if (!n) return;
  useStore.getState().selectSource(layer, n - 1);
  useCompose.setState((c) => ({ formFocus: c.formFocus + 1 }));
}

/** Where a drop on the explorer lands: the layer being viewed, else the top layer. */
export function targetLayer(): number {
  const { yaml, layer } = useStore.getState();
  const layers = layersOf(yaml) ?? [];
  const i = layer === null ? -1 : layers.findIndex((l) => l.name === layer);
  return i === -1 ? layers.length - 1 : i;
}

/** The explorer folder selected now, if any: where a palette item added by keyboard lands. */
export function selectedFolder(): string | undefined {
  const { selected, rows } = useStore.getState();
  if (!selected) return undefined;
  for (const list of Object.values(rows)) for (const r of list) if (r.path === selected) return r.type === 'dir' ? r.path : undefined;
  return undefined;
}

export const isDirty = () => {
  const { yaml, project } = useStore.getState();
  return !!project && yaml !== project.text;
};
export { canRedo, canUndo };

// Every change of the text is a step, whoever made it (a field's run of changes
// one step); opening another project starts afresh.
useStore.subscribe((s, prev) => {
  const h = useCompose.getState().history;
  if (s.project?.file !== prev.project?.file) {
    useCompose.setState({ history: startHistory(s.yaml), dropMode: storedMode(s.project?.dir) });
    return;
  }
  if (s.yaml !== prev.yaml && s.yaml !== h.present) useCompose.setState({ history: record(h, s.yaml, LIMIT, pendingGroup) });
});
