// State of the "Run results" table: which runners are running, their rows, and
// whose output is open. Kept apart from the main store: only these views use it.
import { create } from 'zustand';
import type { Response, RunnerId } from '../../shared/contract';
import { api } from './api';
import { useStore } from './store';

export type RunRow = Response<'runs.compare'>['rows'][number];

interface RunResultsState {
  running?: RunnerId[];
  rows: RunRow[];
  agree?: boolean;
  /** The runner whose output is shown under the table. */
  shown?: RunnerId;
  compare(runners: RunnerId[]): Promise<void>;
  show(runner: RunnerId | undefined): void;
  openVmConsole(): Promise<void>;
}

export const ALL_RUNNERS: RunnerId[] = ['chroot', 'vm', 'docker', 'podman'];

export const useRunResults = create<RunResultsState>((set) => ({
  rows: [],

  async compare(runners) {
    set({ running: runners, rows: [], agree: undefined, shown: undefined });
    try {
      const r = await api.request({ cmd: 'runs.compare', runners, args: [] });
      set({ rows: r.rows, agree: r.agree });
    } catch (e) {
      useStore.getState().setError((e as Error).message);
    } finally {
      set({ running: undefined });
    }
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
