// A build: recipe -> layer states -> layer tars (content-addressed, cached by
// the digests of the two trees they diff) -> image metadata -> exported
// archives (each cached by what it contains and skipped when already current).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import type { Sha256 } from '../../../shared/brand';
import type { Recipe } from '../../../shared/recipe';
import { digestOf } from '../model/digest';
import { diffTrees } from '../model/diff';
import { treeDigest } from '../model/filelist';
import { emptyTree, type Tree } from '../model/tree';
import { copyBlob, writeDockerArchive, writeOciLayout } from '../export/archives';
import { imageMeta, type BuiltLayer } from '../oci/image';
import { defaultWrapperSpec, initrdBlob, writeInitrdFile } from '../export/initrd';
import { writeRootfsTar } from '../export/rootfs';
import { layerItems, tarStream } from '../oci/tarwriter';
import { loadProject } from '../graph/project';
import { sweepStaleTemps, tempPathFor } from '../store/atomic';
import { BlobStore } from '../store/blobs';
import { BuildCache } from '../store/cache';
import { NodeReporter, type BuildEvent } from '../model/events';
import { evaluateStack } from '../graph/stack';

export const FORMATS = ['docker', 'oci', 'rootfs', 'initrd'] as const;
export type Format = (typeof FORMATS)[number];
/** What a build writes when no format is asked for (the initrd is on request). */
export const DEFAULT_FORMATS: Format[] = ['docker', 'oci', 'rootfs'];

const OUTPUT_SUFFIX: Record<Format, string> = { docker: 'docker.tar', oci: 'oci', rootfs: 'rootfs.tar', initrd: 'initrd.cpio' };

/** Bump when the bytes a cached node produces would change for the same inputs. */
const ENGINE_VERSION = 1;

export interface BuildOptions {
  project: string;
  cacheDir: string;
  /** Default: PROJECT/out. */
  outDir?: string;
  /** Default: all formats. An empty list builds layers only. */
  formats?: Format[];
  gzip?: boolean;
  /** The initrd format: gzip (default) or a plain .cpio. */
  initrdGzip?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: BuildEvent) => void;
}

export interface LayerSummary extends BuiltLayer {
  cached: boolean;
}

export interface BuildResult {
  recipe: Recipe;
  projectDir: string;
  manifestDigest: Sha256;
  layers: LayerSummary[];
  outputs: Partial<Record<Format, string>>;
  /** Outputs written by this build (the others were already current). */
  written: Format[];
  /** Image state after each layer, bottom first; the last is the image. */
  states: Tree[];
  /** Final trees of the build-only stages, by name (never exported). */
  stages: Map<string, Tree>;
  store: BlobStore;
}

