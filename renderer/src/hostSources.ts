// Host sources in the app: their traces (run from the Source tab or the layer
// stack, the report kept per source for the session) and the warnings the last
// build gave for each of them.
import { create } from 'zustand';
import type { Response } from '../../shared/contract';
import { api } from './api';
import { isDirty } from './compose';
import { useStore, type WarningView } from './store';

export type TraceResult = Response<'trace.run'>;

interface TraceEntry {
  running: boolean;
  result?: TraceResult;
  error?: string;
}

interface TraceState {
  /** By "layer:source". */
  byKey: Record<string, TraceEntry>;
  trace(layer: number, source: number): Promise<void>;
}

export const sourceKey = (layer: number, source: number) => `${layer}:${source}`;

export const useTrace = create<TraceState>((set, get) => ({
  byKey: {},
  async trace(layer, source) {
    const key = sourceKey(layer, source);
    const put = (e: TraceEntry) => set({ byKey: { ...get().byKey, [key]: e } });
    if (get().byKey[key]?.running) return;
    put({ running: true, result: get().byKey[key]?.result });
    try {
      // The engine traces the recipe as saved: an edited one is saved first (not built).
      if (isDirty()) {
        await useStore.getState().save();
        const { problems } = useStore.getState();
        if (problems.length) throw new Error(`the recipe has ${problems.length} problem${problems.length > 1 ? 's' : ''}: fix ${problems[0].field || 'it'} first (${problems[0].message})`);
      }
      put({ running: false, result: await api.request({ cmd: 'trace.run', layer, source }) });
    } catch (e) {
      put({ running: false, error: (e as Error).message });
    }
  },
}));

/** The last build's warnings for one source, from the field they name ("layers[1].sources[0]"). */
export function warningsOf(warnings: WarningView[], layer: number, source: number): WarningView[] {
  const field = `layers[${layer}].sources[${source}]`;
  return warnings.filter((w) => w.field === field || w.field.startsWith(`${field}.`));
}
