// The engine, as the window sees it: the preload's bridge under Electron, or a
// WebSocket to the browser-mode host. Both implement the same contract.
import type { Cmd, EngineApi, EngineEvent, Reply, Request, Response } from '../../shared/contract';

declare global {
  interface Window {
    scratchyard?: EngineApi;
  }
}

class SocketApi implements EngineApi {
  private ws: WebSocket;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private listeners = new Set<(e: EngineEvent) => void>();
  private ready: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ready = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error('cannot reach the Scratchyard host (is the URL and its token right?)'));
    });
    this.ws.onmessage = (m) => {
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
    this.ws.onclose = () => {
      for (const p of this.pending.values()) p.reject(new Error('the connection to the Scratchyard host closed'));
      this.pending.clear();
    };
  }

  async request<C extends Cmd>(req: Extract<Request, { cmd: C }>): Promise<Response<C>> {
    await this.ready;
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
}

function connect(): EngineApi {
  if (window.scratchyard) return window.scratchyard;
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  return new SocketApi(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
}

export const api: EngineApi = connect();
