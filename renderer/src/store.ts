// The window's state: one zustand store made of slices (project, build,
// explorer, runs, connection) over an injected engine API, so tests and other
// windows can make their own (createStore(api)). Views only read from here and
// call actions; replies that a newer request overtook are dropped (latest.ts).
import { create, type StateCreator, type StoreApi, type UseBoundStore } from 'zustand';
import type { BuildRecord, BuildReply, Connection, EngineApi, EngineEvent, PlanNode, Problem, ProjectInfo, Response, TreeRow } from '../../shared/contract';
import { api as defaultApi } from './api';
import { summaryLine } from './buildSummary';
import { latestRequests, STALE } from './state/latest';
import { layersOf } from './recipeText';
import { writeTerminal } from './terminals';

/** The text, and the last good one: a syntax error keeps the last good text's layer stack on screen. */
function withText(text: string): { yaml: string; stale: boolean; lastGoodYaml?: string } {
  return layersOf(text) ? { yaml: text, stale: false, lastGoodYaml: text } : { yaml: text, stale: true };
}

export type Tab = 'explorer' | 'diff' | 'filelist' | 'inspect' | 'sizemap' | 'compare' | 'source' | 'yaml' | 'packages' | 'doctor';
/** A node as it last reported; `at`: when it ended (the window's clock). */
export type NodeView = { id: string; label: string; state: 'running' | 'cached' | 'done' | 'failed'; ms?: number; detail?: string; progress?: number };
export type WarningView = Omit<Extract<EngineEvent, { event: 'build.warning' }>, 'event'>;
export type RunView = { id: string; kind: 'run' | 'shell'; title: string; code?: number; ms?: number };

interface ProjectSlice {
  project?: ProjectInfo;
  yaml: string;
  /** The last text that parsed as YAML; while `stale`, the layer stack shows its layers (dimmed). */
  lastGoodYaml: string;
  /** The text does not parse as YAML now. */
  stale: boolean;
  problems: Problem[];
  error?: string;
  tab: Tab;
  /** An image being opened (reading a large archive takes seconds). */
  opening?: string;
  /** [layer index, source index] edited in the Source tab. */
  selectedSource?: [number, number];
  recent?: Response<'recent.list'>;
  open(path?: string): Promise<void>;
  /** Open an image read-only (issue 6); open() returns to the project. */
  openImage(path: string): Promise<void>;
  /** "Use as base": a new project in `dir` made of the opened image's layers. */
  useAsBase(image: string, dir: string): Promise<void>;
  create(path: string): Promise<void>;
  editYaml(text: string): Promise<void>;
  save(): Promise<void>;
  setTab(t: Tab): void;
  setError(e?: string): void;
  selectSource(layer: number, source: number): void;
  loadRecent(): Promise<void>;
}

interface BuildSlice {
  building: boolean;
  plan: number;
  /** The graph the running (or last) build planned: drawn with the nodes' states; empty before a build. */
  graph: PlanNode[];
  /** The shown build's time as the engine measured it (the summary's figure), once it has ended. */
  graphMs?: number;
  nodes: NodeView[];
  /** What the host sources of the last build brought that the recipe may not mean to. */
  warnings: WarningView[];
  /** The build shown: this window's last, or the one restored from the history (`restored`). */
  build?: BuildReply;
  /** The project's builds, newest first. */
  history: BuildRecord[];
  runBuild(): Promise<void>;
  /** Show a finished build (this window's, or one a run built first): the summary, the history, the tree. */
  showBuild(build: BuildReply): Promise<void>;
  cancel(): Promise<void>;
  loadHistory(): Promise<void>;
}

interface ExplorerSlice {
  /** null: the merged image. */
  layer: string | null;
  rows: Record<string, TreeRow[]>;
  expanded: Record<string, boolean>;
  selected?: string;
  /** A path the explorer should scroll to once its row is loaded (a size-map click). */
  reveal?: string;
  /** Show a path in the explorer: its layer view, its folders expanded, it selected. */
  showInExplorer(path: string, layer: string | null): Promise<void>;
  setLayer(l: string | null): void;
  loadDir(dir: string): Promise<void>;
  toggle(dir: string): Promise<void>;
  select(path: string): void;
}

interface RunsSlice {
  runs: RunView[];
  activeRun?: string;
  startRun(kind: 'run' | 'shell'): Promise<void>;
}

interface ConnectionSlice {
  connection: Connection;
  reconnect(): void;
}

export type State = ProjectSlice & BuildSlice & ExplorerSlice & RunsSlice & ConnectionSlice;
type Slice<T> = StateCreator<State, [], [], T>;

