// The built renderer over HTTP, and nothing else: a request names a regular
// file inside the renderer folder, after its percent-encoding is decoded and
// its symlinks are resolved, or it gets 400/404/405. Any local process may
// send anything here, so every outcome is an answer, never a throw.
import { promises as fs } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2', '.map': 'application/json' };

export type StaticTarget = { file: string } | { status: 400 | 404; reason: string };

/** The file under `root` that a request target names, or why there is none. `root` must be a real path. */
export async function resolveStatic(root: string, target: string): Promise<StaticTarget> {
  if (!target.startsWith('/')) return { status: 400, reason: 'the request target must be a path starting with /' };
  const raw = target.replace(/[?#].*$/s, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { status: 400, reason: 'bad percent-encoding in the path' };
  }
  // Control characters (NUL first) name no file we serve.
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return { status: 400, reason: 'control character in the path' };
  const parts = decoded.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { status: 400, reason: 'the path climbs with ..' };
  const file = path.join(root, ...(parts.length ? parts : ['index.html']));
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    return { status: 404, reason: 'not found' };
  }
  // A symlink inside the renderer folder that points out of it serves nothing.
  if (!real.startsWith(root + path.sep)) return { status: 404, reason: 'not found' };
  const st = await fs.stat(real).catch(() => undefined);
  if (!st?.isFile()) return { status: 404, reason: 'not found' };
  return { file: real };
}

/** Answer one request for a static file (GET or HEAD). */
export async function serveStatic(root: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const t = await resolveStatic(root, req.url ?? '');
  if ('status' in t) return plain(res, t.status, t.reason);
  let body: Buffer;
  try {
    body = await fs.readFile(t.file);
  } catch {
    return plain(res, 404, 'not found');
  }
  res.writeHead(200, {
    'Content-Type': TYPES[path.extname(t.file)] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A short text answer. */
export function plain(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(body);
}
