// The one adapter to skopeo, for every transport that is not a file here: a
// registry (docker://), the local docker engine (docker-daemon:), podman's
// store (containers-storage:). Images from those are copied, digests
// preserved, into ONE OCI layout in the cache (cacheDir/images: blobs shared
// by every image, each manifest named by its digest's hex), and read from
// there by oci/read.ts, which hashes every blob again as it reads it. A copy
// is skipped when the layout already holds the digest the reference resolves
// to now. Push is the same copy the other way.
//
// skopeo, not a registry client of our own: it reads docker's config.json
// (auths, credHelpers, credsStore) and containers' auth.json itself, and
// registries.conf's insecure marks. What we add: plain HTTP for loopback
// registries (as docker allows), options built from checked values in
// --flag=VALUE form (nothing the user types can become an option), and its
// failures turned into sentences that name the reference.
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asSha256, parseDigest, type Sha256 } from '../../../shared/brand';
import { controlProblem } from '../../../shared/grammar';
import { formatImageRef, isLoopbackRegistry, isRemote, registryHost, type ImageRef, type RemoteImageRef } from '../../../shared/imageref';
import { exec, type ExecResult } from '../tools/exec';
import { requireTool } from '../tools/registry';
import { withFileLock } from '../store/filelock';
import { entryNamed, imageLayoutDir, imageLayoutLock, readImageLayout, rewriteIndex, sweepSkopeoTemps } from '../store/image-layout';
import { readJsonCapped } from '../store/integrity';
import { knownRefs, resolvedRefsFile, writeResolvedRefs } from '../store/resolved-refs';
import { ImageOpenError } from './read';
import { SkopeoProgressParser, blobOutcomes, type BlobOutcome, type SkopeoEvent } from './skopeo-progress';

export type CopyProgress =
  | SkopeoEvent
  /** The reference names this manifest now; `previous`: the one it named when last fetched (a moved tag). */
  | { kind: 'resolved'; ref: string; digest: Sha256; previous?: Sha256 }
  /** The cache already holds that manifest: nothing copied. */
  | { kind: 'cached'; digest: Sha256 }
  /** Another process is fetching into the same cache: this one waits for it. */
  | { kind: 'waiting'; holder: string }
  /** The registry cannot be reached: the cache's copy of what the reference last resolved to is used, as docker build uses a local base. */
  | { kind: 'offline'; ref: string; digest: Sha256; reason: string };

export interface RegistryOptions {
  /** false: no TLS verification, plain HTTP allowed. Default: verified, except loopback registries (plain HTTP allowed, as docker does). */
  tlsVerify?: boolean;
  /** USER:PASSWORD for the registry (otherwise skopeo reads docker's config.json and containers' auth.json). */
  creds?: string;
  /** An auth.json / config.json to read credentials from instead. */
  authfile?: string;
  /** A folder of ca.crt / client certificates for the registry (skopeo's --cert-dir); TLS is then verified, loopback too. */
  certDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: CopyProgress) => void;
}

/** How to reach registries (the CLI's --tls-verify, --creds, --authfile, --cert-dir), without per-call parts. */
export type RegistryAccess = Pick<RegistryOptions, 'tlsVerify' | 'creds' | 'authfile' | 'certDir'>;

export interface FetchOptions extends RegistryOptions {
  cacheDir: string;
}

export interface Fetched {
  /** A file or folder readImage reads: the image's own path, or the cache's shared OCI layout. */
  path: string;
  manifestDigest: Sha256;
  /** Where the image is here: `ref` itself for files; oci:<cache layout>:<digest hex> for a fetched one (read it with readImage's `tag`). */
  ref: ImageRef;
}

/** A failure of a transport, in words naming the reference: the CLI prints it and exits 1. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly fault: TransportFault = 'other',
  ) {
    super(message);
  }
}

/** A TransportError for skopeo's failure with `what`. */
function failed(what: string, message: string): TransportError {
  const e = explainFault(what, message);
  return new TransportError(e.text, e.fault);
}

/** The ref.name a layout gives a manifest, when it is a selectable one (oci: refs, fetched images). */
export function layoutTag(ref: ImageRef): string | undefined {
  return ref.transport === 'oci' ? ref.tag : undefined;
}

/**
 * Bring the image `ref` names to where readImage can read it. Files and
 * layouts here are used in place; registry and engine images are copied into
 * the cache once (per manifest digest).
 */
