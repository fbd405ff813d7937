// Build progress as events: one per graph node state change, plus log lines.
// The CLI draws them on stderr; the desktop host forwards them over IPC.

export type NodeState = 'running' | 'cached' | 'done' | 'failed';

/** What a node of the build graph is: sources (of a stage, or of a layer) → layers → the image → its outputs. */
export type PlanKind = 'stage' | 'source' | 'layer' | 'image' | 'export' | 'sbom';

/** One node of the build graph as planned: the id its node events carry, and the ids of the nodes it reads. */
export interface PlanNode {
  id: string;
  label: string;
  kind: PlanKind;
  deps: string[];
}

export type BuildEvent =
  /** The graph about to run (sent again when a base image's layers become known). */
  | { type: 'plan'; nodes: number; graph: PlanNode[] }
  | { type: 'node'; id: string; label: string; state: NodeState; ms?: number; detail?: string; progress?: number }
  | { type: 'log'; line: string }
  | ({ type: 'warning' } & HostWarning);

export type HostWarningKind = 'dangling-symlink' | 'outside-listed-path' | 'private-key' | 'local-ca' | 'credentials';

/** Something a host source brought that the recipe may not mean to: reported, never fatal. */
export interface HostWarning {
  kind: HostWarningKind;
  /** Where it is in the image. */
  image: string;
  /** Where it was read from on this machine. */
  host: string;
  reason: string;
  /** The recipe field of the source that brought it, e.g. "layers[0].sources[1]". */
  field: string;
}

export interface NodeHandle {
  done(detail?: string): void;
  cached(detail?: string): void;
  failed(err: Error): void;
  /** How far a long node is, 0..1, while it runs. */
  progress(fraction: number): void;
}

export class NodeReporter {
  constructor(private readonly emit: (e: BuildEvent) => void = () => {}) {}

  start(id: string, label: string): NodeHandle {
    const t0 = performance.now();
    this.emit({ type: 'node', id, label, state: 'running' });
    const end = (state: NodeState, detail?: string) =>
      this.emit({ type: 'node', id, label, state, ms: Math.round(performance.now() - t0), ...(detail ? { detail } : {}) });
    return {
      done: (detail) => end('done', detail),
      cached: (detail) => end('cached', detail),
      failed: (err) => end('failed', err.message),
      progress: (fraction) => this.emit({ type: 'node', id, label, state: 'running', progress: fraction }),
    };
  }

  /** The graph this build will run, so progress can be a fraction and a window can draw it. */
  plan(graph: PlanNode[]): void {
    this.emit({ type: 'plan', nodes: graph.length, graph });
  }

  log(line: string): void {
    this.emit({ type: 'log', line });
  }

  warn(w: HostWarning): void {
    this.emit({ type: 'warning', ...w });
  }
}
