// The sandbox: the one executor for everything that runs image content (build
// steps, the chroot runner, the app's shell, listing a recipe's busybox). Its
// model is BuildKit's Executor: a root folder, read-only mounts and a process
// spec in; an outcome, or a command a PTY can spawn, out.
//
// bubblewrap makes the materialized root the root of a fresh mount namespace
// (pivot_root, the old root detached: no chroot(2) to climb out of), always in
// a user namespace, even as real root (where the namespace maps every id to
// itself: owners are real, but mknod and mounting disks are not possible),
// with docker's default capabilities at most, its own PID, IPC and UTS
// namespaces (and network unless asked), /proc and a /dev of safe nodes only,
// read-only mounts read-only all the way down, and death with its parent.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import type { ImagePath } from '../../../shared/brand';
import { ancestors, imagePath, ROOT } from '../model/path';
import { TIMEOUT_CODE, type RunOutcome, type RunSpec } from '../model/runspec';
import { subordinateIds, type IdMap } from './idmap';
import { requireTool } from './registry';

/** docker's default capability set: a process in the sandbox never has more. */
export const DOCKER_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID',
  'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
] as const;

/** Every id a uid_map can hold (4294967295 is "no id"). */
const ALL_IDS = '0 0 4294967295';

/** How ids inside the sandbox map to the host's. */
export type Identity =
  /** Real root: every id is itself, so recipe owners are real on disk. */
  | { kind: 'identity' }
  /** A normal user with /etc/subuid ranges: the builder is 0, the range is 1..N. */
  | { kind: 'subordinate'; map: IdMap }
  /** Only the builder, as 0. */
  | { kind: 'builder' };

export function asRealRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The ids for a sandbox: identity as real root; for a normal user the
 * subordinate range when asked for and available, else the builder alone.
 */
export async function identityFor(opts: { subordinate?: boolean } = {}): Promise<Identity> {
  if (asRealRoot()) return { kind: 'identity' };
  const map = opts.subordinate ? await subordinateIds() : undefined;
  return map ? { kind: 'subordinate', map } : { kind: 'builder' };
}

/** A host file or folder bound read-only at a path inside the root. */
export interface SandboxMount {
  src: string;
  at: ImagePath;
}

/** A root that prepareRoot has checked and readied; only it makes one. */
export interface PreparedRoot {
  root: string;
  mounts: SandboxMount[];
  /** Folders and files made as mount points, as image paths: not part of the image. */
  scaffolding: ImagePath[];
  /** The image has no /tmp: a tmpfs goes there. */
  tmpfs: boolean;
  /** The root is this machine's own, read-only (tracing): see hostRoot. */
  host?: { scratch: string; hide: string[] };
}

/** Where a host-root sandbox's writable scratch folder appears inside it. */
export const HOST_SCRATCH = '/tmp/.scratchyard';

/**
 * This machine's root, read-only all the way down, as the sandbox's root (for
 * tracing host programs): private tmpfs over /tmp, /run (sockets: a read-only
 * bind still lets a process connect to the docker daemon) and the home
 * folders; `scratch`, a host folder, is writable at HOST_SCRATCH.
 */
export function hostRoot(scratch: string): PreparedRoot {
  const hide = ['/run', '/home', '/root'].filter((d) => existsSync(d));
  return { root: '/', mounts: [], scaffolding: [], tmpfs: true, host: { scratch, hide } };
}

/** The image's own tree would redirect the sandbox's setup: refused, naming the image path. */
export class SandboxSetupError extends Error {}

/**
 * Check every path the sandbox mounts on, component by component with lstat
 * inside the root, and make what is missing. A symlink or a non-folder on the
 * way is refused: bwrap resolves mount destinations while the host is still
 * reachable, so an image's `/dev -> /oldroot/home/u` must never reach it.
 */
