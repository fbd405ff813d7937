// What this machine can do: each native tool (found, version, package), the
// sandbox (bwrap in a user namespace), /dev/kvm (probed with a guest) and the
// VM runner's kernel.
import { constants, promises as fs } from 'node:fs';
import { exec } from '../tools/exec';
import { TOOLS, findTool, type ToolName } from '../tools/registry';
import { probeKvm, requireKernel } from '../run/vm';

export interface ToolReport {
  name: ToolName;
  command: string;
  path?: string;
  version?: string;
  debianPackage: string;
  purpose: string;
}

export interface DoctorReport {
  tools: ToolReport[];
  userNamespaces: { ok: boolean; detail: string };
  kvm: { present: boolean; usable: boolean; detail: string };
  /** The VM runner's kernel: found, or how to get one. */
  kernel: { path?: string; detail: string };
}

/** First line that looks like a version, from a tool's own output. */
export function parseVersion(output: string): string | undefined {
  const line = output.split('\n').find((l) => /\d+\.\d+/.test(l));
  // Some banners are framed ("*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***"): the frame is not the version.
  return line?.trim().replace(/^\*+\s*|\s*\*+$/g, '').slice(0, 120);
}

export async function doctor(): Promise<DoctorReport> {
  const tools = await Promise.all(
    (Object.keys(TOOLS) as ToolName[]).map(async (name): Promise<ToolReport> => {
      const t = TOOLS[name];
      const p = findTool(name);
      const base = { name, command: t.command, debianPackage: t.debianPackage, purpose: t.purpose };
      if (!p) return base;
      const r = await exec(p, t.versionArgs).catch(() => undefined);
      return { ...base, path: p, version: r ? parseVersion(r.stdout + '\n' + r.stderr) : undefined };
    }),
  );
  const [userNamespaces, kvm] = await Promise.all([probeUserNamespaces(), probeKvmDevice()]);
  return { tools, userNamespaces, kvm, kernel: kernelReport() };
}

/** The sandbox as build steps and runs use it: bwrap in new user, mount and PID namespaces with /proc and /dev. */
async function probeUserNamespaces(): Promise<DoctorReport['userNamespaces']> {
  const bwrap = findTool('bwrap');
  if (!bwrap) return { ok: false, detail: 'bwrap not found: the sandbox of build steps, runs and shells needs it (apt-get install bubblewrap)' };
  const r = await exec(bwrap, ['--unshare-user', '--uid', '0', '--gid', '0', '--unshare-pid', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--die-with-parent', '--', 'true']).catch((e: Error) => ({ code: 1, stderr: e.message }));
  if (r.code === 0) return { ok: true, detail: `the sandbox works: ${bwrap} makes user, mount and PID namespaces` };
  return {
    ok: false,
    detail: userNamespaceAdvice(r.stderr, {
      unprivilegedClone: await readSysctl('/proc/sys/kernel/unprivileged_userns_clone'),
      apparmorRestrict: await readSysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
      maxUserNamespaces: await readSysctl('/proc/sys/user/max_user_namespaces'),
    }),
  };
}

/** The kernel settings that can block unprivileged user namespaces, as read from /proc/sys. */
export interface UserNamespaceSettings {
  unprivilegedClone?: string;
  apparmorRestrict?: string;
  maxUserNamespaces?: string;
}

/** Why the sandbox could not make its user namespace and which setting to change, from bwrap's error and the settings. */
export function userNamespaceAdvice(stderr: string, s: UserNamespaceSettings): string {
  const hints: string[] = [];
  if (s.unprivilegedClone === '0') hints.push('Debian\'s switch is off: sysctl -w kernel.unprivileged_userns_clone=1');
  if (s.apparmorRestrict === '1') hints.push('AppArmor restricts them: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or give the app an AppArmor profile with "userns,")');
  // ENOSPC from unshare(2) means the namespace count limit: zero, or used up (also inside a sandbox that disabled nesting).
  if (s.maxUserNamespaces === '0' || /No space left on device|ENOSPC/.test(stderr)) hints.push('the user namespace limit is zero or reached (also inside a sandbox that disables nested namespaces): sysctl -w user.max_user_namespaces=15000');
  return [`the sandbox (bwrap) could not create a user namespace: ${stderr.trim()}`, ...hints].join('; ');
}

async function readSysctl(p: string): Promise<string | undefined> {
  return (await fs.readFile(p, 'utf8').catch(() => undefined))?.trim();
}

/** /dev/kvm, and whether a guest really runs on it (the VM runner's probe, remembered per host boot). */
async function probeKvmDevice(): Promise<DoctorReport['kvm']> {
  const present = await fs
    .access('/dev/kvm', constants.F_OK)
    .then(() => true)
    .catch(() => false);
  const probe = await probeKvm();
  return { present, usable: probe.usable, detail: probe.detail };
}

function kernelReport(): DoctorReport['kernel'] {
  try {
    const k = requireKernel();
    return { path: k, detail: `the VM runner boots ${k}` };
  } catch (e) {
    return { detail: (e as Error).message };
  }
}
