// The VM runner: qemu boots the host's kernel with the image's initrd (no
// disk, no network). Three serial ports keep the streams apart: ttyS0 is the
// console (kernel, the program's stderr, or an interactive shell), ttyS1 the
// program's stdout and ttyS2 its exit code, each read from its own socket.
import { randomBytes } from 'node:crypto';
import { constants, promises as fs, readdirSync, accessSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BuildCache, defaultCacheDir } from '../store/cache';
import { writeFileAtomic } from '../store/atomic';
import { exec, type ExecOptions } from '../tools/exec';
import { TIMEOUT_CODE, type RunOutcome } from '../model/runspec';
import { BUSYBOX_PATH, WRAPPER_PATH, type WrapperSpec } from '../export/vmwrapper';
import { initrdBlob } from '../export/initrd';
import { treeDigest } from '../model/filelist';
import { findTool, requireTool } from '../tools/registry';
import { imageProcess, runSpec } from './process';
import type { BuiltImage, Runner } from './runner';

export type Accel = 'kvm' | 'tcg';

export interface VmSettings {
  /** A kernel image; default: the newest readable /boot/vmlinuz-*. */
  kernel?: string;
  /** Kill a guest that has not powered off after this long. Default 120 s. */
  timeoutMs?: number;
  /** auto: KVM when a probe guest runs under it, TCG otherwise. */
  accel?: Accel | 'auto';
  cacheDir?: string;
  /** The limit is the run's --timeout: reaching it is a result (timedOut, code 124), not an error. */
  timeoutIsResult?: boolean;
}

export const DEFAULT_VM_TIMEOUT_MS = 120_000;
const KVM_PROBE_MS = 4_000;
const MIB = 1 << 20;

export class NoKernelError extends Error {
  constructor(detail = 'no readable /boot/vmlinuz-*') {
    super(`no kernel for the VM runner (${detail}). Install one with: apt-get install linux-image-amd64 (or pass --kernel PATH)`);
  }
}

export class VmTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`the VM did not power off within ${Math.round(ms / 1000)} s and was stopped (the program never ended; raise the limit with --timeout SECONDS)`);
  }
}

export class VmFailedError extends Error {}

/** The newest kernel image in `dir` the user can read, by version order. */
export function findKernel(dir = '/boot'): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith('vmlinuz-'));
  } catch {
    return undefined;
  }
  names.sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  for (const n of names) {
    try {
      accessSync(path.join(dir, n), constants.R_OK);
      return path.join(dir, n);
    } catch {
      // root-only on some distributions; try the next
    }
  }
  return undefined;
}

export function requireKernel(kernel?: string): string {
  const k = kernel ?? process.env.SCRATCHYARD_KERNEL ?? findKernel();
  if (!k) throw new NoKernelError();
  try {
    accessSync(k, constants.R_OK);
  } catch {
    throw new NoKernelError(`${k} is missing or not readable`);
  }
  return k;
}

/** Guest memory: three times the unpacked initrd (it lives in RAM twice while unpacking) and room for the kernel. */
export function guestMemoryMiB(unpackedBytes: number): number {
  return Math.max(128, Math.ceil((3 * unpackedBytes) / MIB) + 64);
}

/** qboot starts a kernel faster than SeaBIOS and prints nothing on the console. */
function firmwareArgs(): string[] {
  try {
    accessSync('/usr/share/qemu/qboot.rom', constants.R_OK);
    return ['-bios', 'qboot.rom'];
  } catch {
    return [];
  }
}

export interface QemuCommand {
  file: string;
  args: string[];
}

/**
 * The qemu command line. The console is qemu's stdio (signal=off: Ctrl-C
 * belongs to the guest); stdout and exit code go to unix sockets, or nowhere
 * for an interactive console.
 */
export function qemuCommand(o: { kernel: string; initrd: string; memMiB: number; accel: Accel; outSock?: string; rcSock?: string }): QemuCommand {
  const serial = (id: string, sock?: string) => (sock ? ['-chardev', `socket,id=${id},path=${sock}`, '-serial', `chardev:${id}`] : ['-serial', 'null']);
  return {
    file: requireTool('qemu'),
    args: [
      '-accel', o.accel,
      '-M', 'pc',
      ...(o.accel === 'kvm' ? ['-cpu', 'host'] : []),
      ...firmwareArgs(),
      '-m', String(o.memMiB),
      '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-kernel', o.kernel,
      '-initrd', o.initrd,
      // panic=-1 with -no-reboot: a wrapper that dies ends qemu instead of hanging it.
      '-append', `console=ttyS0 quiet loglevel=0 panic=-1 rdinit=${WRAPPER_PATH}`,
      '-chardev', 'stdio,id=con,signal=off',
      '-serial', 'chardev:con',
      ...serial('out', o.outSock),
      ...serial('rc', o.rcSock),
    ],
  };
}

// ---- KVM probe -------------------------------------------------------------

export interface KvmProbe {
  usable: boolean;
  detail: string;
}

let probed: Promise<KvmProbe> | undefined;

