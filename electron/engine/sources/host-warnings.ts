// What host sources bring that the recipe may not mean to: symlinks left
// dangling in the image, folders reached through symlinks, private keys,
// credentials and this machine's own CA certificates. Warnings only: they
// never change the tree or fail the build.
import { X509Certificate } from 'node:crypto';
import { closeSync, openSync, promises as fs, readSync } from 'node:fs';
import path from 'node:path';
import type { ImagePath } from '../../../shared/brand';
import type { HostWarning, HostWarningKind } from '../model/events';
import { baseName, comparePaths, isUnder, parentOf } from '../model/path';
import { sameEntry, type Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import { exec } from '../tools/exec';
import { resolveInTree } from './elf/view';

/** A symlink the host source followed to a folder, which it then copied whole. */
export interface FollowedLink {
  link: ImagePath;
  target: string;
  folder: ImagePath;
}

/** What one host source brought: its listed paths, the entries it put, the folder links it followed. */
export interface HostBrought {
  field: string;
  listed: ImagePath[];
  put: Tree;
  followed: FollowedLink[];
}

/** Keys are tiny; a larger file is not read for its content. */
const MAX_SCAN_BYTES = 1 << 20;
/** How much of each file is looked at for a PEM marker (a key after 16 KiB of other text goes unseen). */
const HEAD_BYTES = 16 << 10;
const HEAD = Buffer.alloc(HEAD_BYTES);
const LOCAL_CA_DIR = '/usr/local/share/ca-certificates';
const DEBIAN_CA_DIR = '/usr/share/ca-certificates';

const PRIVATE_KEY = /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----/;
const CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

const CREDENTIAL_NAMES: Record<string, string> = {
  '.netrc': 'a .netrc (machine logins and passwords)',
  _netrc: 'a .netrc (machine logins and passwords)',
  '.git-credentials': 'stored git credentials',
  '.pgpass': 'PostgreSQL passwords',
  id_rsa: 'an SSH private key file',
  id_dsa: 'an SSH private key file',
  id_ecdsa: 'an SSH private key file',
  id_ed25519: 'an SSH private key file',
  id_ecdsa_sk: 'an SSH private key file',
  id_ed25519_sk: 'an SSH private key file',
};
const CREDENTIAL_SUFFIXES: [string, string][] = [
  ['/.docker/config.json', 'docker registry credentials'],
  ['/.aws/credentials', 'AWS credentials'],
  ['/.config/gh/hosts.yml', 'GitHub CLI tokens'],
];
const CREDENTIAL_PATHS: Record<string, string> = {
  '/etc/shadow': "this machine's password hashes",
  '/etc/gshadow': "this machine's group password hashes",
};

export interface Finding {
  kind: HostWarningKind;
  reason: string;
}

/** Pure: what a file's path alone says about it. */
export function classifyPath(p: string): Finding | undefined {
  if (CREDENTIAL_PATHS[p]) return { kind: 'credentials', reason: CREDENTIAL_PATHS[p] };
  const name = p.slice(p.lastIndexOf('/') + 1);
  if (Object.hasOwn(CREDENTIAL_NAMES, name)) return { kind: 'credentials', reason: CREDENTIAL_NAMES[name] };
  for (const [suffix, what] of CREDENTIAL_SUFFIXES) if (p.endsWith(suffix)) return { kind: 'credentials', reason: what };
  if (/\.(p12|pfx)$/i.test(name)) return { kind: 'private-key', reason: 'a PKCS#12 keystore (holds private keys)' };
  if (isUnder(p, '/etc/ssl/private')) return { kind: 'private-key', reason: 'under /etc/ssl/private (private keys)' };
  return undefined;
}

/** Pure: what a file's content says: a private key, else the certificates it holds (base64 bodies, whitespace removed). */
export function classifyContent(text: string): { key?: Finding; certificates: string[] } {
  const key = PRIVATE_KEY.exec(text);
  if (key) return { key: { kind: 'private-key', reason: `holds a private key ("-----BEGIN ${key[1]}-----")` }, certificates: [] };
  if (text.startsWith('PuTTY-User-Key-File-')) return { key: { kind: 'private-key', reason: 'a PuTTY private key' }, certificates: [] };
  const certificates = [...text.matchAll(CERTIFICATE)].map((m) => m[1].replace(/\s+/g, ''));
  return { certificates };
}

/**
 * The warnings for what `brought` put, checked against `image`, the tree the
 * sources' layers end in (a link is dangling only if nothing in the image,
 * from any layer, is at its target). Sorted by image path, then kind.
 */
export async function hostWarnings(brought: HostBrought[], image: Tree, store: BlobStore): Promise<HostWarning[]> {
  const out: HostWarning[] = [];
  const certFiles: { field: string; image: ImagePath; certs: string[] }[] = [];
  for (const b of brought) {
    const warn = (image: ImagePath, host: string, f: Finding) => out.push({ kind: f.kind, image, host, reason: f.reason, field: b.field });
    for (const f of b.followed) {
      if (b.listed.some((l) => f.folder === l || isUnder(f.folder, l))) continue;
      let files = 0;
      for (const [p, e] of b.put) if (e.type === 'file' && isUnder(p, f.folder)) files++;
      warn(f.folder, await hostPathOf(f.folder), {
        kind: 'outside-listed-path',
        reason: `folder reached through the symlink ${f.link} -> ${f.target}, outside the listed paths: brought it whole (${files} files)`,
      });
    }
    for (const [p, e] of b.put) {
      const now = image.get(p);
      // Replaced or removed by a later source: not what the image holds.
      if (!now || !sameEntry(now, e)) continue;
      if (e.type === 'symlink') {
        const r = resolveInTree(image, p);
        if ('missing' in r) warn(p, await hostPathOf(p, true), { kind: 'dangling-symlink', reason: `symlink to ${e.target} dangles in the image: ${r.missing}` });
        continue;
      }
      if (e.type !== 'file') continue;
      const byPath = classifyPath(p);
      if (byPath) {
        warn(p, await hostPathOf(p), byPath);
        continue;
      }
      if (!e.digest || e.size > MAX_SCAN_BYTES) continue;
      if (!looksLikePem(p)) continue;
      const c = classifyContent((await store.read(e.digest)).toString('latin1'));
      if (c.key) warn(p, await hostPathOf(p), c.key);
      else if (c.certificates.length) certFiles.push({ field: b.field, image: p, certs: c.certificates });
    }
  }
  out.push(...(await localCertificates(certFiles)));
  out.sort((a, b) => comparePaths(a.image, b.image) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || (a.reason < b.reason ? -1 : 1));
  return out.filter((w, i) => i === 0 || w.image !== out[i - 1].image || w.kind !== out[i - 1].kind || w.reason !== out[i - 1].reason);
}

/**
 * Certificates this machine added: under /usr/local/share/ca-certificates, or
 * not among Debian's CA certificates and in a file no Debian package ships.
 */
async function localCertificates(files: { field: string; image: ImagePath; certs: string[] }[]): Promise<HostWarning[]> {
  if (!files.length) return [];
  const out: HostWarning[] = [];
  const debian = await debianCertificates();
  const unknown: { f: (typeof files)[number]; host: string; foreign: string[] }[] = [];
  for (const f of files) {
    const host = await hostPathOf(f.image);
    const foreign = f.certs.filter((c) => !debian.has(c));
    if (isUnder(host, LOCAL_CA_DIR) || isUnder(f.image, LOCAL_CA_DIR)) {
      out.push({ kind: 'local-ca', image: f.image, host, field: f.field, reason: `a CA certificate this machine installed (${LOCAL_CA_DIR})${subjects(f.certs)}` });
    } else if (foreign.length) unknown.push({ f, host, foreign });
  }
  const owned = await debianOwned(unknown.flatMap((u) => [u.f.image, u.host]));
  for (const { f, host, foreign } of unknown) {
    if (owned.has(f.image) || owned.has(host)) continue;
    out.push({
      kind: 'local-ca',
      image: f.image,
      host,
      field: f.field,
      reason: `${foreign.length} of ${f.certs.length} certificates are not Debian's (${DEBIAN_CA_DIR}) and no Debian package ships the file: this machine's own CA?${subjects(foreign)}`,
    });
  }
  return out;
}

function subjects(certs: string[]): string {
  const names: string[] = [];
  for (const c of certs.slice(0, 3)) {
    try {
      const cn = new X509Certificate(Buffer.from(c, 'base64')).subject.split('\n').find((l) => l.startsWith('CN='));
      if (cn) names.push(cn);
    } catch {
      // Not parseable: the base64 was still a certificate block; say nothing of its name.
    }
  }
  return names.length ? ` (${names.join('; ')}${certs.length > 3 ? '; …' : ''})` : '';
}

let debianSet: Promise<Set<string>> | undefined;

/** Every certificate Debian's ca-certificates ships, by base64 body. */
function debianCertificates(): Promise<Set<string>> {
  debianSet ??= (async () => {
    const set = new Set<string>();
    const files = await fs.readdir(DEBIAN_CA_DIR, { recursive: true }).catch(() => [] as string[]);
    for (const rel of files.sort()) {
      if (!rel.endsWith('.crt')) continue;
      const text = await fs.readFile(path.join(DEBIAN_CA_DIR, rel), 'latin1').catch(() => '');
      for (const c of classifyContent(text).certificates) set.add(c);
    }
    return set;
  })();
  return debianSet;
}

/** Which of `paths` a Debian package ships (one `dpkg -S` for all; none when dpkg is absent). */
async function debianOwned(paths: string[]): Promise<Set<string>> {
  const owned = new Set<string>();
  if (!paths.length) return owned;
  const r = await exec('dpkg', ['-S', ...new Set(paths)]).catch(() => undefined);
  for (const line of r?.stdout.split('\n') ?? []) {
    const i = line.indexOf(': ');
    // "pkg1, pkg2: /path"
    if (i > 0) owned.add(line.slice(i + 2).trim());
  }
  return owned;
}

/**
 * Whether the host file's head holds a PEM or PuTTY marker: only those files
 * are read whole (from the store, as the image has them). Reading every file
 * whole cost 190 ms for the 54 MB of /usr/lib/python3.11; the head, a tenth.
 */
function looksLikePem(hostPath: string): boolean {
  // Synchronous: a thousand small reads through the thread pool cost more than the reads.
  let fd: number;
  try {
    fd = openSync(hostPath, 'r');
  } catch {
    return false;
  }
  try {
    const head = HEAD.subarray(0, readSync(fd, HEAD, 0, HEAD_BYTES, 0));
    return head.includes('-----BEGIN') || head.subarray(0, 20).toString('latin1').startsWith('PuTTY-User-Key-File-');
  } finally {
    closeSync(fd);
  }
}

/** Where an image path was read from on this machine (a symlink: the link itself, not its target). */
async function hostPathOf(p: ImagePath, link = false): Promise<string> {
  if (!link) return fs.realpath(p).catch(() => p);
  const dir = await fs.realpath(parentOf(p)).catch(() => parentOf(p));
  return path.join(dir, baseName(p));
}
