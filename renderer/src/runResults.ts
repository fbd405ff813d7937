// State of the "Run results" table: which runners are running, their live rows
// (moved by the host's run.runner events), and whose output is open. Kept apart
// from the main store: only these views use it.
import { create } from 'zustand';
import type { Response, RunFlagsRequest, RunnerId } from '../../shared/contract';
import { api } from './api';
import { fieldOfRefusal } from './runFlags';
import { useStore } from './store';
import { applyRunnerEvent, failRows, pendingRows, settleRows, type LiveRow, type RunnerEvent } from './runRows';

export type RunRow = Response<'runs.compare'>['rows'][number];

/** A traced command run in the built image by every runner ("check the result" of a trace). */
export interface TraceCheck {
  argv: string[];
  /** A row per runner as each ends (live, from run.runner events), then the comparison's. */
  rows: RunRow[];
  /** The name its run.runner events carry, once it is asked; and the runners whose program is running. */
  run?: string;
  started?: RunnerId[];
  agree?: boolean;
  running: boolean;
  error?: string;
}

interface RunResultsState {
  /** The runners of the comparison in flight. */
  running?: RunnerId[];
  /** A row per runner from the click on: pending, running, ended. */
  rows: LiveRow[];
  /** The comparison the rows show: the name its run.runner events carry. */
  runId?: string;
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

let compares = 0;

export const useRunResults = create<RunResultsState>((set, get) => ({
  rows: [],
  checks: [],

  async compare(runners, req) {
    const run = `compare-${++compares}`;
    const t0 = Date.now();
    set({ running: runners, rows: pendingRows(runners), runId: run, agree: undefined, shown: undefined });
    const mine = () => get().runId === run;
    try {
      const r = await api.request({ cmd: 'runs.compare', runners, args: req?.args ?? [], ...(req && Object.keys(req.flags).length ? { flags: req.flags } : {}), run });
      if (mine()) set({ rows: settleRows(get().rows, r.rows, Date.now() - t0), agree: r.agree });
      return undefined;
    } catch (e) {
      const message = (e as Error).message;
      const atField = fieldOfRefusal(message);
      // A refused flag goes back to its field in the dialog; nothing ran.
      if (mine()) set({ rows: atField ? [] : failRows(get().rows, message, Date.now() - t0) });
      if (!atField) useStore.getState().setError(message);
      return message;
    } finally {
      if (mine()) set({ running: undefined });
    }
  },

  async checkTraced(commands) {
    set({ checks: commands.map((argv) => ({ argv, rows: [], running: true })), checkShown: undefined });
    // One after another: each builds (cached after the first) and the VM alone wants a core.
    for (const [i, argv] of commands.entries()) {
      const patch = (p: Partial<TraceCheck>) => set({ checks: get().checks.map((c, j) => (j === i ? { ...c, ...p } : c)) });
      try {
        const run = `check-${++compares}`;
        patch({ run });
        const r = await api.request({ cmd: 'runs.compare', runners: ALL_RUNNERS, args: argv.slice(1), flags: { entrypoint: argv[0] }, run });
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

// Each runner's start and end, for the comparison shown (another one's, or a closed table's, are dropped).
api.onEvent((e) => {
  if (e.event !== 'run.runner') return;
  const s = useRunResults.getState();
  if (e.run === s.runId) useRunResults.setState({ rows: applyRunnerEvent(s.rows, e, Date.now()) });
  const i = s.checks.findIndex((c) => c.run === e.run && c.running);
  if (i !== -1) useRunResults.setState({ checks: s.checks.map((c, j) => (j === i ? checkWithEvent(c, e) : c)) });
});

/** A traced command's check as one runner starts or ends. */
function checkWithEvent(c: TraceCheck, e: RunnerEvent): TraceCheck {
  if (e.state === 'running') return { ...c, started: [...(c.started ?? []), e.runner] };
  return { ...c, rows: [...c.rows.filter((r) => r.runner !== e.runner), { ...e.row, matches: false }] };
}
