// The app's "Trace" action: trace every `trace:` command of one host source
// of a project now (even when its list is current), write the lists as a build
// would, and report what each command kept and dropped.
import { loadProject } from '../graph/project';
import { RecipeError } from '../sources';
import { traceCommand, TraceError, type TraceReport } from '../sources/trace';
import { BlobStore } from '../store/blobs';

export interface TraceSourceOptions {
  project: string;
  cacheDir: string;
  /** Index of the layer, and of the host source in it. */
  layer: number;
  source: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export async function traceHostSource(o: TraceSourceOptions): Promise<{ commands: TraceReport[]; bytes: number }> {
  const p = await loadProject(o.project);
  const field = `layers[${o.layer}].sources[${o.source}]`;
  const s = p.recipe.layers[o.layer]?.sources[o.source];
  if (!s) throw new RecipeError(field, 'no such source in the saved recipe (save it first)');
  if (s.kind !== 'host') throw new RecipeError(field, `a ${s.kind} source has nothing to trace: only host sources have trace commands`);
  if (!s.trace?.length) throw new RecipeError(`${field}.trace`, 'no commands to trace: add one (the program an absolute host path, e.g. /usr/bin/python3 -c "import json")');
  const store = new BlobStore(o.cacheDir);
  await store.open();
  try {
    const ctx = { projectDir: p.dir, store, signal: o.signal, log: o.log ?? (() => {}) };
    const commands: TraceReport[] = [];
    for (const argv of s.trace) {
      try {
        commands.push(await traceCommand(argv, ctx));
      } catch (e) {
        if (e instanceof TraceError) throw new RecipeError(`${field}.trace`, e.message);
        throw e;
      }
    }
    // A file two commands used is added once.
    const unique = new Map(commands.flatMap((c) => c.kept.map((k) => [k.path, k.bytes] as const)));
    return { commands, bytes: [...unique.values()].reduce((n, b) => n + b, 0) };
  } finally {
    await store.close();
  }
}
