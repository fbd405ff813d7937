// Image references on the command line (inspect, ls, diff): a target turned
// into a file or layout here — as given, or fetched through skopeo into the
// cache — with its progress told on stderr. The registry flags are parsed in
// registry-flags.ts.
import { existsSync, statSync } from 'node:fs';
import { parseReference } from '../../shared/grammar';
import { formatImageRef, formatReference, parseImageRef } from '../../shared/imageref';
import { ImageOpenError, isImagePath } from '../engine/oci/read';
import { fetchImage, layoutTag, refuseFetched, type CopyProgress, type RegistryOptions } from '../engine/oci/transport';
import type { Sha256 } from '../../shared/brand';
import { bytes } from '../../shared/units';
import { localImages } from '../engine/oci/local-images';
import { UsageError, parse } from './args';

export interface ImageTarget {
  /** The file or layout to read. */
  path: string;
  /** The manifest to take from a layout of several. */
  tag?: string;
  /** What to call it: the reference as given, with the digest it resolved to when fetched. */
  label: string;
  /** Fetched into the cache's layout: the manifest digest it is kept under. */
  fetched?: Sha256;
}

/**
 * Read a target: a fetched image our reader refuses (skopeo checked only its
 * digests) is named by its reference, not the cache's path, and leaves the
 * cache, so the next command fetches it again rather than finding it there.
 */
export async function readingTarget<T>(image: ImageTarget, cacheDir: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    const why = await refuseFetched(e, cacheDir, image.fetched, image.path);
    if (why === undefined) throw e;
    throw new ImageOpenError(`${image.label}: ${why} (refused and removed from the cache)`);
  }
}

/** How the CLI tells fetch progress: one line per event worth a line. */
export function progressLine(p: CopyProgress): string | undefined {
  switch (p.kind) {
    case 'resolved':
      return p.previous
        ? `${p.ref}: the tag moved: it named sha256:${p.previous} when last fetched, now sha256:${p.digest}`
        : `${p.ref}: sha256:${p.digest}`;
    case 'cached':
      return `  sha256:${p.digest.slice(0, 12)} is in the cache already`;
    case 'offline':
      return `${p.ref}: ${p.reason}: using sha256:${p.digest}, what it named when last fetched (in the cache)`;
    case 'waiting':
      return `  waiting for ${p.holder}, which is fetching into the same cache`;
    case 'blob':
      return p.status === 'copying' ? undefined : `  ${p.status.padEnd(10)} sha256:${p.digest.slice(0, 12)}`;
    default:
      return undefined;
  }
}

/**
 * `target` as an image: an existing image file or folder, or a reference
 * (fetched into the cache when it is a registry's or an engine's). undefined:
 * a project folder, or nothing there.
 */
export async function imageTarget(target: string, cacheDir: string, ropts: RegistryOptions, log: (line: string) => void): Promise<ImageTarget | undefined> {
  if (existsSync(target)) {
    const kind = specialKind(target);
    if (kind) throw new UsageError(`${target}: ${kind} is neither an image (a file or an OCI layout folder) nor a project folder`);
    return (await isImagePath(target)) ? { path: target, label: target } : undefined;
  }
  const ref = parseImageRef(target);
  if (typeof ref === 'string') throw new UsageError(ref);
  if (ref.transport === 'path') {
    // A name with a tag or digest ("nginx:latest") that is no file here is an image the user meant by name.
    const name = parseReference(target);
    if (name && (name.tag || name.digest) && !/^[./]/.test(target)) throw new Error(nameHint(target));
    return undefined;
  }
  if (ref.transport === 'oci' || ref.transport === 'docker-archive') return { path: ref.path, ...(layoutTag(ref) !== undefined ? { tag: layoutTag(ref) } : {}), label: target };
  const f = await fetchImage(ref, {
    ...ropts,
    cacheDir,
    onProgress: (p) => {
      const line = progressLine(p);
      if (line) log(line);
    },
  });
  // A reference by digest names its digest already.
  const byDigest = ref.transport === 'docker' && ref.ref.digest !== undefined;
  return { path: f.path, ...(layoutTag(f.ref) !== undefined ? { tag: layoutTag(f.ref) } : {}), label: byDigest ? formatImageRef(ref) : `${formatImageRef(ref)}@sha256:${f.manifestDigest.slice(0, 12)}`, fetched: f.manifestDigest };
}

/** What a path that is neither a regular file nor a folder is (a FIFO would block whoever read it), or undefined. */
function specialKind(target: string): string | undefined {
  const st = statSync(target);
  if (st.isFile() || st.isDirectory()) return undefined;
  return st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a special file';
}

/** "nginx:latest" is no file here: say where such a name can be found. */
export function nameHint(text: string): string {
  const r = parseReference(text);
  const shown = r ? formatReference(r.tag || r.digest ? r : { ...r, tag: 'latest' }) : text;
  return `${text}: no such file or folder; an image by name needs its transport: docker-daemon:${shown} (the local docker engine), docker://${shown} (a registry) or containers-storage:${shown} (podman)`;
}

/** `scratchyard images`: a table (or JSON) of the engines' images; exit 0 even when no engine answers. */
export async function cmdImages(args: string[], usage: () => number): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (values.help) return usage();
  if (positionals.length) throw new UsageError(`images: takes no arguments, got ${positionals.join(' ')}`);
  const { images, notes } = await localImages();
  for (const n of notes) process.stderr.write(`scratchyard: ${n.reason}\n`);
  if (values.json) {
    process.stdout.write(JSON.stringify({ images, notes }, null, 2) + '\n');
    return 0;
  }
  const rows = [['ENGINE', 'NAME', 'TAG', 'ID', 'SIZE', 'CREATED', 'OPEN AS'], ...images.map((i) => [i.engine, i.name, i.tag ?? '<none>', i.id.slice(7, 19), bytes(i.size), i.created?.slice(0, 19).replace('T', ' ') ?? '', i.ref])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  process.stdout.write(rows.map((r) => r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c]))).join('  ')).join('\n') + '\n');
  return 0;
}