/**
 * Can /dev/kvm run a guest? The kernel is booted with no root at all: under
 * working KVM it panics within a second and (panic=-1, -no-reboot) qemu exits;
 * a guest that has not by the deadline means KVM cannot run guests here. Asked
 * once per process and remembered per boot of the host in the cache folder.
 */
export function probeKvm(opts: { kernel?: string; cacheDir?: string } = {}): Promise<KvmProbe> {
  probed ??= probeKvmUncached(opts);
  return probed;
}

async function probeKvmUncached(opts: { kernel?: string; cacheDir?: string }): Promise<KvmProbe> {
  try {
    await fs.access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch (e) {
    const absent = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return { usable: false, detail: absent ? 'no /dev/kvm: VMs run under TCG emulation' : 'no read/write permission on /dev/kvm (join the kvm group): VMs run under TCG' };
  }
  let kernel: string;
  let qemu: string;
  try {
    kernel = requireKernel(opts.kernel);
    qemu = requireTool('qemu');
  } catch (e) {
    return { usable: false, detail: `/dev/kvm is accessible but no guest can be probed: ${(e as Error).message}` };
  }
  const bootId = (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  const memo = path.join(opts.cacheDir ?? defaultCacheDir(), 'kvm-probe.json');
  const id = JSON.stringify({ bootId, kernel, qemu });
  try {
    const rec = JSON.parse(await fs.readFile(memo, 'utf8')) as { id: string; result: KvmProbe };
    if (rec.id === id) return rec.result;
  } catch {
    // not probed on this boot yet
  }
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, KVM_PROBE_MS);
  const args = ['-accel', 'kvm', '-M', 'pc', '-cpu', 'host', ...firmwareArgs(), '-m', '128', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot', '-kernel', kernel, '-append', 'panic=-1 loglevel=0', '-serial', 'null'];
  const r = await exec(qemu, args, { signal: ac.signal }).catch((e: Error) => ({ code: -1, stderr: timedOut ? '' : e.message }));
  clearTimeout(timer);
  const result: KvmProbe = timedOut
    ? { usable: false, detail: `/dev/kvm is present but a probe guest did not finish within ${KVM_PROBE_MS / 1000} s (no nested virtualization?): VMs run under TCG` }
    : r.code === 0
      ? { usable: true, detail: 'a probe guest ran under KVM' }
      : { usable: false, detail: `qemu could not start a KVM guest (${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}): VMs run under TCG` };
  await fs.mkdir(path.dirname(memo), { recursive: true }).catch(() => {});
  await writeFileAtomic(memo, JSON.stringify({ id, result })).catch(() => {});
  return result;
}

export async function chooseAccel(settings: VmSettings): Promise<Accel> {
  const want = settings.accel ?? (process.env.SCRATCHYARD_VM_ACCEL as Accel | undefined) ?? 'auto';
  if (want !== 'auto') return want;
  return (await probeKvm({ kernel: settings.kernel, cacheDir: settings.cacheDir })).usable ? 'kvm' : 'tcg';
}

// ---- runs ------------------------------------------------------------------

export interface VmOutcome extends RunOutcome {
  accel: Accel;
}

/** A unix socket that collects what qemu's chardev client writes to it. */
async function listen(file: string, onData?: (b: Buffer) => void): Promise<{ server: net.Server; data: () => Buffer; closed: Promise<void> }> {
  const chunks: Buffer[] = [];
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const server = net.createServer((sock) => {
    sock.on('data', (b: Buffer) => (onData ? onData(b) : chunks.push(b)));
    sock.on('close', () => resolveClosed());
    sock.on('error', () => resolveClosed());
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(file, () => res());
  });
  return { server, data: () => Buffer.concat(chunks), closed };
}

/**
 * Boot `initrd` (whose wrapper runs one program) and return the program's
 * stdout and exit code as the chroot runner does; the console becomes stderr.
 */
export async function runVm(initrd: string, unpacked: number, settings: VmSettings, io: Pick<ExecOptions, 'onStdout' | 'onStderr' | 'inherit' | 'signal'> = {}): Promise<VmOutcome> {
  const kernel = requireKernel(settings.kernel);
  const accel = await chooseAccel(settings);
  const timeoutMs = settings.timeoutMs ?? DEFAULT_VM_TIMEOUT_MS;
  // Socket paths must stay under 108 bytes: a short folder in the system temp dir.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `sy-vm-${randomBytes(2).toString('hex')}-`));
  const stdoutSink = io.inherit ? (b: Buffer) => process.stdout.write(b) : io.onStdout;
  const out = await listen(path.join(dir, 'out'), stdoutSink);
  const rc = await listen(path.join(dir, 'rc'));
  const cmd = qemuCommand({ kernel, initrd, memMiB: guestMemoryMiB(unpacked), accel, outSock: path.join(dir, 'out'), rcSock: path.join(dir, 'rc') });
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  const onAbort = () => ac.abort();
  io.signal?.addEventListener('abort', onAbort);
  const consoleChunks: Buffer[] = [];
  const qemuErr: Buffer[] = [];
  const t0 = performance.now();
  try {
    const consoleSink = (b: Buffer) => {
      const text = Buffer.from(b.toString('latin1').replace(/\r/g, ''), 'latin1');
      if (io.inherit) process.stderr.write(text);
      else if (io.onStderr) io.onStderr(text);
      else consoleChunks.push(text);
    };
    const r = await exec(cmd.file, cmd.args, { signal: ac.signal, onStdout: consoleSink, onStderr: (b) => qemuErr.push(b) }).catch((e: Error) => {
      if (timedOut && settings.timeoutIsResult) return undefined;
      if (timedOut) throw new VmTimeoutError(timeoutMs);
      if (io.signal?.aborted) throw e;
      throw new VmFailedError(`qemu failed: ${e.message}`);
    });
    const ms = performance.now() - t0;
    if (!r) return { code: TIMEOUT_CODE, timedOut: true, signal: null, ms, stdout: out.data().toString(), stderr: Buffer.concat(consoleChunks).toString(), accel };
    // qemu has exited; give the sockets a moment to deliver their last bytes.
    await Promise.race([Promise.all([out.closed, rc.closed]), new Promise((res) => setTimeout(res, 500))]);
    const codeText = rc.data().toString().trim();
    const stderr = Buffer.concat(consoleChunks).toString();
    if (!/^\d+$/.test(codeText)) {
      const why = Buffer.concat(qemuErr).toString().trim() || stderr.trim().split('\n').slice(-5).join('\n') || `qemu exit code ${r.code}`;
      throw new VmFailedError(`the VM stopped without reporting the program's exit code:\n${why}`);
    }
    return { code: Number(codeText), signal: null, ms, stdout: out.data().toString(), stderr, accel };
  } finally {
    clearTimeout(timer);
    io.signal?.removeEventListener('abort', onAbort);
    out.server.close();
    rc.server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

// ---- the Runner ------------------------------------------------------------

/** The image's initrd (from the cache when it was made before) whose wrapper runs `spec`. */
export async function imageInitrd(image: BuiltImage, spec: WrapperSpec): Promise<{ path: string; unpacked: number }> {
  const cache = new BuildCache(image.cacheDir);
  await cache.open();
  const blob = await initrdBlob(image.store, cache, image.tree, treeDigest(image.tree), spec, image.recipe.epoch, true);
  return { path: image.store.pathOf(blob.digest), unpacked: blob.unpacked };
}

async function consoleCommand(image: BuiltImage, settings: VmSettings, spec: WrapperSpec): Promise<QemuCommand> {
  const rd = await imageInitrd(image, spec);
  const s = { cacheDir: image.cacheDir, ...settings };
  return qemuCommand({ kernel: requireKernel(s.kernel), initrd: rd.path, memMiB: guestMemoryMiB(rd.unpacked), accel: await chooseAccel(s) });
}

/** qemu booting the image with the initrd's busybox sh on the serial console (the app's VM shell). */
export function vmShellCommand(image: BuiltImage, settings: VmSettings = {}): Promise<QemuCommand> {
  const recipe = { ...image.recipe, config: { ...image.recipe.config, entrypoint: [BUSYBOX_PATH, 'sh'], cmd: [] } };
  return consoleCommand(image, settings, { mode: 'console', ...runSpec(recipe, []) });
}

/** The VM runner, with its kernel, acceleration and default time limit. */
export function vmRunner(settings: VmSettings = {}): Runner {
  return {
    name: 'vm',
    needsArchive: false,
    abilities: () => ({ publish: false, probe: false }),
    async problem() {
      if (!findTool('qemu')) return 'qemu-system-x86_64 not found (apt-get install qemu-system-x86)';
      if (!settings.kernel && !process.env.SCRATCHYARD_KERNEL && !findKernel()) return new NoKernelError().message;
      return undefined;
    },
    async prepare(image, request) {
      const flags = request.flags;
      if (flags.network === 'host') throw new VmFailedError('--network host: the VM runner has no network to share (the guest has none); not supported');
      const spec = await imageProcess(image.recipe, image.tree, image.store, request.args, flags);
      const rd = await imageInitrd(image, { mode: 'run', ...spec });
      const timeoutMs = flags.timeoutMs ?? settings.timeoutMs;
      const run: VmSettings = { cacheDir: image.cacheDir, ...settings, timeoutMs, timeoutIsResult: flags.timeoutMs !== undefined };
      return {
        runner: 'vm',
        start(io) {
          const ac = new AbortController();
          let stopped = false;
          const abort = () => ac.abort();
          io.signal?.addEventListener('abort', abort, { once: true });
          const done = runVm(rd.path, rd.unpacked, run, { ...io, signal: ac.signal })
            .catch((e: unknown) => {
              if (!stopped || io.signal?.aborted) throw e;
              return { code: 137, signal: 'SIGKILL' as const, ms: 0, stdout: '', stderr: '' }; // stopped on request
            })
            .finally(() => io.signal?.removeEventListener('abort', abort));
          return {
            done,
            stop: () => ((stopped = true), ac.abort()),
            network: async () => undefined,
          };
        },
        terminal: () => consoleCommand(image, settings, { mode: 'console', ...spec }),
        release: async () => {},
      };
    },
  };
}
