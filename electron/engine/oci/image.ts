// OCI image config, manifest and index for a list of built layers. Pure: the
// JSON bytes are a function of the recipe and the layer digests.
import type { Sha256 } from '../../../shared/brand';
import { imageReference, type Recipe } from '../../../shared/recipe';
import { sha256 } from '../model/digest';
import type { BaseConfig } from './baseconfig';

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface BuiltLayer {
  name: string;
  /** sha256 of the uncompressed tar (the config's diff_id). */
  diffId: Sha256;
  /** sha256 and size of the blob as stored in the archive (gzip or not). */
  digest: Sha256;
  size: number;
  gzip: boolean;
  /** Entries in the layer tar. */
  files: number;
  comment?: string;
  /** A base image's layer: its blob as the base stores it, with the base's media type. */
  base?: { mediaType: string };
}

export interface Blob {
  digest: Sha256;
  bytes: Buffer;
}

export interface ImageMeta {
  config: Blob;
  manifest: Blob;
  index: Blob;
  /** docker-archive's manifest.json, naming files by their place in the archive. */
  dockerManifest: Buffer;
}

function blob(value: unknown): Blob {
  const bytes = Buffer.from(JSON.stringify(value));
  return { digest: sha256(bytes), bytes };
}

/**
 * `recipe.config` is the image's whole config: with a base image, the
 * recipe's merged over the base's (oci/baseconfig.ts), whose other fields,
 * history, os and variant `base` carries.
 */
export function imageMeta(recipe: Recipe, layers: BuiltLayer[], base?: BaseConfig): ImageMeta {
  const created = new Date(recipe.epoch * 1000).toISOString().replace('.000Z', 'Z');
  const c = recipe.config;
  const cfg: Record<string, unknown> = { ...base?.other };
  if (c.user !== undefined) cfg.User = c.user;
  if (c.exposedPorts?.length) cfg.ExposedPorts = Object.fromEntries(c.exposedPorts.map((p) => [p.includes('/') ? p : `${p}/tcp`, {}]));
  cfg.Env = Object.entries(c.env).map(([k, v]) => `${k}=${v}`);
  if (c.entrypoint !== undefined) cfg.Entrypoint = c.entrypoint;
  if (c.cmd !== undefined) cfg.Cmd = c.cmd;
  if (c.workdir !== undefined) cfg.WorkingDir = c.workdir;
  if (c.labels !== undefined) cfg.Labels = c.labels;
  const config = blob({
    created,
    architecture: recipe.architecture,
    os: base?.os ?? 'linux',
    ...(base?.variant ? { variant: base.variant } : {}),
    config: cfg,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${l.diffId}`) },
    history: [
      ...baseHistory(base, layers.filter((l) => l.base)),
      ...layers.filter((l) => !l.base).map((l) => ({ created, created_by: `scratchyard layer ${l.name}`, ...(l.comment ? { comment: l.comment } : {}) })),
    ],
  });
  const manifest = blob({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: `sha256:${config.digest}`, size: config.bytes.length },
    layers: layers.map((l) => ({ mediaType: l.base?.mediaType ?? (l.gzip ? MEDIA.layerGzip : MEDIA.layer), digest: `sha256:${l.digest}`, size: l.size })),
  });
  const ref = imageReference(recipe);
  const index = blob({
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: MEDIA.manifest,
        digest: `sha256:${manifest.digest}`,
        size: manifest.bytes.length,
        annotations: { 'org.opencontainers.image.ref.name': ref.tag },
      },
    ],
  });
  const dockerManifest = Buffer.from(
    JSON.stringify([{ Config: `blobs/sha256/${config.digest}`, RepoTags: [ref.full], Layers: layers.map((l) => `blobs/sha256/${l.digest}`) }]),
  );
  return { config, manifest, index, dockerManifest };
}

/** The base's history as it is when it matches its layers; one line per layer otherwise (docker wants one per non-empty layer). */
function baseHistory(base: BaseConfig | undefined, layers: BuiltLayer[]): Record<string, unknown>[] {
  const made = base?.history.filter((h) => h.empty_layer !== true).length ?? 0;
  if (base && made === layers.length) return base.history;
  return layers.map((l) => ({ created_by: `base layer ${l.name}`, ...(l.comment ? { comment: l.comment } : {}) }));
}
