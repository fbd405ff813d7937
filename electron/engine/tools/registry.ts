// The native tools Scratchyard drives, and the Debian package that provides each.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface ToolInfo {
  /** Command name looked up on PATH. */
  command: string;
  /** Debian package that provides it. */
  debianPackage: string;
  /** What Scratchyard uses it for. */
  purpose: string;
  /** Arguments that print a version. */
  versionArgs: string[];
  /** Preferred absolute paths, tried before PATH (docker: Debian's own client). */
  prefer?: string[];
}

export const TOOLS = {
  bwrap: { command: 'bwrap', debianPackage: 'bubblewrap', purpose: 'the sandbox of build steps, chroot runs and shells', versionArgs: ['--version'] },
  unshare: { command: 'unshare', debianPackage: 'util-linux', purpose: 'giving build steps their owners, debootstrap without root', versionArgs: ['--version'] },
  chroot: { command: 'chroot', debianPackage: 'coreutils', purpose: 'debootstrap\'s second stage', versionArgs: ['--version'] },
  setpriv: { command: 'setpriv', debianPackage: 'util-linux', purpose: 'running a chroot run as the image config\'s user', versionArgs: ['--version'] },
  nsenter: { command: 'nsenter', debianPackage: 'util-linux', purpose: 'running a run\'s probe in the network of the service it checks', versionArgs: ['--version'] },
  mkfifo: { command: 'mkfifo', debianPackage: 'coreutils', purpose: 'mapping the sandbox\'s user ids', versionArgs: ['--version'] },
  busybox: { command: 'busybox', debianPackage: 'busybox-static', purpose: 'the busybox source', versionArgs: ['--help'], prefer: ['/bin/busybox'] },
  xz: { command: 'xz', debianPackage: 'xz-utils', purpose: 'importing .tar.xz tarballs', versionArgs: ['--version'] },
  zstd: { command: 'zstd', debianPackage: 'zstd', purpose: 'importing .tar.zst tarballs', versionArgs: ['--version'] },
  docker: { command: 'docker', debianPackage: 'docker.io', purpose: 'the docker runner', versionArgs: ['--version'], prefer: ['/usr/bin/docker'] },
  podman: { command: 'podman', debianPackage: 'podman', purpose: 'the podman runner', versionArgs: ['--version'] },
  skopeo: { command: 'skopeo', debianPackage: 'skopeo', purpose: 'images in registries, the docker engine and podman\'s store (inspect, push), and checking OCI layouts', versionArgs: ['--version'] },
  umoci: { command: 'umoci', debianPackage: 'umoci', purpose: 'checking OCI layouts', versionArgs: ['--version'] },
  cpio: { command: 'cpio', debianPackage: 'cpio', purpose: 'checking initrds', versionArgs: ['--version'] },
  fakeroot: { command: 'fakeroot', debianPackage: 'fakeroot', purpose: 'debootstrap without root', versionArgs: ['--version'] },
  mmdebstrap: { command: 'mmdebstrap', debianPackage: 'mmdebstrap', purpose: 'Debian bases', versionArgs: ['--version'] },
  debootstrap: { command: 'debootstrap', debianPackage: 'debootstrap', purpose: 'Debian bases (fallback)', versionArgs: ['--version'] },
  newuidmap: { command: 'newuidmap', debianPackage: 'uidmap', purpose: 'subordinate ids in the sandbox, rootless mmdebstrap', versionArgs: ['--version'] },
  newgidmap: { command: 'newgidmap', debianPackage: 'uidmap', purpose: 'subordinate ids in the sandbox', versionArgs: ['--version'] },
  getcap: { command: 'getcap', debianPackage: 'libcap2-bin', purpose: 'reading host files\' file capabilities (ping\'s cap_net_raw)', versionArgs: ['-h'], prefer: ['/usr/sbin/getcap', '/sbin/getcap'] },
  strace: { command: 'strace', debianPackage: 'strace', purpose: 'tracing the files a host program opens (host sources\' trace:)', versionArgs: ['-V'] },
  dpkgScanpackages: { command: 'dpkg-scanpackages', debianPackage: 'dpkg-dev', purpose: 'build --locked: a repository of the locked .debs', versionArgs: ['--version'] },
  aptGet: { command: 'apt-get', debianPackage: 'apt', purpose: 'build --locked: fetching locked .debs the cache lacks from the archives', versionArgs: ['--version'] },
  dpkgQuery: { command: 'dpkg-query', debianPackage: 'dpkg', purpose: 'the Debian package of each host file (SBOMs, status.d, scratchyard.lock)', versionArgs: ['--version'] },
  qemu: { command: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86', purpose: 'the VM runner', versionArgs: ['--version'] },
} satisfies Record<string, ToolInfo>;

export type ToolName = keyof typeof TOOLS;

export class ToolMissingError extends Error {
  constructor(readonly tool: ToolInfo) {
    super(`${tool.command} not found: it is needed for ${tool.purpose}. Install it with: apt-get install ${tool.debianPackage}`);
  }
}

const SEARCH_EXTRA = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of a tool, or undefined. */
export function findTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const t: ToolInfo = TOOLS[name];
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_EXTRA];
  for (const candidate of [...(t.prefer ?? []), ...dirs.map((d) => path.join(d, t.command))]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function requireTool(name: ToolName): string {
  const p = findTool(name);
  if (!p) throw new ToolMissingError(TOOLS[name]);
  return p;
}