export async function prepareRoot(root: string, mounts: SandboxMount[] = []): Promise<PreparedRoot> {
  const scaffolding: ImagePath[] = [];
  const ensure = async (at: ImagePath, leaf: 'dir' | 'file', mode = 0o755) => {
    if (at === ROOT) throw new SandboxSetupError('cannot mount over the image root /');
    const parts = [...ancestors(at), at];
    for (const [i, p] of parts.entries()) {
      const want = i === parts.length - 1 ? leaf : 'dir';
      const host = path.join(root, p);
      const st = await fs.lstat(host).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (!st) {
        if (want === 'dir') await fs.mkdir(host, { mode });
        else await fs.writeFile(host, '', { mode: 0o644, flag: 'wx' });
        if (want === 'dir' && mode & 0o7000) await fs.chmod(host, mode);
        scaffolding.push(p);
      } else if (st.isSymbolicLink()) {
        throw new SandboxSetupError(`cannot mount at ${at}: ${p} in the image is a symlink (-> ${await fs.readlink(host)}); the sandbox does not follow the image's symlinks`);
      } else if (want === 'dir' ? !st.isDirectory() : !st.isFile()) {
        throw new SandboxSetupError(`cannot mount at ${at}: ${p} in the image is not a ${want === 'dir' ? 'folder' : 'regular file'}`);
      }
    }
  };
  await ensure(imagePath('/proc'), 'dir');
  await ensure(imagePath('/dev'), 'dir');
  // The image's own /tmp when it has one (a step's writes there are its result); a symlinked /tmp is left alone.
  const tmp = await fs.lstat(path.join(root, 'tmp')).catch(() => undefined);
  if (!tmp) await ensure(imagePath('/tmp'), 'dir', 0o1777);
  for (const m of mounts) {
    const st = await fs.stat(m.src).catch(() => undefined);
    if (!st || (!st.isDirectory() && !st.isFile())) throw new SandboxSetupError(`cannot mount ${m.src} at ${m.at}: not a folder or file on this machine`);
    await ensure(m.at, st.isDirectory() ? 'dir' : 'file');
  }
  return { root, mounts, scaffolding, tmpfs: !tmp };
}

export interface SandboxSpec {
  prepared: PreparedRoot;
  /** A host folder outside the root for the sandbox's own plumbing (removed with it). */
  work: string;
  process: RunSpec;
  identity: Identity;
  /** Share the host's network (default: a namespace with only loopback). */
  network?: boolean;
  /** The process has a terminal (the app's shell): keep the session for job control. */
  tty?: boolean;
  /** How to switch to spec.process.user (see userSwitch); required when that user is not root. */
  switchUser?: UserSwitch;
  /**
   * Start inside the network namespace of this host process (a service a probe
   * runs beside): nsenter joins it, and its user namespace too when that is not
   * ours and we are not root (the owner of a user namespace may enter it).
   * Implies `network`: the joined namespace is the sandbox's.
   */
  joinNetOf?: { pid: number; userns: boolean };
}

/**
 * bwrap cannot set supplementary groups, and its --uid needs a namespace it
 * maps itself, so the first process in the sandbox (root, with docker's caps)
 * switches ids with the host's util-linux setpriv, run through the host's
 * dynamic loader from a read-only hidden mount: the image need not have it.
 */
export interface UserSwitch {
  mounts: SandboxMount[];
  /** argv prefix before the program: loader, setpriv. */
  launcher: string[];
}

export const SWITCH_DIR = '/.scratchyard-user';

let hostSwitch: Promise<{ src: string; name: string }[]> | undefined;

/** The host files setpriv needs (itself, its libraries, the loader), found once with ldd. */
export function setprivFiles(): Promise<{ src: string; name: string }[]> {
  hostSwitch ??= (async () => {
    const setpriv = requireTool('setpriv');
    const ldd = await new Promise<string>((resolve, reject) => {
      const c = spawn('ldd', [setpriv], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.on('data', (b: Buffer) => (out += b.toString()));
      c.on('error', reject);
      c.on('close', () => resolve(out));
    });
    const libs = [...ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]);
    const files = [setpriv, ...libs];
    return Promise.all(files.map(async (f) => ({ src: await fs.realpath(f), name: path.basename(f) })));
  })();
  return hostSwitch;
}