export async function fetchImage(ref: ImageRef, opts: FetchOptions): Promise<Fetched> {
  if (!isRemote(ref)) {
    const local = await localSource(ref);
    const manifestDigest = (await resolve(local, ref, [], opts.signal)).digest;
    return { path: local.path, manifestDigest, ref: local.ref };
  }
  const access = await registryAccess(ref, opts);
  try {
    return await fetchRemote(ref, opts, access.flags);
  } finally {
    await access.done();
  }
}

async function fetchRemote(ref: RemoteImageRef, opts: FetchOptions, flags: string[]): Promise<Fetched> {
  const text = formatImageRef(ref);
  const layout = imageLayoutDir(opts.cacheDir);
  const inCache = (digest: Sha256): Fetched => ({ path: layout, manifestDigest: digest, ref: { transport: 'oci', path: layout, tag: digest } });
  // A reference by digest names one image for ever: once in the cache, no registry is asked.
  const named = ref.transport === 'docker' && ref.ref.digest ? parseDigest(ref.ref.digest, text) : undefined;
  if (named && (await layoutHas(layout, named))) {
    opts.onProgress?.({ kind: 'cached', digest: named });
    return inCache(named);
  }
  let manifestDigest: Sha256;
  let manifest: string;
  try {
    ({ digest: manifestDigest, raw: manifest } = await resolve(text, ref, flags, opts.signal));
  } catch (e) {
    // Down or unreachable (not refused credentials): what this tag named last time, if the cache still holds it.
    const known = e instanceof TransportError && (e.fault === 'unreachable' || e.fault === 'refused') ? await lastResolved(opts.cacheDir, ref) : undefined;
    if (!known || !(await layoutHas(layout, known))) throw e;
    const host = ref.transport === 'docker' ? registryHost(ref.ref) : text;
    opts.onProgress?.({ kind: 'offline', ref: text, digest: known, reason: (e as TransportError).fault === 'refused' ? `cannot connect to ${host} (connection refused)` : `${host} cannot be reached` });
    return inCache(known);
  }
  const before = await lastResolved(opts.cacheDir, ref);
  opts.onProgress?.({ kind: 'resolved', ref: text, digest: manifestDigest, ...(before && before !== manifestDigest ? { previous: before } : {}) });
  // A reference by digest needs no record: it names one image for ever.
  const record = before !== manifestDigest && !named;
  const tag: string = manifestDigest;
  const local: ImageRef = { transport: 'oci', path: layout, tag };
  let cached = await layoutHas(layout, tag);
  if (cached) opts.onProgress?.({ kind: 'cached', digest: manifestDigest });
  if (cached && !record) return { path: layout, manifestDigest, ref: local };
  // One copy at a time into the layout, from this process (a queue) and from others sharing the cache (a lock file):
  // skopeo rewrites index.json whole, so two at once could drop an entry; and the second finds the image there.
  await fs.mkdir(path.dirname(layout), { recursive: true });
  await oneAtATime(layout, () =>
    withFileLock(
      // The lock `cache gc` takes too before it prunes the layout and the record of what references resolved to.
      imageLayoutLock(layout),
      async () => {
        if (!cached && (await layoutHas(layout, tag))) {
          cached = true;
          opts.onProgress?.({ kind: 'cached', digest: manifestDigest });
        }
        if (!cached) {
          await fs.mkdir(layout, { recursive: true });
          // Copy exactly what was resolved, so a tag moving in between cannot slip another image in under this digest.
          await copyToLayout(pinned(ref, manifestDigest), layout, tag, opts, text, { flags, manifest });
        }
        // Recorded once the layout holds the image: gc (under this lock) never drops a record being written, nor keeps one it cannot use.
        if (record) await remember(opts.cacheDir, ref, manifestDigest);
      },
      { signal: opts.signal, onWait: (holder) => opts.onProgress?.({ kind: 'waiting', holder }) },
    ),
  );
  return { path: layout, manifestDigest, ref: local };
}

/**
 * Copy the image `src` names (a registry's or an engine's) into the OCI layout
 * `layout` as `tag`, digests preserved. Nothing is checked here beyond what
 * skopeo checks (blob digests): the reader of the layout checks the rest.
 * `what`: the reference to name in errors (default: `src`).
 */
