// What a fresh Debian root says about itself, read from its tree before it is
// normalized: the installed packages in the order dpkg installed them (its
// status file and log), and the paths packages ship (info/*.list), which
// normalization keeps even under folders whose contents it drops.
import type { ImagePath } from '../../../../shared/brand';
import type { LockPackage } from '../../../../shared/lock';
import type { Sha256 } from '../../../../shared/brand';
import type { Tree } from '../../model/tree';
import type { BlobStore } from '../../store/blobs';

export type Installed = Omit<LockPackage, 'sha256'>;

/** A field of one control-file stanza (dpkg's status, a Packages index, apt's extended_states). */
export const stanzaField = (stanza: string, name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1].trim();

/** Whether apt's mark for `name` (and `arch`, when given: apt writes an arch:all package's under the native one) is `p`'s. */
export const markedFor = (p: Installed, name: string | undefined, arch: string | undefined): boolean => p.name === name && (!arch || p.arch === arch || p.arch === 'all');

async function text(tree: Tree, store: BlobStore, p: string): Promise<string> {
  const e = tree.get(p as ImagePath);
  return e?.type === 'file' && e.digest ? String(await store.read(e.digest)) : '';
}

/**
 * Installed packages (status "install ok installed"), in the order dpkg's log
 * (`dpkgLog`, or the tree's when mmdebstrap did not remove it) shows them set up; the rest by name.
 * `purged`: the packages the log shows set up that are no longer installed (the recipe's `exclude`).
 */
export async function installedPackages(tree: Tree, store: BlobStore, dpkgLog?: string): Promise<{ packages: Installed[]; purged: Installed[] }> {
  const installed = new Map<string, Installed>();
  for (const stanza of (await text(tree, store, '/var/lib/dpkg/status')).split(/\n\n+/)) {
    const field = (name: string) => stanzaField(stanza, name);
    const [name, version, arch, status] = [field('Package'), field('Version'), field('Architecture'), field('Status')];
    if (name && version && arch && status === 'install ok installed') installed.set(`${name}:${arch}`, { name, version, arch });
  }
  const order: Installed[] = [];
  const gone = new Map<string, Installed>();
  // "DATE TIME status installed NAME:ARCH VERSION": the order packages were set up in.
  for (const m of (dpkgLog ?? (await text(tree, store, '/var/log/dpkg.log'))).matchAll(/^\S+ \S+ status installed (\S+?)(?::(\S+))? (\S+)$/gm)) {
    const p = installed.get(`${m[1]}:${m[2] ?? ''}`) ?? [...installed.values()].find((x) => x.name === m[1] && x.version === m[3]);
    if (p && !order.includes(p)) order.push(p);
    else if (!p && m[2]) gone.set(`${m[1]}:${m[2]}`, { name: m[1], version: m[3], arch: m[2] });
  }
  // apt's marks: packages it installed as dependencies.
  for (const stanza of (await text(tree, store, '/var/lib/apt/extended_states')).split(/\n\n+/)) {
    const name = /^Package: (\S+)$/m.exec(stanza)?.[1];
    const arch = /^Architecture: (\S+)$/m.exec(stanza)?.[1];
    if (name && /^Auto-Installed: 1$/m.test(stanza)) for (const p of installed.values()) if (markedFor(p, name, arch)) p.auto = true;
  }
  const rest = [...installed.values()].filter((p) => !order.includes(p)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const purged = [...gone.values()].filter((p) => !installed.has(`${p.name}:${p.arch}`));
  return { packages: [...order, ...rest], purged };
}

/** Every path some package's info/*.list names. */
export async function shippedPaths(tree: Tree, store: BlobStore): Promise<Set<string>> {
  const out = new Set<string>();
  for (const [p, e] of tree) {
    if (!p.startsWith('/var/lib/dpkg/info/') || !p.endsWith('.list') || e.type !== 'file' || !e.digest) continue;
    for (const line of String(await store.read(e.digest)).split('\n')) if (line.startsWith('/')) out.add(line);
  }
  return out;
}

/** The pool's file name of a package's .deb, as apt names it (an epoch's ":" as "%3a"). */
export function debFileName(p: Installed): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

/** Each installed package with its .deb's digest from the pool, or the packages the pool lacks. */
export function withDebDigests(installed: Installed[], pool: Map<string, Sha256>): { packages: LockPackage[]; missing: Installed[] } {
  const packages: LockPackage[] = [];
  const missing: Installed[] = [];
  for (const p of installed) {
    const digest = pool.get(debFileName(p));
    // Keys in the lock's order, whatever order the record was built in: the lock is compared byte for byte.
    if (digest) packages.push({ name: p.name, version: p.version, arch: p.arch, sha256: digest, ...(p.auto ? { auto: true as const } : {}) });
    else missing.push(p);
  }
  return { packages, missing };
}