/** Undefined when the process runs as root (uid 0, gid 0, no other group). */
export async function userSwitch(user: RunSpec['user']): Promise<UserSwitch | undefined> {
  if (!needsSwitch(user)) return undefined;
  const files = await setprivFiles();
  return {
    mounts: files.map((f) => ({ src: f.src, at: imagePath(`${SWITCH_DIR}/${f.name}`) })),
    launcher: switchLauncher(files, SWITCH_DIR),
  };
}

/** argv prefix that runs setpriv (from `dir`) through its loader. */
export function switchLauncher(files: { name: string }[], dir: string): string[] {
  const loader = files.find((f) => f.name.startsWith('ld-linux'));
  if (!loader) throw new Error('setpriv: its dynamic loader was not found with ldd');
  return [`${dir}/${loader.name}`, '--library-path', dir, `${dir}/setpriv`];
}

/** Whether a run as `user` needs a switch (anything but plain root). */
export function needsSwitch(user: RunSpec['user']): boolean {
  return !!user && !(user.uid === 0 && user.gid === 0 && user.groups.every((g) => g === 0));
}

function switchArgs(spec: SandboxSpec): string[] {
  const u = spec.process.user;
  if (!u || !spec.switchUser) return [];
  const groups = u.groups.length ? ['--groups', u.groups.join(',')] : ['--clear-groups'];
  return [...spec.switchUser.launcher, '--reuid', String(u.uid), '--regid', String(u.gid), ...groups, '--'];
}

export interface SandboxCommand {
  file: string;
  args: string[];
  /** The environment of the host-side launcher; the process gets only spec.process.env. */
  env: Record<string, string>;
}

// Identity and subordinate maps are written by us, from outside, while bwrap
// waits on --userns-block-fd: bwrap reports the namespace's first process on
// --info-fd; a helper writes uid_map/gid_map (real root) or runs
// newuidmap/newgidmap (a normal user), then lets bwrap go on. On failure it
// kills both bwrap processes (the inner one is not yet bound to its parent's
// life). The launcher execs bwrap, so bwrap's parent is whoever started the
// sandbox (--die-with-parent) and its pid is the one to kill.
const LAUNCH = `W=$1 MKFIFO=$2 UIDS=$3 GIDS=$4 SETU=$5 SETG=$6; shift 6
I="$W/.userns-$$.info" B="$W/.userns-$$.block"
"$MKFIFO" -m 600 "$I" "$B" || exit 125
(
  exec 3<"$I" 4>"$B" >/dev/null
  pid=
  while read -r l <&3; do case $l in *'"child-pid"'*) pid=\${l#*: }; pid=\${pid%,}; break;; esac; done
  if [ "$SETU" = write ]; then
    echo "$UIDS" > "/proc/$pid/uid_map" && echo "$GIDS" > "/proc/$pid/gid_map"
  else
    "$SETU" "$pid" $UIDS && "$SETG" "$pid" $GIDS
  fi && printf x >&4 || { echo "scratchyard: could not map the sandbox's user ids" >&2; kill -KILL $pid $$; }
  exec 4>&-
  # bwrap may still be writing its info: read to the end, or it dies of SIGPIPE.
  while read -r l <&3; do :; done
) &
exec "$@" 3>"$I" 4<"$B"`;

