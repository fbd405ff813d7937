// Image references on the command line (inspect, ls, diff, push): the registry
// options every such command takes, and a target turned into a file or layout
// here — as given, or fetched through skopeo into the cache — with its
// progress told on stderr.
import { existsSync } from 'node:fs';
import { parseReference } from '../../shared/grammar';
import { formatImageRef, formatReference, parseImageRef } from '../../shared/imageref';
import { isImagePath } from '../engine/oci/read';
import { credsProblem, fetchImage, layoutTag, type CopyProgress, type RegistryOptions } from '../engine/oci/transport';
import { UsageError } from './args';

export const REGISTRY_ARGS = {
  'tls-verify': { type: 'string' },
  creds: { type: 'string' },
  authfile: { type: 'string' },
  'cert-dir': { type: 'string' },
} as const;


/** The registry options of parsed arguments, checked (a bad one is a usage error). */
export function registryOptions(values: { 'tls-verify'?: string; creds?: string; authfile?: string; 'cert-dir'?: string }): RegistryOptions {
  const tls = values['tls-verify'];
  if (tls !== undefined && tls !== 'true' && tls !== 'false') throw new UsageError(`--tls-verify: expected true or false, got "${tls}"`);
  if (values.creds !== undefined) {
    const bad = credsProblem(values.creds);
    if (bad) throw new UsageError(bad);
  }
  for (const name of ['authfile', 'cert-dir'] as const) {
    const v = values[name];
    if (v !== undefined && !existsSync(v)) throw new UsageError(`--${name}: ${v}: no such ${name === 'authfile' ? 'file' : 'folder'}`);
  }
  return {
    ...(tls !== undefined ? { tlsVerify: tls === 'true' } : {}),
    ...(values.creds !== undefined ? { creds: values.creds } : {}),
    ...(values.authfile !== undefined ? { authfile: values.authfile } : {}),
    ...(values['cert-dir'] !== undefined ? { certDir: values['cert-dir'] } : {}),
  };
}

export interface ImageTarget {
  /** The file or layout to read. */
  path: string;
  /** The manifest to take from a layout of several. */
  tag?: string;
  /** What to call it: the reference as given, with the digest it resolved to when fetched. */
  label: string;
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
  if (existsSync(target)) return (await isImagePath(target)) ? { path: target, label: target } : undefined;
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
  return { path: f.path, ...(layoutTag(f.ref) !== undefined ? { tag: layoutTag(f.ref) } : {}), label: `${formatImageRef(ref)}@sha256:${f.manifestDigest.slice(0, 12)}` };
}

/** "nginx:latest" is no file here: say where such a name can be found. */
export function nameHint(text: string): string {
  const r = parseReference(text);
  const shown = r ? formatReference(r.tag || r.digest ? r : { ...r, tag: 'latest' }) : text;
  return `${text}: no such file or folder; an image by name needs its transport: docker-daemon:${shown} (the local docker engine), docker://${shown} (a registry) or containers-storage:${shown} (podman)`;
}
