// `npm start`: the desktop app on the bundled example. Electron when its binary
// is here (the download is tried once when it is not); otherwise, or when
// Electron cannot start (no display), the same renderer and engine in browser
// mode on 127.0.0.1, with the URL printed and opened when a browser exists.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const node = process.execPath;
const example = path.join(root, 'assets/examples/hello');
const project = process.argv[2] ? path.resolve(process.argv[2]) : example;
execFileSync(node, [path.join(root, 'scripts/ensure-deps.mjs')], { stdio: 'inherit' });
execFileSync(node, [path.join(root, 'scripts/bundle.mjs')], { stdio: 'inherit', cwd: root });
execFileSync(node, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { stdio: 'inherit', cwd: root });

function electronBinary() {
  const dir = path.dirname(createRequire(import.meta.url).resolve('electron'));
  const txt = path.join(dir, 'path.txt');
  if (!existsSync(txt)) return undefined;
  const bin = path.join(dir, 'dist', readFileSync(txt, 'utf8').trim());
  return existsSync(bin) ? bin : undefined;
}

let bin = electronBinary();
let downloadError = '';
if (!bin) {
  console.error('scratchyard: fetching the Electron binary (once)…');
  const dir = path.dirname(createRequire(import.meta.url).resolve('electron'));
  // Its installer prints a whole stack when the host cannot be reached: keep only the reason.
  const r = spawnSync(node, [path.join(dir, 'install.js')], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', timeout: 90_000 });
  bin = electronBinary();
  if (!bin) downloadError = (r.stderr ?? '').split('\n').find((l) => l.trim() && !/^\s+at /.test(l))?.trim() ?? (r.error?.message || 'no reason given');
}

// Stopping `npm start` stops the app: a signal is passed on to the child (the
// app then ends its own builds and terminals), and we exit when it has.
let child;
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    stopping = true;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
    else process.exit(130);
  });
}

// The app prints its URL (with the launch's token) and opens the browser on a
// private redirect file itself: the token is never put on a command line here.
function browserMode(why) {
  console.error(`scratchyard: ${why}; starting browser mode instead.`);
  child = spawn(node, [path.join(root, 'dist/cli.mjs'), 'gui', project], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
}

if (!bin) browserMode(`Electron is not available (its download failed: ${downloadError})`);
else {
  const args = [path.join(root, 'dist/electron/main.cjs'), project, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
  const started = Date.now();
  const app = spawn(bin, args, { stdio: 'inherit' });
  child = app;
  app.on('exit', (code) => {
    if (code !== 0 && !stopping && Date.now() - started < 5000) browserMode(`Electron could not start (exit ${code})`);
    else process.exit(code ?? 0);
  });
  app.on('error', (e) => !stopping && browserMode(`Electron could not start (${e.message})`));
}
