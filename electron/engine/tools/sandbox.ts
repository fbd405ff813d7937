// The sandbox executor: a materialized root, entered with `unshare` in a new user,
// mount and PID namespace (no real root needed), with /proc mounted and a
// minimal /dev of bind-mounted host devices.
import { promises as fs } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import type { RunOutcome, RunSpec } from '../model/runspec';
import { exec, type ExecOptions } from './exec';
import { requireTool } from './registry';
import { namespaceArgs } from './idmap';


const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
const DEV_LINKS: [string, string][] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

// Runs on the host side of the namespaces, before entering the root; every
// command by absolute path because PATH is already the image's.
// Extra read-only binds (build-step mounts) come as N pairs of source and target.
const ENTER = `R=$1 MOUNT=$2 UNSHARE=$3 WD=$4 N=$5; shift 5
for d in ${DEVICES.join(' ')}; do "$MOUNT" --bind "/dev/$d" "$R/dev/$d" 2>/dev/null || true; done
while [ "$N" -gt 0 ]; do
  "$MOUNT" --rbind "$1" "$R$2" && "$MOUNT" -o remount,bind,ro "$R$2" || exit 125
  shift 2; N=$((N - 1))
done
exec "$UNSHARE" --root="$R" --wd="$WD" --mount-proc "$@"`;

/**
 * Run as real root, a chroot needs no user namespace and the recipe's owners
 * are real: a program can drop to its users (su, setpriv), a build step can
 * chown. Otherwise only the builder is mapped, to root.
 */
export function asRealRoot(): boolean {
  return process.getuid?.() === 0;
}

export interface ChrootOptions {
  /** Host folders bound read-only at paths inside the root (which must exist). */
  binds?: { src: string; at: string }[];
  /** false: a network namespace of its own, with only loopback. */
  network?: boolean;
  /**
   * Real root only: no user namespace, so the step sees and sets every id.
   * Otherwise only the builder is mapped (to root).
   */
  realRoot?: boolean;
  /** Not real root: map the builder's subordinate ids too (see idmap.ts). */
  subordinate?: boolean;
}

/**
 * Mount points and /dev placeholders inside a materialized root (not part of
 * the image). Returns what it created, as image paths, so a build step can
 * leave them out of what it captures.
 */
export async function prepareRoot(root: string): Promise<string[]> {
  const created: string[] = [];
  const make = async (rel: string, fn: (p: string) => Promise<unknown>) => {
    const p = path.join(root, rel);
    if (await fs.lstat(p).catch(() => undefined)) return;
    await fn(p);
    created.push('/' + rel);
  };
  for (const d of ['proc', 'dev', 'dev/pts', 'dev/shm', 'tmp']) await make(d, (p) => fs.mkdir(p, { mode: d === 'tmp' ? 0o1777 : 0o755 }));
  for (const d of DEVICES) await make(`dev/${d}`, (p) => fs.writeFile(p, ''));
  for (const [name, target] of DEV_LINKS) await make(`dev/${name}`, (p) => fs.symlink(target, p));
  if (created.includes('/tmp')) await fs.chmod(path.join(root, 'tmp'), 0o1777);
  return created;
}

/** The command that runs `spec` in a prepared root; for exec here, or for a PTY in the desktop host. */
export function chrootCommand(root: string, spec: RunSpec, opts: ChrootOptions = {}): { file: string; args: string[]; env: Record<string, string> } {
  const unshare = requireTool('unshare');
  const mount = requireTool('mount');
  const binds = opts.binds ?? [];
  return {
    file: unshare,
    args: [
      ...(opts.realRoot ? [] : namespaceArgs(!!opts.subordinate)),
      ...(opts.network === false ? ['--net'] : []),
      '--mount',
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      '/bin/sh',
      '-c',
      ENTER,
      'scratchyard-enter',
      root,
      mount,
      unshare,
      spec.workdir || '/',
      String(binds.length),
      ...binds.flatMap((b) => [b.src, b.at]),
      ...spec.argv,
    ],
    env: spec.env,
  };
}

/** Run `spec` in a root that prepareRoot has already readied. */
export async function runChroot(root: string, spec: RunSpec, io: Pick<ExecOptions, 'onStdout' | 'onStderr' | 'inherit' | 'signal'> = {}, opts: ChrootOptions = {}): Promise<RunOutcome> {
  const cmd = chrootCommand(root, spec, opts);
  const t0 = performance.now();
  const r = await exec(cmd.file, cmd.args, { env: cmd.env, ...io });
  return { code: r.signal ? 128 + signalNumber(r.signal) : r.code, signal: r.signal, ms: performance.now() - t0, stdout: r.stdout, stderr: r.stderr };
}

function signalNumber(s: NodeJS.Signals): number {
  const n = constants.signals[s];
  return n ?? 0;
}
