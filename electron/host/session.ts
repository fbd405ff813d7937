// The engine host: one project, its last build, its terminals, served through
// the contract. The same object answers Electron IPC and the browser-mode
// WebSocket. Each request is validated here, answered by the service that owns
// its command (a table, one handler per command), and its reply is parsed by
// the contract's response schema before it leaves.
import { requestSchema, responses, type Cmd } from '../../shared/contract';
import { buildHandlers } from './services/build';
import { fileHandlers } from './services/files';
import type { Handler, Handlers, RequestOf } from './services/handler';
import { inspectHandlers } from './services/inspect';
import { projectHandlers } from './services/project';
import { HostState, type SessionOptions } from './services/state';
import { terminalHandlers } from './services/terminals';
import { viewHandlers } from './services/views';

export type { SessionOptions };

/** Every command of the contract, each answered by one service (the type fails when one is missing). */
const HANDLERS: Handlers<Cmd> = { ...projectHandlers, ...buildHandlers, ...viewHandlers, ...inspectHandlers, ...terminalHandlers, ...fileHandlers };

export class EngineSession {
  private readonly state: HostState;
  /** Requests being answered, awaited (bounded) on close so their temporaries go. */
  private inFlight = new Set<Promise<unknown>>();
  private closing = false;

  constructor(opts: SessionOptions) {
    this.state = new HostState(opts);
  }

  /** Validate and answer one request; invalid input throws a clear error, never crashes the host. */
  async handle(raw: unknown): Promise<unknown> {
    if (this.closing) throw new Error('the engine host is stopping');
    const req = validRequest(raw);
    // The views of a build being restored wait for its trees; opening another project does not.
    const restoring = req.cmd === 'project.open' || req.cmd === 'project.new' || req.cmd === 'image.open' ? undefined : this.state.restoring;
    const work = Promise.resolve(restoring).then(() => (HANDLERS[req.cmd] as Handler<Cmd>)(req as RequestOf<Cmd>, this.state));
    this.inFlight.add(work);
    try {
      return responses[req.cmd].parse(await work);
    } finally {
      this.inFlight.delete(work);
    }
  }

  /**
   * Stop: cancel the build and runs, end the terminals, and wait (at most
   * `graceMs`) for requests in flight to settle so they remove their temporaries.
   */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    this.state.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.state.close();
  }

  dispose(): void {
    void this.close();
  }
}

/** The request a message carries, checked against the contract; the error names the field at fault. */
function validRequest(raw: unknown): RequestOf<Cmd> {
  const cmd = (raw as { cmd?: unknown } | null)?.cmd;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && typeof cmd === 'string' && !requestSchema.options.some((o) => o.shape.cmd.value === cmd)) {
    throw new Error(`invalid request: unknown command ${JSON.stringify(cmd.slice(0, 100))}`);
  }
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
