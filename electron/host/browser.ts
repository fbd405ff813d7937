// Browser mode: the renderer over HTTP and the contract over a WebSocket, on
// 127.0.0.1 only. A random token minted per launch must be presented to open
// the socket, the socket's Origin must be this server and every request's Host
// must name it (so neither other local users, web pages elsewhere nor a DNS
// rebinding can drive the engine). Any local process can still send anything:
// every request and every message is answered inside a guard, never a crash.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { requestEnvelope, type EngineEvent, type Reply } from '../../shared/contract';
import { EngineSession } from './session';
import { plain, serveStatic } from './static';

/** The largest message: a project.addFiles of ADD_FILES_MAX (32 MiB) bytes, base64-encoded, in its JSON. */
export const MAX_MESSAGE_BYTES = 48 << 20;
/** Open sockets at once (the app uses one per window): bounds what oversize messages can hold in memory. */
export const MAX_CLIENTS = 8;
/** Requests of one socket still being answered; more are refused until replies go out. */
export const MAX_IN_FLIGHT = 32;
/** Replies and events queued to a socket that does not read them: past this it is dropped. */
const MAX_BUFFERED = 64 << 20;
/** Error messages are cut here: they may quote what the client sent. */
const MAX_ERROR_CHARS = 2000;

export interface BrowserServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export async function startBrowserMode(opts: { project: string; cacheDir: string; rendererDir: string; port?: number; token?: string }): Promise<BrowserServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const rendererDir = await fs.realpath(opts.rendererDir);
  const clients = new Set<WebSocket>();
  const send = (ws: WebSocket, msg: string) => {
    if (ws.bufferedAmount > MAX_BUFFERED) ws.terminate();
    else ws.send(msg);
  };
  const session = new EngineSession({
    project: opts.project,
    cacheDir: opts.cacheDir,
    emit: (e: EngineEvent) => {
      const msg = JSON.stringify(e);
      for (const c of clients) send(c, msg);
    },
  });

  let port = 0;
  const server = http.createServer({ maxHeaderSize: 16 << 10 }, (req, res) => {
    req.on('error', () => res.destroy());
    res.on('error', () => res.destroy());
    guard(() => onRequest(req, res), () => plain(res, 500, 'internal error'));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Nothing here takes a body: one sent is discarded while the answer goes out, and the
    // connection ends a moment later (a close with unread bytes resets the connection at
    // once, and the kernel drops the answer not yet sent: the client would see no answer).
    if (req.headers['content-length'] || req.headers['transfer-encoding']) {
      req.resume();
      res.on('finish', () => setTimeout(() => req.socket.destroy(), 1000).unref());
    }
    if (!ourHost(req.headers.host, port)) return plain(res, 403, 'Host not allowed: this server answers only to 127.0.0.1 and localhost on its port');
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, `method ${req.method} not allowed`, { Allow: 'GET, HEAD' });
    await serveStatic(rendererDir, req, res);
  }

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    guard(
      () => onUpgrade(req, socket, head),
      () => refuse(socket, 500, 'internal error'),
    );
  });

  function onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = req.url ?? '';
    const q = target.indexOf('?');
    if ((q === -1 ? target : target.slice(0, q)) !== '/ws') return refuse(socket, 404, 'not found');
    if (!ourHost(req.headers.host, port)) return refuse(socket, 403, 'Host not allowed');
    const origin = req.headers.origin;
    if (origin !== undefined && !ourOrigin(origin, port)) return refuse(socket, 403, 'Origin not allowed');
    if (!sameToken(new URLSearchParams(q === -1 ? '' : target.slice(q + 1)).get('token') ?? '', token)) return refuse(socket, 403, 'bad token');
    if (clients.size >= MAX_CLIENTS) return refuse(socket, 503, `too many connections (${MAX_CLIENTS})`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      let inFlight = 0;
      ws.on('close', () => clients.delete(ws));
      // Oversize frames, bad UTF-8, protocol errors: ws closes the socket; the server goes on.
      ws.on('error', () => ws.terminate());
      ws.on('message', (data: RawData, isBinary: boolean) => {
        guard(
          async () => {
            inFlight++;
            try {
              send(ws, JSON.stringify(await answer(data, isBinary, inFlight)));
            } finally {
              inFlight--;
            }
          },
          () => ws.terminate(),
        );
      });
    });
  }

  /** One message in, one reply out: {id, result} or {id, error} naming what was wrong. */
  async function answer(data: RawData, isBinary: boolean, inFlight: number): Promise<Reply> {
    let id = -1;
    try {
      if (isBinary) throw new Error('binary frames are not part of the contract: send JSON text');
      let json: unknown;
      try {
        json = JSON.parse(rawText(data));
      } catch (e) {
        throw new Error(`malformed JSON: ${(e as Error).message}`);
      }
      const env = requestEnvelope.safeParse(json);
      if (!env.success) throw new Error(`invalid envelope (expected {"id": integer, "request": {...}}): ${env.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')}`);
      id = env.data.id;
      if (inFlight > MAX_IN_FLIGHT) throw new Error(`too many requests in flight (${MAX_IN_FLIGHT}): wait for replies before sending more`);
      return { id, result: await session.handle(env.data.request) };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { id, error: { message: message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message } };
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as { port: number }).port;
  // Errors after listening (EMFILE on accept, ...) are logged, not fatal.
  server.on('error', (e) => process.stderr.write(`scratchyard: server error: ${e.message}\n`));
  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/#token=${token}`,
    close: async () => {
      server.close();
      for (const c of clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await session.close();
    },
  };
}

/** Run a handler; whatever it throws or rejects with ends in `fail`, never in the process. */
function guard(fn: () => void | Promise<void>, fail: () => void): void {
  const failSafely = (e: unknown) => {
    process.stderr.write(`scratchyard: request failed: ${e instanceof Error ? e.message : String(e)}\n`);
    try {
      fail();
    } catch {
      // the connection is gone already
    }
  };
  try {
    const p = fn();
    if (p) p.catch(failSafely);
  } catch (e) {
    failSafely(e);
  }
}

/** Answer an upgrade with an HTTP error; a peer that keeps the socket open loses it a moment later. */
function refuse(socket: Duplex, status: number, reason: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

/** Only our own name for ourselves: a DNS-rebound name reaches the port but not the engine. */
export function ourHost(host: string | undefined, port: number): boolean {
  const h = host?.toLowerCase();
  return h === `127.0.0.1:${port}` || h === `localhost:${port}`;
}

export function ourOrigin(origin: string, port: number): boolean {
  const o = origin.toLowerCase();
  return o === `http://127.0.0.1:${port}` || o === `http://localhost:${port}`;
}

/** Compared in constant time, lengths included: both sides are hashed first. */
function sameToken(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b)) && a.length === b.length;
}
