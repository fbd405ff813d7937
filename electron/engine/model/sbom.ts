// What an SBOM says, before it is written as CycloneDX or SPDX: the image, its
// layers, its Debian packages and the files that belong to no package, each
// with the layer that holds it and (for a built image) the recipe source that
// brought it. Pure data; the writers sort nothing, so the collector hands
// them everything in a stable order.
import { PackageURL } from 'packageurl-js';
import type { ImagePath, Sha256 } from '../../../shared/brand';

/** Which recipe source put a path: layers[layer].sources[source]; `status.d` for the entries the build writes itself. */
export interface SourceRef {
  layer: number;
  source: number;
  kind: string;
}

export function sourceField(r: SourceRef): string {
  return r.source < 0 ? `layers[${r.layer}]` : `layers[${r.layer}].sources[${r.source}]`;
}

/**
 * `make` once per (layer, source) pair: what the SBOM writers say of where a
 * file comes from is the same for all the files one source brought into one
 * layer (a Debian-sized tarball's 7,000 files share one), so they share it.
 * Sources are one SourceRef object each.
 */
export function perLayerAndSource<T>(make: (layer: number | undefined, brought: SourceRef | undefined) => T): (layer: number | undefined, brought: SourceRef | undefined) => T {
  const made = new Map<SourceRef | undefined, Map<number | undefined, T>>();
  return (layer, brought) => {
    let byLayer = made.get(brought);
    if (!byLayer) made.set(brought, (byLayer = new Map()));
    if (!byLayer.has(layer)) byLayer.set(layer, make(layer, brought));
    return byLayer.get(layer)!;
  };
}

export interface SbomLayer {
  /** Index from 0, bottom first. */
  index: number;
  name: string;
  /** The blob digest (as the manifest names it) and the uncompressed tar's. */
  digest: Sha256;
  diffId?: Sha256;
}

export interface SbomFile {
  path: ImagePath;
  sha256: Sha256;
  /** sha1 of the content: SPDX 2.3 requires it of every file. */
  sha1: string;
  size: number;
  layer?: number;
  brought?: SourceRef;
}

export interface SbomPackage {
  name: string;
  version: string;
  architecture: string;
  source?: string;
  /** dpkg's Installed-Size, in bytes. */
  installedSize?: number;
  /** Debian licence short names from a machine-readable copyright file. */
  licenses: string[];
  layer?: number;
  /** Where it was found: the image's dpkg database, a status.d entry, or this machine's dpkg (a host source's files). */
  foundIn: 'dpkg-status' | 'status.d' | 'host-dpkg';
  /** Host files of this package in the image (host sources only). */
  files: SbomFile[];
  brought?: SourceRef;
}

export interface Sbom {
  name: string;
  /** The reference the image carries ("hello:latest"), or the file it was read from. */
  reference: string;
  manifestDigest?: Sha256;
  architecture: string;
  /** ISO time of the recipe's epoch (or the image's config `created`). */
  created: string;
  /** Debian's VERSION_ID of /etc/os-release in the image, for purls ("debian-12"). */
  distro?: string;
  layers: SbomLayer[];
  packages: SbomPackage[];
  files: SbomFile[];
}

/** pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12 (packageurl-js does the encoding). */
export function debPurl(p: Pick<SbomPackage, 'name' | 'version' | 'architecture'>, distro?: string): string {
  const qualifiers: Record<string, string> = {};
  if (p.architecture) qualifiers.arch = p.architecture;
  if (distro) qualifiers.distro = distro;
  return new PackageURL('deb', 'debian', p.name, p.version, qualifiers, undefined).toString();
}

export function packageKey(p: Pick<SbomPackage, 'name' | 'architecture'>): string {
  return `${p.name}:${p.architecture}`;
}
