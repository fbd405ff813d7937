// The window's state. Actions talk to the engine through the contract; views
// only read from here and call actions.
import { create } from 'zustand';
import type { EngineEvent, Problem, ProjectInfo, Response, TreeRow } from '../../shared/contract';
import { api } from './api';
import { layersOf } from './recipeText';

export type Tab = 'explorer' | 'diff' | 'filelist' | 'inspect' | 'sizemap' | 'compare' | 'source' | 'yaml' | 'doctor';
export type NodeView = { id: string; label: string; state: 'running' | 'cached' | 'done' | 'failed'; ms?: number; detail?: string; progress?: number };
export type WarningView = Omit<Extract<EngineEvent, { event: 'build.warning' }>, 'event'>;
export type RunView = { id: string; kind: 'run' | 'shell'; title: string; code?: number; ms?: number };

interface State {
  project?: ProjectInfo;
  yaml: string;
  /** The last text that parsed as YAML; while `stale`, the layer stack shows its layers (dimmed). */
  lastGoodYaml: string;
  /** The text does not parse as YAML now. */
  stale: boolean;
  problems: Problem[];
  error?: string;
  tab: Tab;
  building: boolean;
  plan: number;
  nodes: NodeView[];
  /** What the host sources of the last build brought that the recipe may not mean to. */
  warnings: WarningView[];
  build?: Response<'build.start'>;
  /** null: the merged image. */
  layer: string | null;
  rows: Record<string, TreeRow[]>;
  expanded: Record<string, boolean>;
  selected?: string;
  /** An image being opened (reading a large archive takes seconds). */
  opening?: string;
  /** A path the explorer should scroll to once its row is loaded (a size-map click). */
  reveal?: string;
  runs: RunView[];
  activeRun?: string;
  /** [layer index, source index] edited in the Source tab. */
  selectedSource?: [number, number];

  open(path?: string): Promise<void>;
  /** Open an image read-only (issue 6); open() returns to the project. */
  openImage(path: string): Promise<void>;
  /** "Use as base": a new project in `dir` made of the opened image's layers. */
  useAsBase(image: string, dir: string): Promise<void>;
  /** Show a path in the explorer: its layer view, its folders expanded, it selected. */
  showInExplorer(path: string, layer: string | null): Promise<void>;
  create(path: string): Promise<void>;
  editYaml(text: string): Promise<void>;
  save(): Promise<void>;
  runBuild(): Promise<void>;
  cancel(): Promise<void>;
  setTab(t: Tab): void;
  setLayer(l: string | null): void;
  loadDir(dir: string): Promise<void>;
  toggle(dir: string): Promise<void>;
  select(path: string): void;
  startRun(kind: 'run' | 'shell'): Promise<void>;
  setError(e?: string): void;
  selectSource(layer: number, source: number): void;
}

const key = (layer: string | null, dir: string) => `${layer ?? ''}\0${dir}`;

/** The text, and the last good one: a syntax error keeps the last good text's layer stack on screen. */
function withText(text: string): Pick<State, 'yaml' | 'stale'> & Partial<Pick<State, 'lastGoodYaml'>> {
  return layersOf(text) ? { yaml: text, stale: false, lastGoodYaml: text } : { yaml: text, stale: true };
}