export async function copyToLayout(src: RemoteImageRef, layout: string, tag: string, opts: RegistryOptions, what = formatImageRef(src), known?: { flags: string[]; manifest: string }): Promise<SkopeoEvent[]> {
  if (layout.includes(':')) throw new TransportError(`${layout}: skopeo cannot write an OCI layout whose path holds ":"`);
  const access = known ? { flags: known.flags, done: async () => {} } : await registryAccess(src, opts);
  try {
    // What the manifest says the image holds bounds what skopeo may write: a registry that sends more is stopped.
    const manifest = known?.manifest ?? (await resolve(formatImageRef(src), src, access.flags, opts.signal)).raw;
    const declared = await declaredBytes(manifest, src, access.flags, opts.signal);
    const flags = access.flags.map((f) => `--src-${f.slice(2)}`);
    try {
      return await skopeoCopy(formatImageRef(src), `oci:${layout}:${tag}`, flags, what, { ...opts, maxWrite: declared === undefined ? undefined : declared + WRITE_SLACK });
    } finally {
      // skopeo's temporaries of a copy that failed or was stopped (the caller holds the layout's lock).
      await sweepSkopeoTemps(layout);
    }
  } finally {
    await access.done();
  }
}

const queues = new Map<string, Promise<unknown>>();

async function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = queues.get(key) ?? Promise.resolve();
  const run = before.then(fn, fn);
  const settled = run.catch(() => undefined);
  queues.set(key, settled);
  try {
    return await run;
  } finally {
    if (queues.get(key) === settled) queues.delete(key);
  }
}

export interface Pushed {
  manifestDigest: Sha256;
  blobs: { digest: Sha256; role: 'layer' | 'config'; status: BlobOutcome | 'copied' }[];
}

/**
 * Copy the OCI layout `layout` (its manifest `tag`) to a registry, digests
 * preserved; the manifest digest the registry got is returned (skopeo's
 * --digestfile), with what became of each blob.
 */
