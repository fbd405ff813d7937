// The engine, as the window sees it: the preload's bridge under Electron, or a
// WebSocket to the browser-mode host. Both implement the same contract. The
// socket is a connection with a state (connecting, connected, lost): a request
// while it is not connected fails at once, naming why, instead of waiting forever.
import type { Cmd, Connection, EngineApi, EngineEvent, Reply, Request, Response } from '../../shared/contract';

declare global {
  interface Window {
    scratchyard?: EngineApi;
  }
}

const LOST = 'the connection to the Scratchyard host closed (was the server stopped?)';

class SocketApi implements EngineApi {
  private ws!: WebSocket;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private listeners = new Set<(e: EngineEvent) => void>();
  private watchers = new Set<(c: Connection) => void>();
  private state: Connection = { state: 'connecting' };
  private ready!: Promise<void>;

  constructor(private readonly url: string) {
    this.connect();
  }

  private setState(c: Connection): void {
    this.state = c;
    for (const w of this.watchers) w(c);
  }

  private connect(): void {
    this.setState({ state: 'connecting' });
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.ready = new Promise((resolve, reject) => {
      ws.onopen = () => {
        this.setState({ state: 'connected' });
        resolve();
      };
      ws.onerror = () => reject(new Error('cannot reach the Scratchyard host (is it running, and the URL and its token right?)'));
    });
    this.ready.catch(() => {});
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as Reply | EngineEvent;
      if ('event' in msg) {
        for (const l of this.listeners) l(msg);
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if ('error' in msg) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    };
    ws.onclose = () => {
      if (ws !== this.ws) return;
      for (const p of this.pending.values()) p.reject(new Error(LOST));
      this.pending.clear();
      this.setState({ state: 'lost', reason: this.state.state === 'connecting' ? 'cannot reach the Scratchyard host' : LOST });
    };
  }

  reconnect(): void {
    if (this.state.state === 'lost') this.connect();
  }

  async request<C extends Cmd>(req: Extract<Request, { cmd: C }>): Promise<Response<C>> {
    if (this.state.state === 'lost') throw new Error(`${this.state.reason}: Reconnect first`);
    await this.ready;
    if (this.ws.readyState !== WebSocket.OPEN) throw new Error(LOST);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, request: req }));
    });
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onConnection(listener: (c: Connection) => void): () => void {
    this.watchers.add(listener);
    listener(this.state);
    return () => this.watchers.delete(listener);
  }
}

function connect(): EngineApi {
  if (window.scratchyard) return window.scratchyard;
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  return new SocketApi(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
}

export const api: EngineApi = connect();