const key = (layer: string | null, dir: string) => `${layer ?? ''}\0${dir}`;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Why an action that needs the engine cannot run now, or undefined when it can. */
export function engineBlocked(s: Pick<State, 'connection'>): string | undefined {
  if (s.connection.state === 'lost') return `Not connected to the engine: ${s.connection.reason}. Reconnect first.`;
  if (s.connection.state === 'connecting') return 'Connecting to the engine…';
  return undefined;
}

/** A restored build's graph as it ran, with the build's time. */
function drawnRecord(record: BuildRecord | undefined): Pick<State, 'graph' | 'nodes' | 'graphMs'> {
  if (!record?.graph?.length) return { graph: [], nodes: [], graphMs: undefined };
  return { graph: record.graph, nodes: record.nodes ?? [], graphMs: record.ms };
}

export function createStore(api: EngineApi): UseBoundStore<StoreApi<State>> {
  const latest = latestRequests();

  /** A newly opened or created project replaces everything shown of the last one; its last build shows at once. */
  async function showProject(load: () => Promise<ProjectInfo>): Promise<void> {
    latest.invalidate('');
    try {
      const { lastBuild, ...project } = await load();
      store.setState({ project, ...withText(project.text), lastGoodYaml: project.text, problems: project.problems, build: lastBuild, history: [], rows: {}, ...drawnRecord(lastBuild?.record), error: undefined, selectedSource: undefined, selected: undefined, layer: null, expanded: { '/': true } });
      if (lastBuild?.ok) await store.getState().loadDir('/');
      void store.getState().loadHistory();
    } catch (e) {
      store.setState({ error: message(e) });
    }
  }

  const projectSlice: Slice<ProjectSlice> = (set, get) => ({
    yaml: '',
    lastGoodYaml: '',
    stale: false,
    problems: [],
    tab: 'explorer',
    async open(path) {
      await showProject(() => api.request({ cmd: 'project.open', path }));
    },
    async openImage(path) {
      latest.invalidate('');
      set({ opening: path });
      try {
        const { build, ...project } = await api.request({ cmd: 'image.open', path });
        set({ project, ...withText(project.text), problems: [], build, history: [], rows: {}, nodes: [], graph: [], error: undefined, selectedSource: undefined, selected: undefined, layer: null, expanded: { '/': true }, tab: 'inspect' });
        await get().loadDir('/');
      } catch (e) {
        set({ error: message(e) });
      } finally {
        set({ opening: undefined });
      }
    },
    async useAsBase(image, dir) {
      await showProject(() => api.request({ cmd: 'project.fromImage', image, dir }));
    },
    async create(path) {
      await showProject(() => api.request({ cmd: 'project.new', path }));
    },
    async editYaml(text) {
      set(withText(text));
      const r = await latest.run('validate', () => api.request({ cmd: 'project.validate', text }));
      if (r !== STALE) set({ problems: r.problems });
    },
    async save() {
      const project = await api.request({ cmd: 'project.save', text: get().yaml });
      set({ problems: project.problems, ...(project.problems.length ? {} : { project }) });
    },
    setTab(tab) {
      set({ tab });
    },
    setError(error) {
      set({ error });
    },
    selectSource(layer, source) {
      set({ selectedSource: [layer, source], tab: 'source' });
    },
    async loadRecent() {
      const recent = await api.request({ cmd: 'recent.list' }).catch(() => undefined);
      if (recent) set({ recent });
    },
  });

  const buildSlice: Slice<BuildSlice> = (set, get) => ({
    building: false,
    plan: 0,
    graph: [],
    nodes: [],
    warnings: [],
    history: [],
    async runBuild() {
      if (get().building) return;
      const blocked = engineBlocked(get());
      if (blocked) return set({ error: blocked });
      latest.invalidate('tree');
      set({ building: true, nodes: [], graph: [], graphMs: undefined, warnings: [], plan: 0, error: undefined });
      // One separator per build: successive builds do not run together in the log.
      writeTerminal('build', `\r\n\x1b[2m──── build ${new Date().toLocaleTimeString()} ────\x1b[0m\r\n`);
      try {
        await get().showBuild(await api.request({ cmd: 'build.start' }));
      } catch (e) {
        set({ error: message(e) });
      } finally {
        set({ building: false });
      }
    },
    async showBuild(build) {
      set({ build, rows: {}, error: build.ok ? undefined : build.error, graphMs: build.record?.ms });
      if (build.record) writeTerminal('build', `\x1b[1m${summaryLine(build.record, Date.now(), get().project?.dir)}\x1b[0m\r\n`);
      void get().loadHistory();
      if (build.ok) await get().loadDir('/');
    },
    async cancel() {
      await api.request({ cmd: 'build.cancel' }).catch((e: unknown) => set({ error: message(e) }));
    },
    async loadHistory() {
      if (get().project?.readOnly) return set({ history: [] });
      const r = await latest.run('history', () => api.request({ cmd: 'build.history' })).catch((): typeof STALE => STALE);
      if (r !== STALE) set({ history: r.records });
    },
  });

  const explorerSlice: Slice<ExplorerSlice> = (set, get) => ({
    layer: null,
    rows: {},
    expanded: { '/': true },
    async showInExplorer(path, layer) {
      if (get().layer !== layer) {
        latest.invalidate('tree');
        set({ layer, rows: {}, expanded: { '/': true } });
      }
      const parts = path.split('/').filter(Boolean);
      const dirs = ['/', ...parts.slice(0, -1).map((_, i) => '/' + parts.slice(0, i + 1).join('/'))];
      set((s) => ({ expanded: { ...s.expanded, ...Object.fromEntries(dirs.map((d) => [d, true])) }, selected: path, reveal: path, tab: 'explorer' }));
      for (const d of dirs) if (!rowsOf(get(), d)) await get().loadDir(d);
    },
    setLayer(layer) {
      latest.invalidate('tree');
      set({ layer, selected: undefined, expanded: { '/': true } });
      if (get().build?.ok) void get().loadDir('/');
    },
    async loadDir(dir) {
      // Page by page: the first rows show at once, no message carries a whole large folder.
      const { layer } = get();
      let rows: TreeRow[] = [];
      for (let offset = 0; ; ) {
        const page = await latest.run(`tree${key(layer, dir)}`, () => api.request({ cmd: 'tree.page', layer, dir, offset, limit: offset === 0 ? 200 : 2000 }));
        if (page === STALE) return;
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
  });

  const runsSlice: Slice<RunsSlice> = (set) => ({
    runs: [],
    async startRun(kind) {
      try {
        const { id } = kind === 'run' ? await api.request({ cmd: 'run.start', runner: 'chroot', args: [], cols: 100, rows: 20 }) : await api.request({ cmd: 'shell.start', cols: 100, rows: 20 });
        set((s) => {
          // Numbered from the second of a kind, so two tabs never read the same.
          const base = kind === 'run' ? 'Run: chroot' : 'Shell';
          const n = s.runs.filter((r) => r.kind === kind).length + 1;
          return { runs: [...s.runs, { id, kind, title: n === 1 ? base : `${base} ${n}` }], activeRun: id };
        });
      } catch (e) {
        set({ error: message(e) });
      }
    },
  });

  const connectionSlice: Slice<ConnectionSlice> = () => ({
    connection: api.onConnection ? { state: 'connecting' } : { state: 'connected' },
    reconnect() {
      api.reconnect?.();
    },
  });

  const store = create<State>()((...a) => ({ ...projectSlice(...a), ...buildSlice(...a), ...explorerSlice(...a), ...runsSlice(...a), ...connectionSlice(...a) }));

  api.onConnection?.((c) => {
    const was = store.getState().connection.state;
    // A lost engine answers nothing: a build in flight is over, whatever it was doing.
    store.setState(c.state === 'lost' ? { connection: c, building: false } : { connection: c });
    // Back after a loss: read the project and its last build again (the engine may have restarted).
    if (c.state === 'connected' && was !== 'connected' && store.getState().project) void reread();
  });

  async function reread(): Promise<void> {
    const { project } = store.getState();
    if (project?.readOnly && project.image) await store.getState().openImage(project.image);
    else await store.getState().open(project?.dir);
    await store.getState().loadRecent();
  }

  api.onEvent((e) => {
    // Sent again when a base image's layers become known: the same build, a fuller graph.
    if (e.event === 'build.plan') store.setState({ plan: e.nodes, graph: e.graph });
    if (e.event === 'build.node') {
      store.setState((s) => {
        const node = { id: e.id, label: e.label, state: e.state, ms: e.ms, detail: e.detail, progress: e.progress };
        const i = s.nodes.findIndex((n) => n.id === e.id);
        return { nodes: i === -1 ? [...s.nodes, node] : s.nodes.map((n, j) => (j === i ? node : n)) };
      });
    }
    if (e.event === 'build.warning') {
      const { event: _, ...w } = e;
      store.setState((s) => ({ warnings: [...s.warnings, w] }));
    }
    // A run or a comparison built the image first: the views show that build as if Build had been pressed.
    if (e.event === 'build.done' && !store.getState().building) {
      latest.invalidate('tree');
      void store.getState().showBuild(e.reply);
    }
    if (e.event === 'term.exit') store.setState((s) => ({ runs: s.runs.map((r) => (r.id === e.id ? { ...r, code: e.code, ms: e.ms } : r)) }));
  });

  return store;
}

export const useStore = createStore(defaultApi);

export function rowsOf(s: Pick<State, 'rows' | 'layer'>, dir: string): TreeRow[] | undefined {
  return s.rows[key(s.layer, dir)];
}