export async function pushImage(layout: string, tag: string, dest: ImageRef, opts: RegistryOptions): Promise<Pushed> {
  if (dest.transport !== 'docker') throw new TransportError(`${formatImageRef(dest)}: push goes to a registry, docker://REGISTRY/NAME:TAG`);
  if (layout.includes(':')) throw new TransportError(`${layout}: skopeo cannot read an OCI layout whose path holds ":"`);
  const access = await registryAccess(dest, opts);
  const flags = access.flags.map((f) => `--dest-${f.slice(2)}`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scratchyard-push-'));
  try {
    const digestFile = path.join(dir, 'digest');
    const events = await skopeoCopy(`oci:${layout}:${tag}`, formatImageRef(dest), [...flags, `--digestfile=${digestFile}`], formatImageRef(dest), opts);
    const manifestDigest = parseDigest((await fs.readFile(digestFile, 'utf8')).trim(), `the digest skopeo says ${formatImageRef(dest)} has`);
    return { manifestDigest, blobs: blobOutcomes(events) };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    await access.done();
  }
}

/**
 * Drop a fetched image our reader refused (skopeo copies what it can check,
 * digests; the reader checks the rest: sizes, configs, tars): its entry in
 * the cache's layout and the references recorded as naming it, so the next
 * use fetches it again instead of finding it "in the cache already". Its blobs
 * go at the next `cache gc`.
 */
export async function forgetFetched(cacheDir: string, digest: Sha256): Promise<void> {
  const layout = imageLayoutDir(cacheDir);
  await withFileLock(imageLayoutLock(layout), async () => {
    const l = await readImageLayout(cacheDir);
    if (l.kind === 'ok') {
      const named = new Set<string>([digest]);
      const keep = new Set(l.entries.filter((e) => !entryNamed(e, named)));
      if (keep.size !== l.entries.length) await rewriteIndex(l, keep);
    }
    const refs = await knownRefs(cacheDir);
    const left = new Map([...refs].filter(([, d]) => d !== digest));
    if (left.size !== refs.size) await writeResolvedRefs(resolvedRefsFile(cacheDir), left);
  });
}

/**
 * A fetched image our reader refused (skopeo checked only its digests): it
 * leaves the cache, so the next command fetches it again rather than finding
 * it there, and the reader's reason comes back without the cache's path (the
 * caller names the image by its reference). undefined for any other error.
 */
export async function refuseFetched(e: unknown, cacheDir: string, fetched: Sha256 | undefined, layoutPath: string): Promise<string | undefined> {
  if (fetched === undefined || !(e instanceof ImageOpenError)) return undefined;
  await forgetFetched(cacheDir, fetched).catch(() => undefined);
  return e.message.startsWith(`${layoutPath}: `) ? e.message.slice(layoutPath.length + 2) : e.message;
}

// ---- options ------------------------------------------------------------------------

/**
 * skopeo's registry options for `ref`, as --name=value (copy prefixes them
 * with src-/dest-). A password never goes on skopeo's command line, where
 * every local user's `ps` would show it: --creds becomes an auth file of its
 * own (0600, in a private folder), removed by `done`.
 */
async function registryAccess(ref: ImageRef, o: RegistryOptions): Promise<{ flags: string[]; done: () => Promise<void> }> {
  if (ref.transport !== 'docker') return { flags: [], done: async () => {} };
  const flags: string[] = [];
  const verify = o.tlsVerify ?? (o.certDir !== undefined ? undefined : isLoopbackRegistry(registryHost(ref.ref)) ? false : undefined);
  // Left out, skopeo verifies unless registries.conf marks the registry insecure.
  if (verify !== undefined) flags.push(`--tls-verify=${verify}`);
  if (o.certDir !== undefined) flags.push(`--cert-dir=${pathOption(o.certDir, '--cert-dir')}`);
  if (o.creds === undefined) {
    if (o.authfile !== undefined) flags.push(`--authfile=${pathOption(o.authfile, '--authfile')}`);
    return { flags, done: async () => {} };
  }
  const auth = Buffer.from(credsOf(o.creds)).toString('base64');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scratchyard-auth-'));
  const done = () => fs.rm(dir, { recursive: true, force: true });
  try {
    const file = path.join(dir, 'auth.json');
    await fs.writeFile(file, JSON.stringify({ auths: { [registryHost(ref.ref)]: { auth } } }), { mode: 0o600, flag: 'wx' });
    flags.push(`--authfile=${file}`);
    return { flags, done };
  } catch (e) {
    await done();
    throw e;
  }
}

/** USER:PASSWORD, both non-empty, no control characters. */
export function credsProblem(creds: string): string | undefined {
  const c = controlProblem(creds);
  if (c) return `--creds ${c}`;
  const colon = creds.indexOf(':');
  if (colon <= 0 || colon === creds.length - 1) return '--creds: expected USER:PASSWORD';
  return undefined;
}

function credsOf(creds: string): string {
  const bad = credsProblem(creds);
  if (bad) throw new TransportError(bad);
  return creds;
}

function pathOption(p: string, name: string): string {
  const c = controlProblem(p);
  if (c || p === '') throw new TransportError(`${name}: the path ${c ?? 'is empty'}`);
  return path.resolve(p);
}

// ---- resolving ------------------------------------------------------------------------

/** A file or layout here, as skopeo names it, with the path readImage reads. */
async function localSource(ref: ImageRef): Promise<{ skopeo: string; path: string; ref: ImageRef }> {
  if (ref.transport === 'oci') {
    const p = path.resolve(ref.path);
    return { skopeo: `oci:${p}${ref.tag !== undefined ? `:${ref.tag}` : ''}`, path: p, ref: { ...ref, path: p } };
  }
  if (ref.transport !== 'docker-archive' && ref.transport !== 'path') throw new TransportError(`${formatImageRef(ref)}: not a file here`);
  const p = path.resolve(ref.path);
  const st = await fs.stat(p).catch(() => undefined);
  if (!st) throw new TransportError(`${ref.path}: no such file or folder`);
  if (p.includes(':')) throw new TransportError(`${p}: skopeo cannot name an image whose path holds ":"; rename it`);
  const kind = ref.transport === 'docker-archive' ? 'docker-archive' : st.isDirectory() ? 'oci' : (await isDockerArchive(p)) ? 'docker-archive' : 'oci-archive';
  return { skopeo: `${kind}:${p}`, path: p, ref: { ...ref, path: p } };
}

/** A tar holding manifest.json (docker save) rather than index.json (an OCI layout as a tar): skopeo asks which. */
async function isDockerArchive(p: string): Promise<boolean> {
  const r = await exec('tar', ['-tf', p, '--', 'manifest.json']).catch(() => undefined);
  return r?.code === 0;
}

/** The manifest `source` names now, and its digest: sha256 of the manifest skopeo reads (for a list, the list's, as registries name it). */
async function resolve(source: string | { skopeo: string }, ref: ImageRef, flags: string[], signal?: AbortSignal): Promise<{ digest: Sha256; raw: string }> {
  const name = typeof source === 'string' ? source : source.skopeo;
  const r = await runSkopeo(['inspect', '--raw', ...flags, '--', name], formatImageRef(ref), { signal });
  if (r.code !== 0) throw failed(formatImageRef(ref), fatalOf(r.stderr));
  // A web server that answers everything with a page: skopeo passes its body on as "the manifest".
  const doc = parseJson(r.stdout);
  if (!doc || (doc.schemaVersion === undefined && doc.mediaType === undefined)) {
    const shown = r.stdout.slice(0, 40).replace(/[^\x20-\x7e]/g, ' ').trim();
    throw new TransportError(`${formatImageRef(ref)}: what came back is not an image manifest ("${shown}${r.stdout.length > 40 ? '…' : ''}"): is this a registry?`, 'missing');
  }
  return { digest: asSha256(createHash('sha256').update(r.stdout).digest('hex')), raw: r.stdout };
}

/** Room over the declared sizes for what skopeo writes besides the blobs (index.json, its temporaries, its log). */
const WRITE_SLACK = 16 << 20;

/**
 * The bytes an image's manifest says its config and layers hold; for an
 * index, those of the manifest skopeo will copy (this machine's platform,
 * asked for). Undefined when the manifest says nothing usable: the copy is
 * then bounded only by the idle watchdog.
 */
async function declaredBytes(raw: string, src: RemoteImageRef, flags: string[], signal?: AbortSignal): Promise<number | undefined> {
  const doc = parseJson(raw);
  const sizeOf = (d: unknown): number | undefined => {
    const size = (d as { size?: unknown } | null)?.size;
    return Number.isSafeInteger(size) && (size as number) >= 0 ? (size as number) : undefined;
  };
  if (Array.isArray(doc?.layers)) {
    let total = sizeOf(doc.config) ?? 0;
    for (const l of doc.layers as unknown[]) {
      const n = sizeOf(l);
      if (n === undefined) return undefined;
      total += n;
    }
    return total;
  }
  if (!Array.isArray(doc?.manifests) || src.transport !== 'docker') return undefined;
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch];
  const mine = (doc.manifests as { digest?: unknown; platform?: { os?: unknown; architecture?: unknown } }[]).find((m) => m?.platform?.os === 'linux' && m.platform.architecture === arch);
  if (typeof mine?.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(mine.digest)) return undefined;
  const child = await resolve(formatImageRef(pinned(src, asSha256(mine.digest.slice(7)))), src, flags, signal).catch(() => undefined);
  if (!child) return undefined;
  const inner = parseJson(child.raw);
  return Array.isArray(inner?.layers) ? declaredBytes(child.raw, src, flags, signal) : undefined;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}



