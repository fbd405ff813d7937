// Install what is missing before `npm test` / `npm start`: npm packages, then
// Debian packages through apt-get when we are root or have password-less sudo;
// otherwise one line saying what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { DEBIAN_PACKAGES } from './deps.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function have(probe) {
  if (probe.startsWith('/')) return existsSync(probe);
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    try {
      accessSync(path.join(dir, probe), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

if (!existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  console.error('scratchyard: installing npm packages (npm ci)…');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

const missing = DEBIAN_PACKAGES.filter((d) => !have(d.probe)).map((d) => d.pkg);
if (missing.length) {
  const asRoot = process.getuid?.() === 0;
  const sudo = !asRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (asRoot || sudo) {
    const pre = asRoot ? [] : ['sudo', '-n'];
    const run = (args) => execFileSync(pre[0] ?? args[0], pre.length ? [...pre.slice(1), ...args] : args.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    console.error(`scratchyard: installing Debian packages: ${missing.join(' ')}`);
    run(['apt-get', 'update', '-qq']);
    run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing]);
  } else {
    console.error(`scratchyard: missing Debian packages; install them with: sudo apt-get install ${missing.join(' ')}`);
  }
}