export async function build(opts: BuildOptions): Promise<BuildResult> {
  const report = new NodeReporter(opts.onEvent);
  const project = await loadProject(opts.project);
  const { recipe } = project;
  const formats = opts.formats ?? [...DEFAULT_FORMATS];
  const sourceCount = (layers: Recipe['layers']) => layers.reduce((n, l) => n + l.sources.length, 0);
  report.plan(sourceCount(recipe.layers) + recipe.stages.reduce((n, st) => n + sourceCount(st.layers), 0) + recipe.layers.length + formats.length);
  const store = new BlobStore(opts.cacheDir);
  const cache = new BuildCache(opts.cacheDir);
  await Promise.all([store.open(), cache.open()]);
  try {
    const { states, stages } = await evaluateStack(recipe, { projectDir: project.dir, store, cache, report, signal: opts.signal });
    const digests = states.map(treeDigest);
    const byName = new Map(recipe.layers.map((l, i) => [l.name, i]));
    const layers: LayerSummary[] = [];
    for (const [i, layer] of recipe.layers.entries()) {
      opts.signal?.throwIfAborted();
      const baseIndex = layer.diffbase !== undefined ? byName.get(layer.diffbase)! : i - 1;
      const base = baseIndex >= 0 ? states[baseIndex] : emptyTree();
      const baseDigest = baseIndex >= 0 ? digests[baseIndex] : treeDigest(base);
      const node = report.start(`layer:${layer.name}`, `layer ${layer.name}`);
      const key = digestOf({ node: 'layer', v: ENGINE_VERSION, base: baseDigest, tree: digests[i], epoch: recipe.epoch, gzip: !!opts.gzip });
      const hit = await cache.get<BuiltLayer>(key);
      if (hit && (await store.has(hit.digest))) {
        layers.push({ ...hit, name: layer.name, comment: layer.comment, cached: true });
        node.cached(`sha256:${hit.digest.slice(0, 12)}`);
        continue;
      }
      const built = await writeLayer(store, diffTrees(base, states[i]), recipe.epoch, !!opts.gzip, layer.name, layer.comment);
      await cache.put(key, built);
      layers.push({ ...built, cached: false });
      node.done(`sha256:${built.digest.slice(0, 12)}`);
    }

    const meta = imageMeta(recipe, layers);
    const outDir = path.resolve(opts.outDir ?? path.join(project.dir, 'out'));
    const outputs: Partial<Record<Format, string>> = {};
    const written: Format[] = [];
    if (formats.length) {
      await fs.mkdir(outDir, { recursive: true });
      await sweepStaleTemps(outDir);
    }
    // The exports are independent files: written side by side (one mostly reads, one mostly writes).
    opts.signal?.throwIfAborted();
    const initrdGzip = opts.initrdGzip ?? true;
    await Promise.all(
      formats.map(async (f) => {
        const target = path.join(outDir, `${recipe.name}.${OUTPUT_SUFFIX[f]}${f === 'initrd' && initrdGzip ? '.gz' : ''}`);
        outputs[f] = target;
        const node = report.start(`export:${f}`, `export ${f}`);
        const exportKey = digestOf({ node: 'export', v: ENGINE_VERSION, f, manifest: meta.manifest.digest, tree: digests[digests.length - 1], ...(f === 'initrd' ? { initrdGzip } : {}) });
        if (await outputCurrent(cache, target, exportKey)) {
          node.cached();
          return;
        }
        if (f === 'docker') await writeDockerArchive(target, store, meta, layers, recipe.epoch);
        else if (f === 'oci') await writeOciLayout(target, store, meta, layers);
        else if (f === 'initrd') {
          const spec = defaultWrapperSpec(recipe);
          const blob = await initrdBlob(store, cache, states[states.length - 1], digests[digests.length - 1], spec, recipe.epoch, initrdGzip);
          await writeInitrdFile(store, blob.digest, target);
        } else await writeRootfs(target, store, cache, states, recipe.epoch, layers);
        await recordOutput(cache, target, exportKey);
        written.push(f);
        node.done();
      }),
    );
    written.sort((a, b) => formats.indexOf(a) - formats.indexOf(b));
    return { recipe, projectDir: project.dir, manifestDigest: meta.manifest.digest, layers, outputs, written, states, stages, store };
  } finally {
    await store.close();
  }
}

async function writeLayer(
  store: BlobStore,
  changes: ReturnType<typeof diffTrees>,
  epoch: number,
  gzip: boolean,
  name: string,
  comment?: string,
): Promise<BuiltLayer> {
  const items = layerItems(changes);
  const tar = await store.putStream(tarStream(store, items, epoch));
  let blob = tar;
  if (gzip) blob = await store.putStream((await fs.open(store.pathOf(tar.digest))).createReadStream().pipe(createGzip({ level: 6 })));
  return { name, diffId: tar.digest, digest: blob.digest, size: blob.size, gzip, files: items.length, ...(comment ? { comment } : {}) };
}

/**
 * The flattened filesystem. A lone bottom layer is already exactly that tar
 * (linked from the store); otherwise it is written straight to the output,
 * spliced from the bottom layer's tar where the layers above left paths alone.
 */
async function writeRootfs(target: string, store: BlobStore, cache: BuildCache, states: Tree[], epoch: number, layers: BuiltLayer[]): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    if (layers.length === 1) await copyBlob(store, layers[0].diffId, tmp);
    else await writeRootfsTar(tmp, store, cache, states[states.length - 1], epoch, { diffId: layers[0].diffId, tree: states[0] });
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

// An output is current when the file at its path is the one this cache last
// wrote there (same inode, size and mtime) for the same export key.
async function outputCurrent(cache: BuildCache, target: string, key: string): Promise<boolean> {
  const rec = await cache.get<{ key: string; stat: string }>(outputRecordKey(target));
  if (!rec || rec.key !== key) return false;
  return rec.stat === (await statId(target));
}

async function recordOutput(cache: BuildCache, target: string, key: string): Promise<void> {
  await cache.put(outputRecordKey(target), { key, stat: await statId(target) });
}

function outputRecordKey(target: string): string {
  return `output-${digestOf({ target })}`;
}

async function statId(p: string): Promise<string> {
  try {
    const st = await fs.stat(p);
    // For the OCI folder, its index.json changes with every rewrite.
    const probe = st.isDirectory() ? await fs.stat(path.join(p, 'index.json')) : st;
    return `${probe.ino}:${probe.size}:${probe.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