/** `ref` by the digest just resolved, where its transport can name one (a registry); the others name one image anyway. */
function pinned(ref: RemoteImageRef, digest: Sha256): RemoteImageRef {
  return ref.transport === 'docker' ? { transport: 'docker', ref: { ...ref.ref, tag: undefined, digest: `sha256:${digest}` } } : ref;
}

/** Does the layout's index.json name a manifest `tag`? */
async function layoutHas(layout: string, tag: string): Promise<boolean> {
  const doc = await readJsonCapped(path.join(layout, 'index.json'), 16 << 20).catch(() => undefined);
  const index = doc && 'value' in doc ? (doc.value as { manifests?: { annotations?: Record<string, unknown> }[] }) : undefined;
  if (!Array.isArray(index?.manifests)) return false;
  if (!index.manifests.some((m) => m?.annotations?.['org.opencontainers.image.ref.name'] === tag)) return false;
  return fs.stat(path.join(layout, 'blobs', 'sha256')).then(() => true, () => false);
}

/** What `ref` resolved to when last fetched, if the cache's record says (store/resolved-refs.ts checks it). */
async function lastResolved(cacheDir: string, ref: ImageRef): Promise<Sha256 | undefined> {
  return (await knownRefs(cacheDir)).get(formatImageRef(ref));
}

/** Record what a reference resolved to (read again here: another process may have recorded meanwhile). Hold the layout's lock. */
async function remember(cacheDir: string, ref: ImageRef, digest: Sha256): Promise<void> {
  const refs = await knownRefs(cacheDir);
  const key = formatImageRef(ref);
  if (refs.get(key) === digest) return;
  refs.set(key, digest);
  await writeResolvedRefs(resolvedRefsFile(cacheDir), refs);
}

