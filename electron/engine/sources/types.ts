// What every source kind gets and gives back.
import type { ImagePath } from '../../../shared/brand';
import type { LockEntry } from '../../../shared/lock';
import type { NodeHandle } from '../model/events';
import type { Tree } from '../model/tree';
import type { RegistryAccess } from '../oci/transport';
import type { BlobStore } from '../store/blobs';
import type { BuildCache } from '../store/cache';
import type { HostBrought } from './host-warnings';

export interface SourceContext {
  /** Absolute path of the project folder (copy and tarball sources read from it). */
  projectDir: string;
  store: BlobStore;
  cache: BuildCache;
  /** The image as it stands when this source applies: layers below plus earlier sources of this layer. */
  state: Tree;
  /** Recipe epoch, for anything that writes dates into file contents. */
  epoch: number;
  /** Field path for error messages, e.g. "layers[1].sources[2]". */
  field: string;
  /** Final trees of the build-only stages evaluated so far. */
  stages: Map<string, Tree>;
  /** Files (ELF candidates) that the layers above this one add; only the libs source reads it. */
  filesAbove?: Tree;
  /** For the libs source: where files of the layers above came from (a stage's tree, by path in it; the others: this machine), and every file those layers put. */
  libsInputs?: { origins: Map<ImagePath, FileOrigin>; upper: Tree };
  log: (line: string) => void;
  /** The build's cancellation: a build step's sandbox is killed with it. */
  signal?: AbortSignal;
  /** How image sources reach registries (build's --tls-verify, --creds, --authfile, --cert-dir). */
  registry?: RegistryAccess;
  /** A graph node of its own inside this source (debian's download and install). */
  node: (id: string, label: string) => NodeHandle;
  /** `build --locked`: this source's entry in scratchyard.lock, to be reproduced exactly (debian installs its versions). */
  locked?: LockEntry;
}

/** A file copied out of a build-only stage, and its path there. */
export interface FileOrigin {
  stage: string;
  path: ImagePath;
}

export interface SourceResult {
  /** Entries to put, applied in sorted order over the state. */
  put: Tree;
  /** Paths to remove (with everything under them) before `put` applies. */
  remove: ImagePath[];
  /** A host source: what it brought from this machine, checked for warnings once the image is complete. */
  brought?: HostBrought;
  /** What the source resolved to, for scratchyard.lock, when the source knows it best (debian; image: its manifest digest; tarball: its file's). */
  lock?: LockEntry;
}

/** A recipe mistake, named by file and field: "scratchyard.yaml: layers[1].sources[2].src: ...". */
export class RecipeError extends Error {
  /** The recipe the field is in (set by the build that ran it), for the error's line and column. */
  where?: { file: string; text: string };
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}
