// State of the "Run results" table: which runners are running, their rows, and
// whose output is open. Kept apart from the main store: only these views use it.
import { create } from 'zustand';
import type { Response, RunFlagsRequest, RunnerId } from '../../shared/contract';
import { api } from './api';
import { fieldOfRefusal } from './runFlags';
import { useStore } from './store';

export type RunRow = Response<'runs.compare'>['rows'][number];

/** A traced command run in the built image by every runner ("check the result" of a trace). */
export interface TraceCheck {
  argv: string[];
  rows: RunRow[];
  agree?: boolean;
  running: boolean;
  error?: string;
}

interface RunResultsState {
  running?: RunnerId[];
  rows: RunRow[];
  agree?: boolean;
  /** The runner whose output is shown under the table. */
  shown?: RunnerId;
  /** Resolves with the engine's refusal, if any (a bad flag: the run dialog shows it at its field). */
  compare(runners: RunnerId[], req?: { args: string[]; flags: RunFlagsRequest }): Promise<string | undefined>;
  show(runner: RunnerId | undefined): void;
  /** The traced commands, each run as it was traced (its program the entrypoint) in every runner. */
  checks: TraceCheck[];
  /** The check whose runner's output is open: [check index, runner]. */
  checkShown?: [number, RunnerId];
  checkTraced(commands: string[][]): Promise<void>;
  showCheck(at: [number, RunnerId] | undefined): void;
  openVmConsole(): Promise<void>;
}

export const ALL_RUNNERS: RunnerId[] = ['chroot', 'vm', 'docker', 'podman'];

export const useRunResults = create<RunResultsState>((set, get) => ({
  rows: [],
  checks: [],

  async compare(runners, req) {
    set({ running: runners, rows: [], agree: undefined, shown: undefined });
    try {
      const r = await api.request({ cmd: 'runs.compare', runners, args: req?.args ?? [], ...(req && Object.keys(req.flags).length ? { flags: req.flags } : {}) });
      set({ rows: r.rows, agree: r.agree });
      return undefined;
    } catch (e) {
      const message = (e as Error).message;
      if (!fieldOfRefusal(message)) useStore.getState().setError(message);
      return message;
    } finally {
      set({ running: undefined });
    }
  },

  async checkTraced(commands) {
    set({ checks: commands.map((argv) => ({ argv, rows: [], running: true })), checkShown: undefined });
    // One after another: each builds (cached after the first) and the VM alone wants a core.
    for (const [i, argv] of commands.entries()) {
      const patch = (p: Partial<TraceCheck>) => set({ checks: get().checks.map((c, j) => (j === i ? { ...c, ...p } : c)) });
      try {
        const r = await api.request({ cmd: 'runs.compare', runners: ALL_RUNNERS, args: argv.slice(1), flags: { entrypoint: argv[0] } });
        patch({ rows: r.rows, agree: r.agree, running: false });
      } catch (e) {
        patch({ error: (e as Error).message, running: false });
      }
    }
  },

  showCheck(at) {
    set({ checkShown: at });
  },

  show(runner) {
    set({ shown: runner });
  },

  async openVmConsole() {
    try {
      const { id } = await api.request({ cmd: 'shell.start', runner: 'vm', cols: 100, rows: 20 });
      useStore.setState((s) => ({ runs: [...s.runs, { id, kind: 'shell', title: 'VM console' }], activeRun: id }));
    } catch (e) {
      useStore.getState().setError((e as Error).message);
    }
  },
}));
