// The VM wrapper: PID 1 of a guest booted from a Scratchyard initrd. It is a
// busybox sh script run by the host's static busybox, which the initrd carries
// at a hidden path (never in the image outputs), so images without any shell
// boot too. Kept here as text rather than as a file under assets/ so the CLI,
// the Electron bundle and packaged builds all carry it without a path lookup.
//
// Serial ports (qemu -serial, in order): ttyS0 the console (kernel messages,
// the program's stderr, the interactive shell), ttyS1 the program's stdout,
// ttyS2 its exit code. The run's argv, environment and workdir come from
// /.scratchyard/spec, written by the initrd writer for each run.
import type { ImagePath } from '../../../shared/brand';
import type { ProcessUser } from '../model/users';

export const HIDDEN_DIR = '/.scratchyard' as ImagePath;
export const WRAPPER_PATH = '/.scratchyard/rdinit' as ImagePath;
export const BUSYBOX_PATH = '/.scratchyard/busybox' as ImagePath;
export const SPEC_PATH = '/.scratchyard/spec' as ImagePath;

export const VM_WRAPPER = `#!/.scratchyard/busybox sh
# Scratchyard VM wrapper (PID 1). The image may have no tools at all: every
# command is an applet of the busybox running this script. Once /proc is
# mounted, applets are called by name: busybox's sh then runs the "nofork" ones
# (mkdir, ln, echo, sync) in-process, which under TCG saves an exec each.
B=/.scratchyard/busybox
$B mkdir -p /proc /sys /dev /tmp
$B mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
# stdout and exit code on their own ports when the VM has them (Scratchyard's
# runner gives three); booted by hand with one serial port, all goes to the console.
OUT=/dev/console RC=
if grep -q '^1: uart:16550' /proc/tty/driver/serial 2>/dev/null; then OUT=/dev/ttyS1; fi
if grep -q '^2: uart:16550' /proc/tty/driver/serial 2>/dev/null; then RC=/dev/ttyS2; fi
# Raw ports: no \\n -> \\r\\n, no echo. Closing a port waits until it is sent.
[ "$OUT" = /dev/ttyS1 ] && stty -F /dev/ttyS1 raw -echo 2>/dev/null
[ -n "$RC" ] && stty -F /dev/ttyS2 raw -echo 2>/dev/null
# The spec sets SY_MODE (run or console), SY_WORKDIR, and "$@" = NAME=VALUE... argv...
. /.scratchyard/spec
# A workdir the image lacks is made, as docker makes it.
mkdir -p "$SY_WORKDIR" 2>/dev/null
if ! cd "$SY_WORKDIR" 2>/dev/null; then
  echo "scratchyard: workdir $SY_WORKDIR does not exist in the image" >/dev/console
  rc=125
elif [ "$SY_MODE" = console ]; then
  setsid cttyhack env -i "$@"
  rc=$?
else
  env -i "$@" </dev/null >"$OUT" 2>/dev/console
  rc=$?
fi
if [ -n "$RC" ]; then echo "$rc" >"$RC"; else echo "scratchyard: exit code $rc" >/dev/console; fi
sync
poweroff -f
`;

export interface WrapperSpec {
  mode: 'run' | 'console';
  argv: string[];
  env: Record<string, string>;
  workdir: string;
  user?: ProcessUser;
  /** How the guest switches to `user` (setpriv through the loader, carried in the initrd's hidden folder). */
  launcher?: string[];
}

/** POSIX sh single quoting. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The /.scratchyard/spec file the wrapper sources. */
export function wrapperSpecText(spec: WrapperSpec): string {
  const env = Object.keys(spec.env)
    .sort()
    .map((k) => `${k}=${spec.env[k]}`);
  const u = spec.user;
  const drop = u && spec.launcher ? [...spec.launcher, '--reuid', String(u.uid), '--regid', String(u.gid), ...(u.groups.length ? ['--groups', u.groups.join(',')] : ['--clear-groups']), '--'] : [];
  return [`SY_MODE=${spec.mode}`, `SY_WORKDIR=${shQuote(spec.workdir || '/')}`, `set -- ${[...env, ...drop, ...spec.argv].map(shQuote).join(' ')}`, ''].join('\n');
}
