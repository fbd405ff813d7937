// scratchyard.lock: what each source of a recipe resolved to, written beside
// the recipe by every build and meant to be committed. Versioned JSON, one
// entry per recipe source (by its field path), one package or file per line.
// A lock is untrusted input (it comes with a project): this schema bounds
// and checks every value before anything names a package, a path or a blob.
import { z } from 'zod';
import { debianPackageProblem, debianVersionProblem, debianWordProblem, imagePathProblem, mirrorProblem, pathProblem } from './grammar';
import { imageRefProblem } from './imageref';

export const LOCK_FILE = 'scratchyard.lock';
export const LOCK_VERSION = 1;
/** A lock lists a few thousand packages or files at most: past this it is refused unread. */
export const MAX_LOCK_BYTES = 16 << 20;
const MAX_ITEMS = 200_000;

function checked(check: (s: string) => string | undefined) {
  return z
    .string()
    .max(4096)
    .superRefine((s, ctx) => {
      const problem = check(s);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    });
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected 64 lower-case hex digits (a sha256)' });
const debianVersion = checked(debianVersionProblem);
const debianArch = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, { message: 'expected a Debian architecture such as "amd64" or "all"' });
const packageName = checked(debianPackageProblem);
const field = z.string().regex(/^(?:stages\[\d{1,6}\]\.)?layers\[\d{1,6}\]\.sources\[\d{1,6}\]$/, { message: 'expected a recipe field such as "layers[0].sources[1]"' });

/** One Debian archive the install read: its URL, suite and the digest of its (In)Release file as fetched. */
export const lockArchiveSchema = z.strictObject({
  uri: checked((u) => (u === 'auto' ? 'is not a URL' : mirrorProblem(u))),
  suite: checked((w) => debianWordProblem(w, 'suite')),
  components: z.array(checked((w) => debianWordProblem(w, 'component'))).min(1).max(64),
  release: sha256.optional(),
});

/** `auto`: apt installed it as a dependency (its extended_states mark, reproduced by a locked install). */
export const lockPackageSchema = z.strictObject({ name: packageName, version: debianVersion, arch: debianArch, sha256, auto: z.literal(true).optional() });

export const debianLockSchema = z.strictObject({
  field,
  kind: z.literal('debian'),
  archives: z.array(lockArchiveSchema).max(64),
  /** In install order. */
  packages: z.array(lockPackageSchema).max(MAX_ITEMS),
  /** Installed as dependencies, then purged by the recipe's `exclude`: not in the image, yet a locked install needs their .debs. */
  purged: z.array(lockPackageSchema).max(MAX_ITEMS).optional(),
});

/** A file from this machine (at the same path in the image), with the Debian package that ships it here (when one does). */
export const lockHostFileSchema = z.strictObject({ path: checked(imagePathProblem), sha256, package: packageName.optional(), version: debianVersion.optional() });

export const hostLockSchema = z.strictObject({
  field,
  kind: z.enum(['host', 'busybox', 'libs']),
  files: z.array(lockHostFileSchema).max(MAX_ITEMS),
  /** A traced host source: the digest of each scratchyard.trace/ list it used. */
  traces: z.array(z.strictObject({ list: checked(pathProblem), sha256 })).max(1024).optional(),
});

export const fileLockSchema = z.strictObject({
  field,
  kind: z.enum(['tarball', 'copy']),
  src: checked(pathProblem),
  /** A tarball's own digest. */
  sha256: sha256.optional(),
  /** A copy's files, by their path in the image. */
  files: z.array(z.strictObject({ path: checked(imagePathProblem), sha256 })).max(MAX_ITEMS).optional(),
});

/**
 * A `kind: image` source: its reference as formatImageRef writes it, and the
 * digest it resolved to (the manifest's; a docker-archive's config digest,
 * its image id, as it has no manifest). The image source fills it in.
 */
export const imageLockSchema = z.strictObject({ field, kind: z.literal('image'), ref: checked(imageRefProblem), manifest: sha256 });

export const lockEntrySchema = z.discriminatedUnion('kind', [debianLockSchema, hostLockSchema, fileLockSchema, imageLockSchema]);

export const lockSchema = z.strictObject({
  lockVersion: z.literal(LOCK_VERSION, { message: `expected lockVersion ${LOCK_VERSION} (this Scratchyard reads version ${LOCK_VERSION} locks)` }),
  sources: z.array(lockEntrySchema).max(10_000),
});

