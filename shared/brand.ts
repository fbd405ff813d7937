// Branded string types for values that must never mix (excalidraw's habit).

/** A normalized absolute path inside an image: "/", "/bin", "/bin/busybox". */
export type ImagePath = string & { readonly __brand: 'ImagePath' };
/** A path on the machine that runs the build. */
export type HostPath = string & { readonly __brand: 'HostPath' };
/** A lower-case hex sha256, without the "sha256:" prefix. */
export type Sha256 = string & { readonly __brand: 'Sha256' };

const HEX64 = /^[0-9a-f]{64}$/;

export function asSha256(hex: string): Sha256 {
  if (!HEX64.test(hex)) throw new DigestError(`not a sha256 hex digest: ${JSON.stringify(hex)}`);
  return hex as Sha256;
}

/** A digest that breaks its grammar, named by where it was read. */
export class DigestError extends Error {}

/**
 * An OCI digest as images carry it, "sha256:" + 64 lower-case hex, to its hex.
 * `where` names the document and field ("index.json manifests[0].digest") for
 * the error. Any other algorithm or shape is refused before it names anything.
 */
export function parseDigest(text: unknown, where: string): Sha256 {
  if (typeof text === 'string' && text.startsWith('sha256:') && HEX64.test(text.slice(7))) return text.slice(7) as Sha256;
  const shown = typeof text === 'string' ? JSON.stringify(text.length > 80 ? text.slice(0, 80) + '…' : text) : String(text);
  throw new DigestError(`${where}: ${shown} is not a digest (expected "sha256:" and 64 lower-case hex digits)`);
}

export function asHostPath(p: string): HostPath {
  return p as HostPath;
}
