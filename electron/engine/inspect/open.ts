// Open any image file or folder for inspection: its layers (own entries,
// whiteouts as .wh.* files), the state after each, its config, and the command
// that made each layer when the config's history says.
import path from 'node:path';
import type { Sha256 } from '../../../shared/brand';
import { escapeControls } from '../../../shared/grammar';
import type { Tree } from '../model/tree';
import { readImage, type ReadImageOptions } from '../oci/read';
import type { BlobStore } from '../store/blobs';

export { ImageOpenError } from '../oci/read';

export interface OpenedLayer {
  digest: Sha256;
  tree: Tree;
  command?: string;
}

export interface OpenedImage {
  /** File or folder basename, e.g. "app.docker.tar". */
  name: string;
  layers: OpenedLayer[];
  /** State after each layer, bottom first. */
  states: Tree[];
  config: unknown;
}

/**
 * docker-archive (ours, `docker save`, `podman save`), OCI layout folder, OCI
 * layout as a tar, gzip'd layers. Bad input throws ImageOpenError naming the
 * path and what is wrong. `contents: false` reads headers only (no digests,
 * nothing stored): enough for sizes and waste.
 */
export async function openImage(store: BlobStore, file: string, opts: ReadImageOptions = {}): Promise<OpenedImage> {
  const img = await readImage(store, file, opts);
  const commands = layerCommands(img.config, img.layers.length);
  return {
    name: path.basename(path.resolve(file)),
    layers: img.layers.map((l, i) => ({ digest: l.digest, tree: l.tree, ...(commands[i] !== undefined ? { command: commands[i] } : {}) })),
    states: img.states,
    config: img.config,
  };
}

/** created_by of the config's history entries that made a layer (not empty_layer), in order. */
export function layerCommands(config: unknown, layers: number): (string | undefined)[] {
  const history = (config as { history?: unknown } | null)?.history;
  // The config is the image's word: a history that is not a list of objects says nothing usable.
  if (!Array.isArray(history) || !history.every((h): h is Record<string, unknown> => typeof h === 'object' && h !== null && !Array.isArray(h))) return [];
  const made = history.filter((h) => h.empty_layer !== true).map((h) => (typeof h.created_by === 'string' ? escapeControls(h.created_by) : undefined));
  return made.slice(0, layers);
}
