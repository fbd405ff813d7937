// File capabilities as getcap(8) prints them ("cap_net_raw=ep") turned into
// the bytes of the security.capability xattr (struct vfs_cap_data, little
// endian), which image layers carry as a PAX SCHILY.xattr record and docker,
// podman and umoci apply. Debian's ping is cap_net_raw=ep, not setuid: copied
// without it, it fails as any user but root.
//
// The text grammar is cap_from_text(3)'s: whitespace-separated clauses, each a
// comma list of names (empty or "all": every capability) followed by one or
// more operator-and-flags pairs: "=" sets exactly those flags, "+" adds, "-"
// removes; flags of e, i, p.

/** Capability numbers by name (linux/capability.h, 0 to 40). */
const NAMES = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap', 'linux_immutable',
  'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner', 'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace',
  'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice', 'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease', 'audit_write',
  'audit_control', 'setfcap', 'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf',
  'checkpoint_restore',
];
/** The file format has room for 64; numbers past the named ones are read as libcap prints them ("cap_41" or "41"). */
const LAST = 63;
/** Linux 5.9 to 6.x: CAP_CHECKPOINT_RESTORE. */
export const DEFAULT_LAST_CAP = 40;

/** A capability's number from its name, or undefined. */
function capNumber(name: string): number | undefined {
  const n = name.toLowerCase();
  const i = NAMES.indexOf(n.startsWith('cap_') ? n.slice(4) : n);
  if (i >= 0) return i;
  const m = /^(?:cap_)?(\d{1,2})$/.exec(n);
  return m && Number(m[1]) <= LAST ? Number(m[1]) : undefined;
}

/**
 * The xattr value of a getcap text (its optional "[rootid=N]" making it a v3,
 * namespaced, capability), or an Error naming the part it cannot read. No
 * capability at all (an empty or cleared set) is undefined: no xattr.
 * `lastCap`: the highest capability of the kernel that wrote the file
 * (/proc/sys/kernel/cap_last_cap), which "all" (or no name) means.
 */
export function fileCapsXattr(text: string, lastCap = DEFAULT_LAST_CAP): Buffer | undefined | Error {
  let rest = text.trim();
  let rootid: number | undefined;
  const root = /\s*\[rootid=(\d{1,10})\]$/.exec(rest);
  if (root) {
    rootid = Number(root[1]);
    if (rootid > 0xffffffff) return new Error(`rootid ${root[1]} is out of range`);
    rest = rest.slice(0, root.index);
  }
  const sets = { e: 0n, i: 0n, p: 0n };
  for (const clause of rest.split(/\s+/).filter(Boolean)) {
    const m = /^([A-Za-z0-9_,]*)((?:[=+-][eip]*)+)$/.exec(clause);
    if (!m) return new Error(`"${clause}" is not a capability clause`);
    let mask = 0n;
    if (m[1] === '' || m[1].toLowerCase() === 'all') mask = (1n << BigInt(Math.min(lastCap, LAST) + 1)) - 1n;
    else
      for (const name of m[1].split(',')) {
        const n = capNumber(name);
        if (n === undefined) return new Error(`"${name}" is not a capability`);
        mask |= 1n << BigInt(n);
      }
    for (const [, op, flags] of m[2].matchAll(/([=+-])([eip]*)/g)) {
      if (op === '=') for (const f of ['e', 'i', 'p'] as const) sets[f] &= ~mask;
      for (const f of flags as Iterable<'e' | 'i' | 'p'>) {
        if (op === '-') sets[f] &= ~mask;
        else sets[f] |= mask;
      }
    }
  }
  if (!sets.p && !sets.i) return undefined;
  // The effective "set" of a file is one bit: every permitted capability raised at exec, or none.
  const b = Buffer.alloc(rootid === undefined ? 20 : 24);
  b.writeUInt32LE((rootid === undefined ? 0x02000000 : 0x03000000) | (sets.e ? 1 : 0), 0);
  const lo = (x: bigint) => Number(x & 0xffffffffn);
  const hi = (x: bigint) => Number((x >> 32n) & 0xffffffffn);
  b.writeUInt32LE(lo(sets.p), 4);
  b.writeUInt32LE(lo(sets.i), 8);
  b.writeUInt32LE(hi(sets.p), 12);
  b.writeUInt32LE(hi(sets.i), 16);
  if (rootid !== undefined) b.writeUInt32LE(rootid, 20);
  return b;
}
