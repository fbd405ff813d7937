// The app's server (browser mode, `scratchyard gui`) against what any local
// process can send it: bad URLs, traversal, symlinks out of its folder, huge
// headers and bodies, wrong methods; WebSocket upgrades without our token,
// Host or Origin; non-JSON, binary, oversize and garbage messages on every
// command; a flood. After each the server still answers, nothing is served or
// written outside, and no command line carries the token. Last, SIGTERM: its
// children and its temporary folder go with it. Loopback only, bounded loops.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { requestSchema } from '../../shared/contract';
import { MAX_CLIENTS, MAX_MESSAGE_BYTES } from '../../electron/host/browser';
import { descendants } from '../../electron/host/reap';
import { lacks } from '../helpers/env';
import { arena, outsideState } from '../helpers/hostile';
import { portableCli } from '../helpers/portable';

const a = arena('sy-hostile-server-');
// A copy of the bundle and renderer, so a symlink out of the renderer folder can be planted in it.
const copy = portableCli({ renderer: true });
symlinkSync(path.join(a.canary, 'keep'), path.join(copy.renderer, 'leak.txt'));
symlinkSync(a.canary, path.join(copy.renderer, 'leak-dir'));
// Everything the server may legitimately write (the project's build outputs, the browser's notes) is under out/.
const project = path.join(a.out, 'project');
mkdirSync(project, { recursive: true });
writeFileSync(
  path.join(project, 'scratchyard.yaml'),
  `name: hostile
config:
  # A stubborn program: hangups and SIGTERM are ignored, so only the server's reaping ends it.
  cmd: ["/bin/sh", "-c", "trap '' HUP TERM INT; echo ready; exec sleep 1000"]
layers:
  - name: base
    sources:
      - kind: busybox
`,
);
// A "browser" that notes what it was given, then stays up a while like a real one.
const notes = path.join(a.out, 'browser');
mkdirSync(notes);
const browser = path.join(a.dir, 'browser.sh');
writeFileSync(
  browser,
  `#!/bin/sh
n=${notes}
echo $$ > "$n/pid"
printf '%s\\n' "$@" > "$n/argv"
f="\${1#file://}"
echo "$f" > "$n/file"
stat -c %a "$f" > "$n/mode"
stat -c %a "$(dirname "$f")" > "$n/dirmode"
cat "$f" > "$n/launch.html"
touch "$n/done"
exec sleep 60
`,
  { mode: 0o755 },
);

/** The arena but for cache/ and out/: the gui's own temporaries are checked on their own (other runs share /tmp). */
const arenaState = () => outsideState(a).filter((row) => !row.startsWith('/tmp/'));
const before = arenaState();

let gui: ChildProcess;
let guiErr = '';
let port = 0;
let token = '';
let browserPid = 0;
const sockets: WebSocket[] = [];

async function until<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

// What a server killed with SIGKILL leaves: its private folder, under a pid that no longer runs.
const deadPid = spawnSync('true').pid!;
const stale = path.join(os.tmpdir(), `scratchyard-gui-${deadPid}-tmp-Stale0`);

beforeAll(async () => {
  mkdirSync(path.join(stale, 'scratchyard-run-x'), { recursive: true, mode: 0o700 });
  gui = spawn(process.execPath, [copy.cli, 'gui', project, '--port', '0', '--cache', a.cache], { env: { ...process.env, BROWSER: browser }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  gui.stdout!.on('data', (c: Buffer) => (out += c));
  gui.stderr!.on('data', (c: Buffer) => (guiErr += c));
  const url = new URL(await until('the URL', () => out.split('\n').find((l) => l.startsWith('http://127.0.0.1:'))));
  port = Number(url.port);
  token = new URLSearchParams(url.hash.slice(1)).get('token')!;
  await until('the browser', () => existsSync(path.join(notes, 'done')));
  browserPid = Number(readFileSync(path.join(notes, 'pid'), 'utf8'));
});

afterAll(async () => {
  for (const s of sockets) s.terminate();
  if (browserPid) signal(browserPid, 'SIGKILL');
  if (gui?.exitCode !== null) return;
  // When the SIGTERM test did not run (a filtered run), stop it the same way, so it cleans up after itself.
  const exited = new Promise((resolve) => gui.on('exit', resolve));
  gui.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
  gui.kill('SIGKILL');
});

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Bytes as sent, over a fresh connection; resolves with the status line's code once the server answers (or closes). */
function raw(request: string | Buffer, body?: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      const text = got.toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]);
      if (!status) return reject(new Error(`no HTTP answer to ${JSON.stringify(String(request).slice(0, 80))}: ${JSON.stringify(text.slice(0, 200))}`));
      const cut = text.indexOf('\r\n\r\n');
      resolve({ status, head: text.slice(0, cut), body: cut === -1 ? '' : text.slice(cut + 4) });
    };
    const timer = setTimeout(done, 10_000);
    sock.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      // A whole answer (head, and the body its Content-Length announces) is enough: keep-alive may hold the socket.
      const text = got.toString('latin1');
      const cut = text.indexOf('\r\n\r\n');
      if (cut === -1) return;
      const length = /^content-length: *(\d+)$/im.exec(text.slice(0, cut))?.[1];
      if (/^HTTP\/1\.1 101 /.test(text) || (length !== undefined && got.length >= cut + 4 + Number(length))) done();
    });
    sock.on('close', done);
    sock.on('error', () => sock.destroy());
    sock.write(request);
    if (body) sock.write(body, () => {});
  });
}