const LAUNCHER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/** The command that runs spec.process in the sandbox: for runSandboxed, or for a PTY. */
export function sandboxCommand(spec: SandboxSpec): SandboxCommand {
  const bwrap = requireTool('bwrap');
  const p = spec.prepared;
  const env = spec.tty ? { TERM: 'xterm-256color', ...spec.process.env } : spec.process.env;
  const bwrapArgs = [
    '--unshare-user',
    '--uid', '0',
    '--gid', '0',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    ...(spec.network || spec.joinNetOf ? [] : ['--unshare-net']),
    '--die-with-parent',
    ...(spec.tty ? [] : ['--new-session']),
    '--cap-drop', 'ALL',
    ...DOCKER_CAPS.flatMap((c) => ['--cap-add', `CAP_${c}`]),
    ...(p.host ? ['--ro-bind', '/', '/'] : ['--bind', p.root, '/']),
    '--proc', '/proc',
    '--dev', '/dev',
    ...(p.tmpfs ? ['--perms', '1777', '--tmpfs', '/tmp'] : []),
    ...(p.host ? [...p.host.hide.flatMap((d) => ['--tmpfs', d]), '--bind', p.host.scratch, HOST_SCRATCH] : []),
    ...p.mounts.flatMap((m) => ['--ro-bind', m.src, m.at]),
    '--chdir', spec.process.workdir || '/',
    '--clearenv',
    ...Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]),
    '--',
    ...switchArgs(spec),
    ...spec.process.argv,
  ];
  const id = spec.identity;
  // Every sandboxed process starts with docker's umask, 022, whatever the builder's is: a build step's new files
  // would otherwise carry the umask of whoever built (exec keeps the pid: still the one to kill).
  const cmd = (file: string, args: string[]): SandboxCommand => {
    const [f, a] = spec.joinNetOf ? [requireTool('nsenter'), [...joinArgs(spec.joinNetOf), '--', file, ...args]] : [file, args];
    return { file: '/bin/sh', args: ['-c', 'umask 022 && exec "$@"', 'scratchyard-sandbox', f, ...a], env: LAUNCHER_ENV };
  };
  if (id.kind === 'builder') return cmd(bwrap, bwrapArgs);
  const rows = (r: IdMap['uid']) => r.map((row) => row.join(' ')).join(' ');
  const [uids, gids, setu, setg] =
    id.kind === 'identity' ? [ALL_IDS, ALL_IDS, 'write', 'write'] : [rows(id.map.uid), rows(id.map.gid), requireTool('newuidmap'), requireTool('newgidmap')];
  return cmd('/bin/sh', ['-c', LAUNCH, 'scratchyard-sandbox', spec.work, requireTool('mkfifo'), uids, gids, setu, setg, bwrap, '--info-fd', '3', '--userns-block-fd', '4', ...bwrapArgs]);
}

/** nsenter's options for joinNetOf; credentials kept (a sandbox's user namespace denies setgroups). */
function joinArgs(j: { pid: number; userns: boolean }): string[] {
  if (!Number.isSafeInteger(j.pid) || j.pid <= 0) throw new Error(`not a process id: ${j.pid}`);
  const ns = (kind: string) => `--${kind}=/proc/${j.pid}/ns/${kind}`;
  return j.userns ? ['--preserve-credentials', ns('user'), ns('net')] : [ns('net')];
}

export interface SandboxIo {
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** The caller's stdio straight through (the CLI's `run`). */
  inherit?: boolean;
  /** Abort kills the whole sandbox. */
  signal?: AbortSignal;
  /** Kill the whole sandbox after this long: the outcome says timedOut, code 124. */
  timeoutMs?: number;
  /** Told the launcher's pid once it runs (a process group with the sandbox; see sandboxPid). */
  onSpawn?: (pid: number) => void;
}

/** Run spec.process in the sandbox and wait for it. */
export function runSandboxed(spec: SandboxSpec, io: SandboxIo = {}): Promise<RunOutcome> {
  const cmd = sandboxCommand(spec);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    io.signal?.throwIfAborted();
    // Its own process group, so an abort kills the launcher's helper as well as bwrap.
    const child = spawn(cmd.file, cmd.args, { env: cmd.env, stdio: io.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid) io.onSpawn?.(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => (io.onStdout ? io.onStdout(c) : out.push(c)));
    child.stderr?.on('data', (c: Buffer) => (io.onStderr ? io.onStderr(c) : err.push(c)));
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    io.signal?.addEventListener('abort', kill, { once: true });
    let timedOut = false;
    const timer = io.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), kill()), io.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      io.signal?.removeEventListener('abort', kill);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      io.signal?.removeEventListener('abort', kill);
      resolve({
        ...(timedOut ? { timedOut } : {}),
        code: timedOut ? TIMEOUT_CODE : signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 128),
        signal,
        ms: performance.now() - t0,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}
