// Branded string types for values that must never mix (excalidraw's habit).

/** A normalized absolute path inside an image: "/", "/bin", "/bin/busybox". */
export type ImagePath = string & { readonly __brand: 'ImagePath' };
/** A path on the machine that runs the build. */
export type HostPath = string & { readonly __brand: 'HostPath' };
/** A lower-case hex sha256, without the "sha256:" prefix. */
export type Sha256 = string & { readonly __brand: 'Sha256' };

const HEX64 = /^[0-9a-f]{64}$/;

export function asSha256(hex: string): Sha256 {
  if (!HEX64.test(hex)) throw new Error(`not a sha256 hex digest: ${JSON.stringify(hex)}`);
  return hex as Sha256;
}

export function asHostPath(p: string): HostPath {
  return p as HostPath;
}
