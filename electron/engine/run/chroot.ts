// The chroot runner: a materialized root, entered with `unshare` in a new user,
// mount and PID namespace (no real root needed), with /proc mounted and a
// minimal /dev of bind-mounted host devices.
import { promises as fs } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { exec, type ExecOptions } from '../tools/exec';
import { requireTool } from '../tools/registry';

export interface RunSpec {
  argv: string[];
  env: Record<string, string>;
  workdir: string;
}

export interface RunOutcome {
  code: number;
  signal: NodeJS.Signals | null;
  ms: number;
  stdout: string;
  stderr: string;
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
const DEV_LINKS: [string, string][] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

// Runs on the host side of the namespaces, before entering the root; every
// command by absolute path because PATH is already the image's.
const ENTER = `R=$1 MOUNT=$2 UNSHARE=$3 WD=$4; shift 4
for d in ${DEVICES.join(' ')}; do "$MOUNT" --bind "/dev/$d" "$R/dev/$d" 2>/dev/null || true; done
exec "$UNSHARE" --root="$R" --wd="$WD" --mount-proc "$@"`;

/** Mount points and /dev placeholders inside a materialized root (not part of the image). */
export async function prepareRoot(root: string): Promise<void> {
  for (const d of ['proc', 'dev', 'dev/pts', 'dev/shm', 'tmp']) {
    const p = path.join(root, d);
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st) await fs.mkdir(p, { mode: d === 'tmp' ? 0o1777 : 0o755 });
  }
  for (const d of DEVICES) await fs.writeFile(path.join(root, 'dev', d), '', { flag: 'a' });
  for (const [name, target] of DEV_LINKS) await fs.symlink(target, path.join(root, 'dev', name)).catch(() => {});
}

/** The command that runs `spec` in a prepared root; for exec here, or for a PTY in the desktop host. */
export function chrootCommand(root: string, spec: RunSpec): { file: string; args: string[]; env: Record<string, string> } {
  const unshare = requireTool('unshare');
  const mount = requireTool('mount');
  return {
    file: unshare,
    args: ['--user', '--map-root-user', '--mount', '--pid', '--fork', '--kill-child', '--', '/bin/sh', '-c', ENTER, 'scratchyard-enter', root, mount, unshare, spec.workdir || '/', ...spec.argv],
    env: spec.env,
  };
}

export async function runChroot(root: string, spec: RunSpec, io: Pick<ExecOptions, 'onStdout' | 'onStderr' | 'inherit' | 'signal'> = {}): Promise<RunOutcome> {
  const cmd = chrootCommand(root, spec);
  await prepareRoot(root);
  const t0 = performance.now();
  const r = await exec(cmd.file, cmd.args, { env: cmd.env, ...io });
  return { code: r.signal ? 128 + signalNumber(r.signal) : r.code, signal: r.signal, ms: performance.now() - t0, stdout: r.stdout, stderr: r.stderr };
}

function signalNumber(s: NodeJS.Signals): number {
  const n = constants.signals[s];
  return n ?? 0;
}
