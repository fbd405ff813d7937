// Browser mode: the renderer over HTTP and the contract over a WebSocket, on
// 127.0.0.1 only. A random token minted per launch must be presented to open
// the socket, and the socket's Origin must be this server, so neither other
// local users nor web pages can drive the engine.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { requestEnvelope, type EngineEvent, type Reply } from '../../shared/contract';
import { EngineSession } from './session';

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2' };

export interface BrowserServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export async function startBrowserMode(opts: { project: string; cacheDir: string; rendererDir: string; port?: number }): Promise<BrowserServer> {
  const token = randomBytes(24).toString('base64url');
  const clients = new Set<WebSocket>();
  const session = new EngineSession({
    project: opts.project,
    cacheDir: opts.cacheDir,
    emit: (e: EngineEvent) => {
      const msg = JSON.stringify(e);
      for (const c of clients) c.send(msg);
    },
  });

  const server = http.createServer((req, res) => void serveStatic(opts.rendererDir, req, res));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 48 << 20 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const origin = req.headers.origin;
    const self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (url.pathname !== '/ws' || !sameToken(url.searchParams.get('token') ?? '', token) || (origin !== undefined && origin !== self)) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.on('message', (data) => void answer(ws, data.toString()));
    });
  });

  async function answer(ws: WebSocket, text: string): Promise<void> {
    let id = -1;
    let reply: Reply;
    try {
      const env = requestEnvelope.parse(JSON.parse(text));
      id = env.id;
      reply = { id, result: await session.handle(env.request) };
    } catch (e) {
      reply = { id, error: { message: e instanceof Error ? e.message : String(e) } };
    }
    ws.send(JSON.stringify(reply));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/#token=${token}`,
    close: async () => {
      session.dispose();
      for (const c of clients) c.terminate();
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function serveStatic(root: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const rel = path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
  let file = path.join(root, rel === '/' ? 'index.html' : rel);
  if (!file.startsWith(root)) file = path.join(root, 'index.html');
  try {
    const body = await fs.readFile(file);
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' });
    res.end(body);
  } catch {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  }
}