// ---- running skopeo ---------------------------------------------------------------------

/** `skopeo --debug copy --preserve-digests`, its lines parsed into progress; a failure becomes a TransportError about `what`. */
async function skopeoCopy(src: string, dest: string, flags: string[], what: string, opts: RegistryOptions & { maxWrite?: number }): Promise<SkopeoEvent[]> {
  const parser = new SkopeoProgressParser();
  const events: SkopeoEvent[] = [];
  const feed = () => {
    let rest = '';
    return (chunk: Buffer | undefined) => {
      const lines = (rest + (chunk?.toString() ?? '\n')).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        for (const e of parser.line(l)) {
          events.push(e);
          if (e.kind !== 'fatal') opts.onProgress?.(e);
        }
      }
    };
  };
  const out = feed();
  const err = feed();
  const r = await runSkopeo(['--debug', 'copy', '--preserve-digests', ...flags, '--', src, dest], what, { signal: opts.signal, onStdout: out, onStderr: err, maxWrite: opts.maxWrite });
  out(undefined);
  err(undefined);
  if (r.code !== 0 || r.signal) {
    const fatal = events.filter((e): e is Extract<SkopeoEvent, { kind: 'fatal' }> => e.kind === 'fatal').pop()?.message;
    throw failed(what, fatal ?? `exit code ${r.code}`);
  }
  return events;
}

/** How long skopeo may move no byte at all (no read, no write: a registry that accepted and then went silent) before it is stopped. */
export const REGISTRY_IDLE_MS = 30_000;

/**
 * skopeo, watched: every second its /proc io counters are read, and it is
 * stopped when they have not moved for REGISTRY_IDLE_MS (skopeo has no
 * timeout of its own for a server that accepts and never answers) or when it
 * has written more than `maxWrite` bytes (a blob longer than the manifest
 * said). Either is a TransportError naming `what`; the registry is treated as
 * unreachable when silent.
 */
async function runSkopeo(args: string[], what: string, o: { signal?: AbortSignal; onStdout?: (c: Buffer) => void; onStderr?: (c: Buffer) => void; maxWrite?: number }): Promise<ExecResult> {
  const watch = new AbortController();
  let stopped: TransportError | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stop = (e: TransportError) => {
    stopped ??= e;
    watch.abort();
  };
  const onSpawn = (pid: number) => {
    let moved = '';
    let quietSince = Date.now();
    timer = setInterval(() => {
      const io = processIo(pid);
      if (!io) return;
      if (o.maxWrite !== undefined && io.wchar > o.maxWrite) return stop(new TransportError(`${what}: the registry sent more than the ${o.maxWrite - WRITE_SLACK} bytes its manifest declares: stopped, nothing kept`, 'digest'));
      const now = `${io.rchar}:${io.wchar}`;
      if (now !== moved) {
        moved = now;
        quietSince = Date.now();
      } else if (Date.now() - quietSince >= REGISTRY_IDLE_MS) {
        stop(new TransportError(`${what}: the registry sent nothing for ${REGISTRY_IDLE_MS / 1000} s: stopped (is it overloaded, or not a registry?)`, 'unreachable'));
      }
    }, 1000);
  };
  try {
    return await exec(requireTool('skopeo'), args, { signal: o.signal ? AbortSignal.any([o.signal, watch.signal]) : watch.signal, onStdout: o.onStdout, onStderr: o.onStderr, onSpawn });
  } catch (e) {
    if (stopped) throw stopped;
    throw e;
  } finally {
    clearInterval(timer);
  }
}

/** A process's read and written byte counts (every read and write call, sockets included), or undefined once it is gone. */
function processIo(pid: number): { rchar: number; wchar: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/io`, 'latin1');
  } catch {
    return undefined;
  }
  const field = (k: string) => Number(new RegExp(`^${k}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  const rchar = field('rchar');
  const wchar = field('wchar');
  return Number.isFinite(rchar) && Number.isFinite(wchar) ? { rchar, wchar } : undefined;
}

/** The message of skopeo's fatal log line, or its last line of stderr. */
function fatalOf(stderr: string): string {
  const p = new SkopeoProgressParser();
  const fatal = stderr.split('\n').flatMap((l) => p.line(l)).filter((e) => e.kind === 'fatal').pop();
  if (fatal?.kind === 'fatal') return fatal.message;
  return stderr.trim().split('\n').pop() ?? 'no message';
}