const host = () => `127.0.0.1:${port}`;
const get = (target: string, headers = '') => raw(`GET ${target} HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n${headers}\r\n`);

/** The good request after every bad one: the app's page. */
async function expectServing(): Promise<void> {
  const r = await get('/');
  expect(r.status).toBe(200);
  expect(r.body).toContain('<div id="root"');
}

/** A socket with `token` (and extra headers), or the HTTP status it was refused with. */
function connect(t = token, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(t)}`, { headers });
    ws.on('open', () => {
      sockets.push(ws);
      resolve(ws);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', reject);
  });
}

async function open(): Promise<WebSocket> {
  const ws = await connect();
  if (typeof ws === 'number') throw new Error(`refused with ${ws}`);
  return ws;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: { message: string };
}

/** Send one frame and take the next reply (events are skipped). */
function ask(ws: WebSocket, frame: string | Buffer, binary = false): Promise<Reply> {
  return new Promise((resolve) => {
    const on = (m: Buffer) => {
      const msg = JSON.parse(String(m)) as Reply | { event: string };
      if ('event' in msg) return;
      ws.off('message', on);
      resolve(msg);
    };
    ws.on('message', on);
    ws.send(frame, { binary });
  });
}

describe('the browser-mode server against hostile local clients', () => {
  it('keeps the token off every command line: the browser is given a private 0600 file that redirects with it', () => {
    const argv = readFileSync(path.join(notes, 'argv'), 'utf8').trim().split('\n');
    expect(argv).toHaveLength(1);
    expect(argv[0]).toMatch(/^file:\/\/\/.+\/open\.html$/);
    expect(argv[0]).not.toContain(token);
    expect(readFileSync(path.join(notes, 'mode'), 'utf8').trim()).toBe('600');
    expect(readFileSync(path.join(notes, 'dirmode'), 'utf8').trim()).toBe('700');
    expect(readFileSync(path.join(notes, 'launch.html'), 'utf8')).toContain(`location.replace("http://127.0.0.1:${port}/#token=${token}")`);
    const procs = [gui.pid!, ...descendants(gui.pid!)];
    expect(procs).toContain(browserPid);
    for (const pid of procs) {
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), `argv of ${pid}`).not.toContain(token);
      expect(readFileSync(`/proc/${pid}/environ`, 'utf8'), `environment of ${pid}`).not.toContain(token);
    }
  });

  it('removed the private folder a killed server left behind', () => {
    expect(existsSync(stale)).toBe(false);
  });

  it.each([
    ['GET /%E0%A4%A', 400],
    ['GET /%zz', 400],
    ['GET /../../../../etc/passwd', 400],
    ['GET /%2e%2e/%2e%2e/%2e%2e/etc/passwd', 400],
    ['GET /assets/..%2f..%2f..%2f..%2fetc%2fpasswd', 400],
    ['GET /..%5c..%5cetc%5cpasswd', 404],
    ['GET /index.html%00.png', 400],
    ['GET /%0d%0aSet-Cookie:%20x=1', 400],
    ['GET /leak.txt', 404],
    ['GET /leak-dir/keep', 404],
    ['GET //etc/passwd', 404],
    ['GET /assets', 404],
    ['GET /no/such/file.js', 404],
    ['GET http://127.0.0.1/etc/passwd', 400],
    ['OPTIONS *', 405],
    ['OPTIONS /', 405],
    ['POST /index.html', 405],
    ['PUT /index.html', 405],
    ['DELETE /', 405],
  ] as const)('HTTP %s → %i, and the page is still served', async (line, status) => {
    const r = await raw(`${line} HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(status);
    expect(r.body).not.toMatch(/canary|root:x:0:0/);
    await expectServing();
  });

  it('refuses a foreign Host (DNS rebinding), huge headers, garbage, and bodies it never reads', async () => {
    expect((await raw(`GET / HTTP/1.1\r\nHost: evil.example:${port}\r\n\r\n`)).status).toBe(403);
    expect((await raw(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).status).toBe(403);
    expect((await raw('GET / HTTP/1.0\r\n\r\n')).status).toBe(403);
    expect((await get('/', `X-Big: ${'a'.repeat(64 << 10)}\r\n`)).status).toBe(431);
    expect((await raw('HELLO\r\n\r\n')).status).toBe(400);
    expect((await raw(Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]))).status).toBe(400);
    // A POST announcing 1 GiB: refused at once, the body is not waited for.
    const post = await raw(`POST / HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: ${1 << 30}\r\n\r\n`, Buffer.alloc(1 << 20));
    expect(post.status).toBe(405);
    expect(post.head).toMatch(/^Allow: GET, HEAD$/im);
    const head = await raw(`HEAD /index.html HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`);
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    // localhost is our name too.
    expect((await raw(`GET / HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`)).status).toBe(200);
    await expectServing();
  });

  it('opens the WebSocket only for our token, from our Origin, to our Host', async () => {
    expect(await connect('')).toBe(403);
    expect(await connect('wrong')).toBe(403);
    expect(await connect(token.slice(1))).toBe(403);
    expect(await connect(`${token}x`)).toBe(403);
    expect(await connect(token, { Origin: 'http://evil.example' })).toBe(403);
    expect(await connect(token, { Origin: `http://127.0.0.1:${port + 1}` })).toBe(403);
    expect(await connect(token, { Origin: 'null' })).toBe(403);
    const upgrade = (target: string, hostHeader: string) =>
      raw(`GET ${target} HTTP/1.1\r\nHost: ${hostHeader}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    expect((await upgrade(`/ws?token=${token}`, `evil.example:${port}`)).status).toBe(403);
    expect((await upgrade(`/other?token=${token}`, host())).status).toBe(404);
    expect((await upgrade(`/ws?token=%E0%A4%A`, host())).status).toBe(403);
    expect((await raw(`GET /ws?token=${token} HTTP/1.1\r\nHost: ${host()}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`)).status).toBe(400);
    expect((await upgrade(`/ws?token=${token}`, host())).status).toBe(101);
    const ws = await connect(token, { Origin: `http://localhost:${port}` });
    expect(ws).toBeInstanceOf(WebSocket);
    (ws as WebSocket).close();
    await expectServing();
  });

  it('answers every malformed message with an error naming the fault, on the same socket', async () => {
    const ws = await open();
    const cases: [string | Buffer, RegExp, number?][] = [
      ['not json', /^malformed JSON: /],
      ['', /^malformed JSON: /],
      ['[]', /^invalid envelope .*message: /],
      ['{"id":"x","request":{}}', /invalid envelope .*id: /],
      ['{"id":1}', /invalid envelope .*request: /],
      ['{"id":1.5,"request":{"cmd":"doctor"}}', /invalid envelope .*id: /],
      ['{"id":2,"request":{"cmd":"rm -rf /"}}', /^invalid request: unknown command "rm -rf \/"$/, 2],
      ['{"id":3,"request":{"cmd":"__proto__"}}', /unknown command "__proto__"/, 3],
      ['{"id":4,"request":{"cmd":"tree.page","layer":null,"dir":"/","offset":-1,"limit":10}}', /^invalid request: offset: /, 4],
      ['{"id":5,"request":{"cmd":"doctor","__proto__":{"polluted":true}}}', /Unrecognized key: "__proto__"/, 5],
      [`{"id":6,"request":${'['.repeat(200_000)}${']'.repeat(200_000)}}`, /^invalid request: request: /, 6],
      [`{"id":7,"request":{"cmd":"${'x'.repeat(1 << 20)}"}}`, /^invalid request: unknown command "x{100}"$/, 7],
      [`{"id":8,"request":{"cmd":"term.write","id":"t99","data":"x"}}`, /^no terminal t99$/, 8],
    ];
    for (const [frame, message, id] of cases) {
      const r = await ask(ws, frame);
      expect(r.error?.message, String(frame).slice(0, 60)).toMatch(message);
      expect(r.id).toBe(id ?? -1);
    }
    expect((await ask(ws, Buffer.from('{"id":9,"request":{"cmd":"doctor"}}'), true)).error?.message).toMatch(/^binary frames are not part of the contract/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });

  it('refuses garbage on every command of the contract, naming the field', async () => {
    const ws = await open();
    let id = 100;
    for (const option of requestSchema.options) {
      const cmd = option.shape.cmd.value;
      const fields = Object.keys(option.shape).filter((k) => k !== 'cmd');
      const extra = await ask(ws, JSON.stringify({ id: ++id, request: { cmd, zzz: 1 } }));
      expect(extra, cmd).toMatchObject({ id, error: { message: expect.stringMatching(/^invalid request: .*"zzz"/) } });
      if (fields.length === 0) continue;
      const garbage = await ask(ws, JSON.stringify({ id: ++id, request: { cmd, ...Object.fromEntries(fields.map((f) => [f, { $: [null] }])) } }));
      expect(garbage.id, cmd).toBe(id);
      expect(garbage.error?.message, cmd).toMatch(new RegExp(`^invalid request: .*(${fields.join('|')})`));
    }
    const ok = await ask(ws, JSON.stringify({ id: 1, request: { cmd: 'project.validate', text: 'name: x\nlayers: []\n' } }));
    expect(ok.result).toEqual({ problems: [expect.objectContaining({ field: 'layers' })] });
    ws.close();
  });

  it('drops a socket that sends an oversize frame, and serves the next one', async () => {
    const ws = await open();
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.send(`{"id":1,"request":{"cmd":"project.validate","text":"${'x'.repeat(MAX_MESSAGE_BYTES)}"}}`);
    // 1009 (too big) when the close frame arrives; 1006 when the server's close resets the
    // connection while the client is still sending the frame (seen under load): dropped either way.
    expect([1006, 1009]).toContain(await closed);
    const next = await open();
    expect((await ask(next, JSON.stringify({ id: 1, request: { cmd: 'project.validate', text: 'name: x\n' } }))).result).toBeDefined();
    next.close();
    await expectServing();
  });

  it(`survives a flood: ${MAX_CLIENTS} sockets (one more is refused), 300 messages each, every one answered once`, async () => {
    for (const s of sockets) s.close();
    await until('the sockets to close', () => sockets.every((s) => s.readyState === WebSocket.CLOSED));
    const many: WebSocket[] = [];
    for (let i = 0; i < MAX_CLIENTS; i++) many.push(await openRetrying());
    expect(await connect()).toBe(503);
    const N = 300;
    await Promise.all(
      many.map(
        (ws) =>
          new Promise<void>((resolve, reject) => {
            const seen = new Map<number, number>();
            let count = 0;
            ws.on('message', (m: Buffer) => {
              const msg = JSON.parse(String(m)) as Reply;
              if (!('id' in msg)) return;
              if (msg.id !== -1) seen.set(msg.id, (seen.get(msg.id) ?? 0) + 1);
              if (msg.error && !/malformed JSON|invalid request|nothing built yet|too many requests in flight/.test(msg.error.message)) reject(new Error(`unexpected error: ${msg.error.message}`));
              if (++count < N) return;
              if ([...seen.values()].every((n) => n === 1)) resolve();
              else reject(new Error('a request was answered twice'));
            });
            for (let i = 0; i < N; i++) {
              const kind = i % 4;
              ws.send(kind === 0 ? '{"id":' : JSON.stringify({ id: i, request: kind === 1 ? { cmd: 'project.validate', text: `name: n${i}\n` } : kind === 2 ? { cmd: 'image.inspect' } : { cmd: 'nope' } }));
            }
          }),
      ),
    );
    for (const ws of many) ws.close();
    const after = await openRetrying();
    expect((await ask(after, JSON.stringify({ id: 1, request: { cmd: 'project.validate', text: 'name: x\n' } }))).result).toBeDefined();
    after.close();
    await expectServing();
  });

  it('logged no uncaught exception and no unhandled rejection, and wrote nothing outside its cache and outputs', () => {
    expect(guiErr).not.toMatch(/uncaught|unhandled/i);
    expect(gui.exitCode).toBeNull();
    expect(arenaState()).toEqual(before);
  });

  it('stops when the process that started it dies (kill -9), and removes its temporary folder', async () => {
    const cmd = `"${process.execPath}" "${copy.cli}" gui "${project}" --port 0 --no-open --cache "${a.cache}" & echo $!; wait`;
    const parent = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    parent.stdout!.on('data', (c: Buffer) => (out += c));
    const orphan = Number(await until('its pid', () => /^(\d+)\n/.exec(out)?.[1]));
    await until('its URL', () => out.includes('http://127.0.0.1:'));
    const folders = () => readdirSync(os.tmpdir()).filter((n) => n.startsWith(`scratchyard-gui-${orphan}-`));
    expect(folders()).toHaveLength(2);
    parent.kill('SIGKILL');
    await until('it to stop', () => !alive(orphan), 20_000);
    expect(folders()).toEqual([]);
  });

  it('on SIGTERM ends its children (a terminal in the sandbox) and removes its temporary folder; the browser is left alone', async () => {
    const folders = () => readdirSync(os.tmpdir()).filter((n) => n.startsWith(`scratchyard-gui-${gui.pid}-`));
    // The launch file's (0700) and the engine's temporaries (TMPDIR, 0711: subordinate ids pass through).
    expect(folders()).toHaveLength(2);
    const tmp = path.join(os.tmpdir(), folders().find((n) => n.includes('-tmp-'))!);
    expect(statSync(tmp).mode & 0o777).toBe(0o711);
    const launch = readFileSync(path.join(notes, 'file'), 'utf8').trim();
    expect(existsSync(launch)).toBe(true);
    let children: number[] = [];
    if (!lacks('unshare', '/bin/busybox')) {
      const ws = await openRetrying();
      let screen = '';
      ws.on('message', (m: Buffer) => {
        const e = JSON.parse(String(m)) as { event?: string; data?: string };
        if (e.event === 'term.data') screen += e.data;
      });
      const started = await ask(ws, JSON.stringify({ id: 1, request: { cmd: 'run.start', runner: 'chroot', args: [], cols: 80, rows: 24 } }));
      expect(started.result, JSON.stringify(started.error)).toMatchObject({ id: expect.any(String) });
      await until('the terminal to print ready', () => screen.includes('ready'), 90_000);
      // And a build whose step never ends: nothing but the server's reaping stops a step's sandbox.
      const step = `name: hostile
layers:
  - name: base
    sources:
      - kind: busybox
  - name: step
    sources:
      - kind: run
        command: "trap '' HUP TERM INT; sleep 999"
`;
      expect((await ask(ws, JSON.stringify({ id: 2, request: { cmd: 'project.save', text: step } }))).result).toMatchObject({ problems: [] });
      ws.send(JSON.stringify({ id: 3, request: { cmd: 'build.start' } }));
      const sleeping = (arg: string) => descendants(gui.pid!).some((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${arg}\0`);
      await until('the step to run', () => sleeping('999'), 90_000);
      expect(sleeping('1000')).toBe(true);
      children = descendants(gui.pid!, new Set([browserPid]));
      // The image's root sits in the server's private temporary folder.
      expect(readdirSync(tmp).filter((n) => /^scratchyard-(run|step)-/.test(n))).toHaveLength(2);
    }
    const exited = new Promise<number | null>((resolve) => gui.on('exit', (code) => resolve(code)));
    gui.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of children) expect(alive(pid), `child ${pid}`).toBe(false);
    expect(folders()).toEqual([]);
    expect(existsSync(launch)).toBe(false);
    expect(alive(browserPid)).toBe(true);
    expect(guiErr).toMatch(/stopping \(SIGTERM\)/);
    expect(arenaState()).toEqual(before);
  }, 180_000);
});

/** A socket, retried while the server still counts closing ones against MAX_CLIENTS. */
async function openRetrying(): Promise<WebSocket> {
  for (let i = 0; i < 100; i++) {
    const ws = await connect();
    if (typeof ws !== 'number') return ws;
    if (ws !== 503) throw new Error(`refused with ${ws}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no free slot');
}
