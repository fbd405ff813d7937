// Image references with skopeo's transport names: where an image is, as a
// person types it ("docker://127.0.0.1:5000/base:1", "docker-daemon:nginx:latest",
// "oci:out/hello.oci:latest", a plain file). Parsed once, where the text
// enters (CLI argument, recipe field, contract message); what comes out is
// either a checked reference or a problem sentence naming what is wrong.
// The text handed to skopeo is rebuilt from the parsed parts (toSkopeo), never
// passed through, so no value can become one of its options.
import { controlProblem, parseReference, referenceProblem, type Reference } from './grammar';

export const TRANSPORTS = ['docker', 'docker-daemon', 'containers-storage', 'oci', 'docker-archive'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export type ImageRef =
  /** A registry: docker://[REGISTRY/]NAME[:TAG][@DIGEST]. */
  | { transport: 'docker'; ref: Reference }
  /** The local docker engine: docker-daemon:NAME:TAG, NAME@DIGEST or an image id (sha256:…). */
  | { transport: 'docker-daemon'; ref?: Reference; id?: string }
  /** podman's store: containers-storage:NAME[:TAG] or an image id. */
  | { transport: 'containers-storage'; ref?: Reference; id?: string }
  /** An OCI layout folder, with the ref.name of one of its manifests. */
  | { transport: 'oci'; path: string; tag?: string }
  /** A `docker save` archive. */
  | { transport: 'docker-archive'; path: string }
  /** A plain file or folder (an archive or layout, recognised by its contents). */
  | { transport: 'path'; path: string };

const ID = /^(?:sha256:)?([0-9a-f]{64})$/;
/** An OCI layout's ref.name: what skopeo and umoci accept after "oci:PATH:". */
const OCI_TAG = /^[A-Za-z0-9._-][A-Za-z0-9._:/-]{0,127}$/;

function pathProblem(p: string, what: string): string | undefined {
  if (p === '') return `${what}: names no path`;
  const c = controlProblem(p);
  if (c) return `${what}: the path ${c}`;
  return undefined;
}

/** A docker reference for the daemon and podman's store: a name (with tag or digest) or an image id. */
function localImage(rest: string, transport: 'docker-daemon' | 'containers-storage'): ImageRef | string {
  const id = ID.exec(rest);
  if (id) return { transport, id: `sha256:${id[1]}` };
  const ref = parseReference(rest);
  if (!ref) return `${transport}:${rest}: ${referenceProblem(rest)}`;
  // docker-daemon needs a tag or digest; podman's store finds a bare name as :latest, docker does the same.
  return { transport, ref: ref.tag || ref.digest ? ref : { ...ref, tag: 'latest' } };
}

/**
 * Parse `text` into an image reference, or a sentence saying what is wrong.
 * Text without a known transport prefix is a plain path.
 */
export function parseImageRef(text: string): ImageRef | string {
  const c = controlProblem(text);
  if (c) return `image reference ${JSON.stringify(text)}: ${c}`;
  const colon = text.indexOf(':');
  const transport = colon > 0 ? text.slice(0, colon) : '';
  const rest = text.slice(colon + 1);
  switch (transport) {
    case 'docker': {
      if (!rest.startsWith('//')) return `${text}: a registry reference is docker://[REGISTRY/]NAME[:TAG][@sha256:DIGEST]`;
      const name = rest.slice(2);
      // docker://USER:PASSWORD@HOST/…: said back without what stands before the "@".
      const at = name.split('/')[0].lastIndexOf('@');
      if (at >= 0) return `docker://…${name.slice(at)}: credentials do not go in an image reference (give them with --creds USER:PASSWORD or --authfile FILE)`;
      const ref = parseReference(name);
      if (!ref) return `${text}: ${referenceProblem(name)}`;
      return { transport: 'docker', ref: ref.tag || ref.digest ? ref : { ...ref, tag: 'latest' } };
    }
    case 'docker-daemon':
    case 'containers-storage':
      return localImage(rest, transport);
    case 'oci': {
      // skopeo splits PATH and ref.name at the first ":", so a path cannot hold one.
      const sep = rest.indexOf(':');
      const p = sep < 0 ? rest : rest.slice(0, sep);
      const tag = sep < 0 ? undefined : rest.slice(sep + 1);
      const bad = pathProblem(p, text);
      if (bad) return bad;
      if (tag !== undefined && !OCI_TAG.test(tag)) return `${text}: "${tag}" is not a ref.name (letters, digits, ".", "_", "-", ":", "/", at most 128)`;
      return { transport: 'oci', path: p, ...(tag !== undefined ? { tag } : {}) };
    }
    case 'docker-archive': {
      if (rest.includes(':')) return `${text}: a docker-archive path cannot contain ":" (skopeo reads what follows as a reference)`;
      return pathProblem(rest, text) ?? { transport: 'docker-archive', path: rest };
    }
    default:
      return pathProblem(text, 'image') ?? { transport: 'path', path: text };
  }
}

/** The text of a parsed reference, as a person would type it again. */
export function formatImageRef(r: ImageRef): string {
  switch (r.transport) {
    case 'docker':
      return `docker://${formatReference(r.ref)}`;
    case 'docker-daemon':
    case 'containers-storage':
      return `${r.transport}:${r.ref ? formatReference(r.ref) : r.id}`;
    case 'oci':
      return `oci:${r.path}${r.tag !== undefined ? `:${r.tag}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${r.path}`;
    case 'path':
      return r.path;
  }
}

export function formatReference(ref: Reference): string {
  return `${ref.name}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** A reference to an image elsewhere than a file here: a registry or an engine's store. */
export type RemoteImageRef = Extract<ImageRef, { transport: 'docker' | 'docker-daemon' | 'containers-storage' }>;

/** Is this reference's image elsewhere than a file here (a registry or an engine's store)? */
export function isRemote(r: ImageRef): r is RemoteImageRef {
  return r.transport === 'docker' || r.transport === 'docker-daemon' || r.transport === 'containers-storage';
}

/**
 * The registry host of a docker:// reference as the distribution spec resolves
 * it ("docker.io" when none is named), for deciding whether plain HTTP is allowed.
 */
export function registryHost(ref: Reference): string {
  return ref.domain ?? 'docker.io';
}

/** Plain HTTP is allowed, as docker allows it, for loopback registries only (others need the user's say). */
export function isLoopbackRegistry(host: string): boolean {
  // Host names are case-insensitive (LOCALHOST is localhost).
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * What is wrong with `text` as a stored reference (a lock's): it must parse,
 * and be written as formatImageRef writes it, so one image has one spelling.
 */
export function imageRefProblem(text: string): string | undefined {
  const r = parseImageRef(text);
  if (typeof r === 'string') return r;
  const canonical = formatImageRef(r);
  return canonical === text ? undefined : `${JSON.stringify(text)}: expected it written as ${JSON.stringify(canonical)}`;
}