export type LockArchive = z.infer<typeof lockArchiveSchema>;
export type LockPackage = z.infer<typeof lockPackageSchema>;
export type DebianLock = z.infer<typeof debianLockSchema>;
export type HostLockFile = z.infer<typeof lockHostFileSchema>;
export type LockEntry = z.infer<typeof lockEntrySchema>;
export type Lock = z.infer<typeof lockSchema>;

/** A build that differs from the lock under --locked: each line names a package or file and how it differs. */
export class LockDriftError extends Error {
  constructor(
    /** The recipe field (or the lock file) at fault. */
    readonly where: string,
    readonly lines: string[],
  ) {
    super(`${LOCK_FILE}: ${where}: build --locked refuses to differ from the lock:\n${lines.map((l) => `  ${l}`).join('\n')}`);
  }
}

/**
 * The lock's text: deterministic (keys in schema order, entries in recipe
 * order), objects of plain values on one line each so a diff shows one line
 * per package or file.
 */
export function formatLock(lock: Lock): string {
  return `${format(lock, '')}\n`;
}

function format(v: unknown, indent: string): string {
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    const inner = indent + '  ';
    return `[\n${v.map((x) => inner + format(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    const flat = entries.every(([, x]) => x === null || typeof x !== 'object');
    if (flat) return `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${JSON.stringify(x)}`).join(', ')} }`;
    const inner = indent + '  ';
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${format(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v);
}

/**
 * What changed from `old` to `now`, one short line per package or file:
 * "layers[0].sources[0]: perl-base 5.36.0-7+deb12u3 → 5.36.0-7+deb12u4",
 * "/usr/bin/curl: curl 7.88.1-10+deb12u14 → 7.88.1-10+deb12u15".
 */
export function lockDrift(old: Lock, now: Lock): string[] {
  const out: string[] = [];
  const before = new Map(old.sources.map((e) => [e.field, e]));
  const seen = new Set<string>();
  for (const e of now.sources) {
    seen.add(e.field);
    const o = before.get(e.field);
    if (!o || o.kind !== e.kind) out.push(`${e.field} (${e.kind}): not in the lock${o ? ` (the lock has a ${o.kind} source there)` : ''}`);
    else out.push(...entryDrift(o, e));
  }
  for (const o of old.sources) if (!seen.has(o.field)) out.push(`${o.field} (${o.kind}): in the lock, not in the recipe`);
  return out;
}

/**
 * `now` with each Debian source's archives as `old` locked them where that
 * source installed exactly the locked packages. An archive's Release file is
 * re-signed daily (its Valid-Until) and -security's changes with every
 * advisory: recording each new digest would rewrite a committed lock that
 * installs nothing new. The Release digests move with the packages.
 */
export function keepSettledArchives(old: Lock | undefined, now: Lock): Lock {
  if (!old) return now;
  const before = new Map(old.sources.map((e) => [e.field, e]));
  const archiveKey = (a: LockArchive) => JSON.stringify([a.uri, a.suite, a.components]);
  const packageKey = (p: LockPackage) => JSON.stringify([p.name, p.version, p.arch, p.sha256, p.auto ?? false]);
  const same = <T>(a: T[], b: T[], key: (x: T) => string) => a.length === b.length && a.every((x, i) => key(x) === key(b[i]));
  const sources = now.sources.map((e): LockEntry => {
    const o = before.get(e.field);
    if (e.kind !== 'debian' || o?.kind !== 'debian') return e;
    const settled = same(o.archives, e.archives, archiveKey) && same(o.packages, e.packages, packageKey) && same(o.purged ?? [], e.purged ?? [], packageKey);
    return settled ? { ...e, archives: o.archives } : e;
  });
  return { ...now, sources };
}

function entryDrift(o: LockEntry, e: LockEntry): string[] {
  if (o.kind === 'debian' && e.kind === 'debian') return [...releaseDrift(e.field, o.archives, e.archives), ...packageDrift(e.field, o.packages, e.packages)];
  if ((o.kind === 'host' || o.kind === 'busybox' || o.kind === 'libs') && o.kind === e.kind) {
    const lines = keyedDrift(o.files, e.files, (f) => f.path, hostFileText, (a, b) => (a.version !== b.version || a.package !== b.package ? `${a.path}: ${hostFileText(a)} → ${hostFileText(b)}` : a.sha256 !== b.sha256 ? `${a.path}: sha256 ${short(a.sha256)} → ${short(b.sha256)}` : undefined));
    lines.push(...keyedDrift(o.traces ?? [], e.traces ?? [], (t) => t.list, (t) => `trace list ${t.list}`, (a, b) => (a.sha256 !== b.sha256 ? `${a.list}: sha256 ${short(a.sha256)} → ${short(b.sha256)}` : undefined)));
    return lines;
  }
  if ((o.kind === 'tarball' || o.kind === 'copy') && o.kind === e.kind) {
    const lines = o.sha256 !== e.sha256 ? [`${e.src}: sha256 ${short(o.sha256)} → ${short(e.sha256)}`] : [];
    lines.push(...keyedDrift(o.files ?? [], e.files ?? [], (f) => f.path, (f) => short(f.sha256), (a, b) => (a.sha256 !== b.sha256 ? `${a.path}: sha256 ${short(a.sha256)} → ${short(b.sha256)}` : undefined)));
    return lines;
  }
  if (o.kind === 'image' && e.kind === 'image' && (o.manifest !== e.manifest || o.ref !== e.ref)) return [imageDrift(e.field, o, e)];
  return [];
}

/** A base image that is not the locked one, both digests in full (a moved tag, or another reference). */
export function imageDrift(field: string, o: { ref: string; manifest: string }, e: { ref: string; manifest: string }): string {
  const ref = o.ref === e.ref ? e.ref : `${o.ref} → ${e.ref}`;
  return `${field} (image ${ref}): the lock has sha256:${o.manifest}, the build resolved sha256:${e.manifest}`;
}

/**
 * An archive whose Release file changed since the lock: "debian bookworm-security
 * Release: sha256:… → sha256:…". Met only beside a package that moved
 * (keepSettledArchives), and never refused alone: under --locked the packages
 * decide (a locked install reads the pool, and keeps the lock's archives).
 */
function releaseDrift(where: string, old: LockArchive[], now: LockArchive[]): string[] {
  const key = (a: LockArchive) => `${a.uri} ${a.suite}`;
  const releaseText = (a: LockArchive) => (a.release ? `sha256:${short(a.release)}` : 'none');
  const text = (a: LockArchive) => `Release ${releaseText(a)}`;
  return keyedDrift(old, now, key, text, (a, b) => (a.release !== b.release ? `${where}: debian ${b.suite} Release: ${releaseText(a)} → ${releaseText(b)}` : undefined)).map((l) =>
    l.startsWith('+ ') || l.startsWith('- ') ? `${where}: ${l[0]} archive ${l.slice(2)}` : l,
  );
}

function packageDrift(where: string, old: LockPackage[], now: LockPackage[]): string[] {
  const key = (p: LockPackage) => `${p.name}:${p.arch}`;
  return keyedDrift(old, now, key, (p) => p.version, (a, b) =>
    a.version !== b.version ? `${where}: ${a.name} ${a.version} → ${b.version}` : a.sha256 !== b.sha256 ? `${where}: ${a.name} ${a.version}: .deb sha256 ${short(a.sha256)} → ${short(b.sha256)}` : undefined,
  ).map((l) => (l.startsWith('+ ') || l.startsWith('- ') ? `${where}: ${l}` : l));
}

/** Changed, added ("+ …") and removed ("- …") items of two lists keyed alike. */
function keyedDrift<T>(old: T[], now: T[], key: (x: T) => string, text: (x: T) => string, changed: (a: T, b: T) => string | undefined): string[] {
  const before = new Map(old.map((x) => [key(x), x]));
  const after = new Set<string>();
  const out: string[] = [];
  for (const x of now) {
    after.add(key(x));
    const o = before.get(key(x));
    if (!o) out.push(`+ ${key(x)}${text(x) && text(x) !== key(x) ? ` ${text(x)}` : ''}`);
    else {
      const c = changed(o, x);
      if (c) out.push(c);
    }
  }
  for (const o of old) if (!after.has(key(o))) out.push(`- ${key(o)}${text(o) && text(o) !== key(o) ? ` ${text(o)}` : ''}`);
  return out;
}

function hostFileText(f: HostLockFile): string {
  return f.package ? `${f.package} ${f.version ?? ''}`.trim() : `sha256 ${short(f.sha256)}`;
}

function short(d: string | undefined): string {
  return d ? d.slice(0, 12) : 'none';
}
