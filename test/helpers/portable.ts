// The CLI as it runs for someone who cannot read the checkout: CI may clone
// into a folder only root can enter (mkdir -m 700), and a test that runs the
// CLI as a normal user must not depend on that. The bundle and what it loads
// at run time (node-pty's JavaScript and native module; the renderer for
// `gui`) are copied to a world-readable temp folder, and such runs start there.
import { chmodSync, cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO, sh, tempDir } from './env';

export interface PortableCli {
  /** dist/cli.mjs of the copy. */
  cli: string;
  /** The copy's folder (world-readable, removed after the test file). */
  dir: string;
  /** The copy's renderer folder (present when asked for). */
  renderer: string;
}

/** A copy of the CLI bundle any user can read and run; `renderer` adds the built renderer for `gui`. */
export function portableCli(opts: { renderer?: boolean } = {}): PortableCli {
  const dir = tempDir('sy-cli-');
  chmodSync(dir, 0o755);
  const dist = path.join(dir, 'dist');
  mkdirSync(dist, { mode: 0o755 });
  // The entry (cli.mjs) loads the engine bundle beside it (cli-engine.cjs): copy every CLI file.
  for (const f of readdirSync(path.join(REPO, 'dist'))) if (f.startsWith('cli')) cpSync(path.join(REPO, 'dist', f), path.join(dist, f));
  const pty = path.join(REPO, 'node_modules/node-pty');
  const ptyCopy = path.join(dir, 'node_modules/node-pty');
  mkdirSync(ptyCopy, { recursive: true, mode: 0o755 });
  for (const f of ['package.json', 'lib', 'build/Release/pty.node']) cpSync(path.join(pty, f), path.join(ptyCopy, f), { recursive: true });
  const renderer = path.join(dist, 'renderer');
  if (opts.renderer) cpSync(path.join(REPO, 'dist/renderer'), renderer, { recursive: true });
  // Whatever the checkout's modes were, everyone may read the copy and enter its folders.
  sh('chmod', ['-R', 'a+rX', dir]);
  return { cli: path.join(dist, 'cli.mjs'), dir, renderer };
}

/** The throwaway user the normal-user tests run as when the suite runs as root (created when missing, as CI does). */
export const NORMAL_USER = 'scratchyard-ci';

/** Create the normal user when missing; useradd also gives it subordinate ids (/etc/subuid). */
export function ensureNormalUser(): { uid: number; gid: number } {
  if (sh('id', ['-u', NORMAL_USER]).code !== 0) {
    const r = sh('useradd', ['--create-home', NORMAL_USER]);
    if (r.code !== 0) throw new Error(`useradd ${NORMAL_USER}: ${r.stderr}`);
  }
  return { uid: Number(sh('id', ['-u', NORMAL_USER]).stdout), gid: Number(sh('id', ['-g', NORMAL_USER]).stdout) };
}

/** argv prefix that runs the rest as the normal user, with HOME and PATH set: runuser -u USER -- env ... */
export function asNormalUser(home: string): string[] {
  return ['runuser', '-u', NORMAL_USER, '--', 'env', `HOME=${home}`, `PATH=${process.env.PATH}`];
}