export const useStore = create<State>((set, get) => ({
  yaml: '',
  lastGoodYaml: '',
  stale: false,
  problems: [],
  tab: 'explorer',
  building: false,
  plan: 0,
  nodes: [],
  warnings: [],
  layer: null,
  rows: {},
  expanded: { '/': true },
  runs: [],

  async open(path) {
    await showProject(() => api.request({ cmd: 'project.open', path }));
  },

  async openImage(path) {
    set({ opening: path });
    try {
      const { build, ...project } = await api.request({ cmd: 'image.open', path });
      useStore.setState({ project, ...withText(project.text), problems: [], build, rows: {}, nodes: [], error: undefined, selectedSource: undefined, selected: undefined, layer: null, expanded: { '/': true }, tab: 'inspect' });
      await get().loadDir('/');
    } catch (e) {
      set({ error: (e as Error).message });
    } finally {
      set({ opening: undefined });
    }
  },

  async useAsBase(image, dir) {
    await showProject(() => api.request({ cmd: 'project.fromImage', image, dir }));
  },

  async showInExplorer(path, layer) {
    if (get().layer !== layer) set({ layer, rows: {}, expanded: { '/': true } });
    const parts = path.split('/').filter(Boolean);
    const dirs = ['/', ...parts.slice(0, -1).map((_, i) => '/' + parts.slice(0, i + 1).join('/'))];
    set((s) => ({ expanded: { ...s.expanded, ...Object.fromEntries(dirs.map((d) => [d, true])) }, selected: path, reveal: path, tab: 'explorer' }));
    for (const d of dirs) if (!rowsOf(get(), d)) await get().loadDir(d);
  },

  async create(path) {
    await showProject(() => api.request({ cmd: 'project.new', path }));
  },

  async editYaml(text) {
    set(withText(text));
    const { problems } = await api.request({ cmd: 'project.validate', text });
    if (get().yaml === text) set({ problems });
  },

  async save() {
    const project = await api.request({ cmd: 'project.save', text: get().yaml });
    set({ problems: project.problems, ...(project.problems.length ? {} : { project }) });
  },

  async runBuild() {
    if (get().building) return;
    set({ building: true, nodes: [], warnings: [], plan: 0, error: undefined });
    try {
      const build = await api.request({ cmd: 'build.start' });
      set({ build, rows: {}, error: build.ok ? undefined : build.error });
      if (build.ok) await get().loadDir('/');
    } catch (e) {
      set({ error: (e as Error).message });
    } finally {
      set({ building: false });
    }
  },

  async cancel() {
    await api.request({ cmd: 'build.cancel' });
  },

  setTab(tab) {
    set({ tab });
  },

  setLayer(layer) {
    set({ layer, selected: undefined, expanded: { '/': true } });
    if (get().build?.ok) void get().loadDir('/');
  },

  async loadDir(dir) {
    // Page by page: the first rows show at once, no message carries a whole large folder.
    const { layer } = get();
    let rows: TreeRow[] = [];
    for (let offset = 0; ; ) {
      const page = await api.request({ cmd: 'tree.page', layer, dir, offset, limit: offset === 0 ? 200 : 2000 });
      if (get().layer !== layer) return;
      rows = [...rows, ...page.rows];
      set((s) => ({ rows: { ...s.rows, [key(layer, dir)]: rows } }));
      offset += page.rows.length;
      if (offset >= page.total || page.rows.length === 0) break;
    }
  },

  async toggle(dir) {
    const open = !get().expanded[dir];
    set((s) => ({ expanded: { ...s.expanded, [dir]: open } }));
    if (open && !get().rows[key(get().layer, dir)]) await get().loadDir(dir);
  },

  select(path) {
    set({ selected: path });
  },

  async startRun(kind) {
    try {
      const { id } = kind === 'run' ? await api.request({ cmd: 'run.start', runner: 'chroot', args: [], cols: 100, rows: 20 }) : await api.request({ cmd: 'shell.start', cols: 100, rows: 20 });
      set((s) => ({ runs: [...s.runs, { id, kind, title: kind === 'run' ? 'Run: chroot' : 'Shell' }], activeRun: id }));
    } catch (e) {
      set({ error: (e as Error).message });
    }
  },

  setError(error) {
    set({ error });
  },

  selectSource(layer, source) {
    set({ selectedSource: [layer, source], tab: 'source' });
  },
}));

/** A newly opened or created project replaces everything shown of the last one. */
async function showProject(load: () => Promise<ProjectInfo>): Promise<void> {
  try {
    const project = await load();
    useStore.setState({ project, ...withText(project.text), lastGoodYaml: project.text, problems: project.problems, build: undefined, rows: {}, nodes: [], error: undefined, selectedSource: undefined, selected: undefined, layer: null, expanded: { '/': true } });
  } catch (e) {
    useStore.setState({ error: (e as Error).message });
  }
}

export function rowsOf(s: Pick<State, 'rows' | 'layer'>, dir: string): TreeRow[] | undefined {
  return s.rows[key(s.layer, dir)];
}

api.onEvent((e) => {
  if (e.event === 'build.plan') useStore.setState({ plan: e.nodes });
  if (e.event === 'build.node') {
    useStore.setState((s) => {
      const node = { id: e.id, label: e.label, state: e.state, ms: e.ms, detail: e.detail, progress: e.progress };
      const i = s.nodes.findIndex((n) => n.id === e.id);
      return { nodes: i === -1 ? [...s.nodes, node] : s.nodes.map((n, j) => (j === i ? node : n)) };
    });
  }
  if (e.event === 'build.warning') {
    const { event: _, ...w } = e;
    useStore.setState((s) => ({ warnings: [...s.warnings, w] }));
  }
  if (e.event === 'term.exit') useStore.setState((s) => ({ runs: s.runs.map((r) => (r.id === e.id ? { ...r, code: e.code, ms: e.ms } : r)) }));
});
