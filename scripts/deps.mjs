// The Debian packages Scratchyard's tests and example need, by the command that
// shows each is present. One list for ensure-deps.mjs and .ci/run.
export const DEBIAN_PACKAGES = [
  { pkg: 'busybox-static', probe: '/bin/busybox' },
  { pkg: 'docker.io', probe: '/usr/bin/docker' },
  { pkg: 'skopeo', probe: 'skopeo' },
  // The registry the registry tests start (distribution 2.8), and htpasswd for its bcrypt accounts.
  { pkg: 'docker-registry', probe: 'docker-registry' },
  { pkg: 'apache2-utils', probe: 'htpasswd' },
  { pkg: 'umoci', probe: 'umoci' },
  { pkg: 'xz-utils', probe: 'xz' },
  { pkg: 'zstd', probe: 'zstd' },
  { pkg: 'util-linux', probe: 'unshare' },
  { pkg: 'uidmap', probe: 'newuidmap' },
  { pkg: 'gcc', probe: 'gcc' },
  { pkg: 'libc6-dev', probe: '/usr/include/stdio.h' },
  { pkg: 'openssl', probe: 'openssl' },
  { pkg: 'mmdebstrap', probe: 'mmdebstrap' },
  { pkg: 'debootstrap', probe: 'debootstrap' },
  { pkg: 'fakeroot', probe: 'fakeroot' },
  { pkg: 'bubblewrap', probe: 'bwrap' },
  { pkg: 'strace', probe: 'strace' },
  { pkg: 'libcap2-bin', probe: '/usr/sbin/getcap' },
  { pkg: 'python3', probe: 'python3' },
  // Peak memory of hostile-input runs (test/helpers/hostile.ts).
  { pkg: 'time', probe: '/usr/bin/time' },
  { pkg: 'chromium', probe: '/usr/bin/chromium' },
  { pkg: 'cpio', probe: 'cpio' },
  { pkg: 'qemu-system-x86', probe: 'qemu-system-x86_64' },
  // The podman runner; where podman cannot start containers (rlimits in some sandboxes)
  // the tests expect a skipped row that says why, so it is exercised either way.
  { pkg: 'podman', probe: 'podman' },
  // The VM runner's kernel; the package links /vmlinuz to the newest /boot/vmlinuz-*.
  { pkg: 'linux-image-amd64', probe: '/vmlinuz' },
];
