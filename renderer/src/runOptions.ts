// The run dialog's state: docker's run flags as typed, remembered per project
// for the session (sessionStorage, so a reload keeps them; another project has
// its own), and the run they start: a chroot terminal or the runners' table.
import { create } from 'zustand';
import type { RunFlagsRequest, RunnerId } from '../../shared/contract';
import { api } from './api';
import { ALL_RUNNERS, useRunResults } from './runResults';
import { EMPTY_FORM, fieldOfRefusal, requestOfForm, type RunField, type RunForm } from './runFlags';
import { useStore } from './store';

/** Where a run goes: a terminal (chroot) or the "Run results" table (one runner or all). */
export type RunTarget = 'chroot' | 'vm' | 'docker' | 'podman' | 'everywhere';

interface Remembered {
  form: RunForm;
  target: RunTarget;
}

interface RunOptions {
  open: boolean;
  /** Per project folder. */
  byProject: Record<string, Remembered>;
  /** Refusals of the engine at the field they name (the dialog's own checks come from the form). */
  refused: Partial<Record<RunField, string>>;
  setOpen(open: boolean): void;
  update(patch: Partial<RunForm>): void;
  setTarget(t: RunTarget): void;
  reset(): void;
  /** Run with the remembered flags (the dialog closes); false, and the dialog open at the problem, when a field is wrong. */
  run(target?: RunTarget): Promise<boolean>;
}

const KEY = 'scratchyard.runOptions';

function load(): Record<string, Remembered> {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? '{}') as Record<string, Remembered>;
  } catch {
    return {};
  }
}

function keep(all: Record<string, Remembered>): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    // No storage: the options last while the page does.
  }
}

const projectKey = () => useStore.getState().project?.dir ?? '';

/** The current project's options. */
export function remembered(s: Pick<RunOptions, 'byProject'>): Remembered {
  const r = s.byProject[projectKey()];
  return { form: { ...EMPTY_FORM, ...r?.form }, target: r?.target ?? 'chroot' };
}

/** The args and flags the current project's options ask for (errors by field). */
export function currentRequest(): ReturnType<typeof requestOfForm> {
  return requestOfForm(remembered(useRunOptions.getState()).form);
}

export const useRunOptions = create<RunOptions>((set, get) => {
  const save = (r: Remembered) => {
    const byProject = { ...get().byProject, [projectKey()]: r };
    keep(byProject);
    set({ byProject });
  };
  return {
    open: false,
    byProject: load(),
    refused: {},
    setOpen(open) {
      set({ open, refused: {} });
    },
    update(patch) {
      const r = remembered(get());
      const touched = Object.keys(patch) as RunField[];
      set({ refused: Object.fromEntries(Object.entries(get().refused).filter(([f]) => !touched.includes(f as RunField))) });
      save({ ...r, form: { ...r.form, ...patch } });
    },
    setTarget(target) {
      save({ ...remembered(get()), target });
    },
    reset() {
      save({ form: EMPTY_FORM, target: remembered(get()).target });
      set({ refused: {} });
    },
    async run(target = remembered(get()).target) {
      const { args, flags, errors } = currentRequest();
      if (Object.keys(errors).length) {
        set({ open: true });
        return false;
      }
      // Closed at once: a run may build first; a refusal opens it again at the field.
      set({ open: false });
      const refusal = await startRun(target, args, flags);
      if (refusal) {
        set({ open: true, refused: { [refusal.field]: refusal.message } });
        return false;
      }
      return true;
    },
  };
});

/** Start the run; an engine refusal naming a field comes back to show at it, any other error in the banner. */
async function startRun(target: RunTarget, args: string[], flags: RunFlagsRequest): Promise<{ field: RunField; message: string } | undefined> {
  if (target !== 'chroot') {
    const runners: RunnerId[] = target === 'everywhere' ? ALL_RUNNERS : [target];
    const message = await useRunResults.getState().compare(runners, { args, flags });
    return message === undefined ? undefined : fieldOfRefusal(message);
  }
  try {
    const { id } = await api.request({ cmd: 'run.start', runner: 'chroot', args, flags, cols: 100, rows: 20 });
    useStore.setState((s) => ({ runs: [...s.runs, { id, kind: 'run', title: 'Run: chroot' }], activeRun: id }));
    return undefined;
  } catch (e) {
    const message = (e as Error).message;
    const at = fieldOfRefusal(message);
    if (!at) useStore.getState().setError(message);
    return at;
  }
}