/** What kind of failure skopeo reported: callers decide by it (a cache treats a missing node as a miss, an unreachable registry as down). */
export type TransportFault = 'credentials' | 'denied' | 'refused' | 'unreachable' | 'plain-http' | 'tls' | 'engine' | 'missing' | 'digest' | 'other';

/** Faults that say the registry as a whole cannot be used now, rather than that one image is bad or absent. */
export function registryUnusable(f: TransportFault): boolean {
  return f === 'credentials' || f === 'denied' || f === 'refused' || f === 'unreachable' || f === 'plain-http' || f === 'tls';
}

/** A sentence for what went wrong with `what` (a reference), skopeo's own words after it. */
export function explainText(what: string, message: string): string {
  return explainFault(what, message).text;
}

/** The kind of a skopeo failure, and the sentence for it. */
export function explainFault(what: string, message: string): { fault: TransportFault; text: string } {
  const m = message.replace(/^Error parsing image name "[^"]*": /, '').replace(/^(?:initializing source|trying to reuse blob [^:]+:[0-9a-f]+ at destination|writing blob): /, '');
  const own = m.length > 400 ? `${m.slice(0, 399)}…` : m;
  const host = /(?:registry|https?:\/\/)\s*([A-Za-z0-9.-]+(?::\d+)?)/.exec(m)?.[1] ?? /\b((?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+:\d+|localhost:\d+)\b/.exec(m)?.[1] ?? 'the registry';
  const [fault, why] = ((): [TransportFault, string] => {
    if (/\b401\b|unauthorized|authentication required|invalid username\/password/i.test(m)) {
      return ['credentials', `${host} refused the credentials (401 unauthorized): none were given, or the user or password is wrong; check --creds USER:PASSWORD or --authfile FILE, or log in with docker login or skopeo login`];
    }
    if (/\b403\b|denied/i.test(m) && !/permission denied/i.test(m)) return ['denied', `${host} denied access (403): these credentials may not read or write this repository`];
    if (/connection refused/i.test(m)) return ['refused', `cannot connect to ${host} (connection refused): is the registry running, and is the address right?`];
    if (/pinging container registry .*invalid status code from registry (\d+)/i.test(m)) {
      return ['unreachable', `${host} answers HTTP, but not as a registry (its /v2/ said ${/invalid status code from registry (\d+)/i.exec(m)![1]}): is the address right?`];
    }
    if (/malformed HTTP response/i.test(m)) return ['unreachable', `${host} does not speak HTTP: is the port right?`];
    if (/exceeded maximum allowed size of (\d+) bytes/i.test(m)) return ['other', `a manifest or config larger than skopeo reads (${/exceeded maximum allowed size of (\d+) bytes/i.exec(m)![1]} bytes): refused`];
    if (/no such host|server misbehaving|i\/o timeout|network is unreachable|no route to host/i.test(m)) return ['unreachable', `cannot reach ${host}: its name does not resolve or the network does not get there`];
    if (/server gave HTTP response to HTTPS client/i.test(m)) {
      return ['plain-http', `${host} speaks plain HTTP, not HTTPS; plain HTTP is used only for loopback registries, with --tls-verify=false, or for registries marked insecure in registries.conf`];
    }
    if (/x509|certificate|tls:|handshake/i.test(m)) return ['tls', `TLS with ${host} failed: for a registry with its own CA pass --cert-dir DIR holding its ca.crt, or --tls-verify=false to skip verification`];
    if (/Cannot connect to the Docker daemon|docker\.sock/i.test(m)) return ['engine', 'the docker engine is not reachable (is dockerd running, and may this user use /var/run/docker.sock?)'];
    if (/manifest unknown|name unknown|repository name not known|\b404\b|not found|no such image|does not exist|reference does not exist/i.test(m)) {
      return ['missing', /docker-daemon:|containers-storage:/.test(what) ? 'no such image in that store' : `no such image in ${host} (the repository or its tag is unknown)`];
    }
    if (/digest did not match|does not match/i.test(m)) {
      const blob = /expected (sha256:[0-9a-f]{64})/.exec(m)?.[1];
      return ['digest', `the blob ${blob ?? ''}${blob ? ' ' : ''}it sent does not match its digest: refused, nothing kept`];
    }
    return ['other', 'skopeo failed'];
  })();
  return { fault, text: `${what}: ${why} (skopeo: ${own})` };
}
