// A build: recipe -> layer states -> layer tars (content-addressed, cached by
// the digests of the two trees they diff) -> image metadata -> exported
// archives (each cached by what it contains and skipped when already current).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { z } from 'zod';
import { asSha256, type ImagePath, type Sha256 } from '../../../shared/brand';
import type { SourceRef } from '../model/sbom';
import { DEFAULT_OUT_DIR, type Recipe } from '../../../shared/recipe';
import { digestOf } from '../model/digest';
import { diffOverBase, type LayerChanges } from '../model/diff';
import { treeDigest } from '../model/filelist';
import { emptyTree, type Tree } from '../model/tree';
import { copyBlob, writeDockerArchive, writeOciLayout } from '../export/archives';
import { imageMeta, type BuiltLayer } from '../oci/image';
import { BaseConfigError, mergeConfig, readBaseConfig, type BaseConfig } from '../oci/baseconfig';
import { RecipeError } from '../sources';
import { BaseImageError, type BaseImage } from '../sources/image';
import { defaultWrapperSpec, initrdBlob, writeInitrdFile } from '../export/initrd';
import { writeRootfsTar } from '../export/rootfs';
import { layerItems, writeTar } from '../oci/tarwriter';
import { loadProject, RecipeLoadError } from '../graph/project';
import { lockOf, readLock, writeLock, type EvaluatedSource } from '../graph/lockfile';
import { LOCK_FILE, LockDriftError, keepSettledArchives, lockDrift } from '../../../shared/lock';
import { projectFolderProblem, sweepStaleTemps, tempPathFor } from '../store/atomic';
import { BlobStore } from '../store/blobs';
import { RegistryCache, type RegistryCacheOptions } from '../oci/remote-cache';
import type { RegistryAccess } from '../oci/transport';
import { BuildCache } from '../store/cache';
import { CorruptBlobError, CorruptCacheError, HEX64 } from '../store/integrity';
import { storageFault, type Latched } from '../store/faults';
import { markBuilding, recordRoots } from '../store/roots';
import { NodeReporter, type BuildEvent } from '../model/events';
import { evaluateStack } from '../graph/stack';
import { planOf, sourceId } from '../graph/plan';
import type { Project } from '../graph/project';
import { buildSboms } from './build-sbom';
import type { SbomFiles } from '../export/sbom';

export const FORMATS = ['docker', 'oci', 'rootfs', 'initrd'] as const;
export type Format = (typeof FORMATS)[number];
/** What a build writes when no format is asked for (the initrd is on request). */
export const DEFAULT_FORMATS: Format[] = ['docker', 'oci', 'rootfs'];

const OUTPUT_SUFFIX: Record<Format, string> = { docker: 'docker.tar', oci: 'oci', rootfs: 'rootfs.tar', initrd: 'initrd.cpio' };

/** Source kinds whose files graph/lockfile.ts lists (lockOf reads their `put`). */
const LOCK_READS_FILES = new Set(['host', 'busybox', 'libs', 'copy']);

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
  /** Write SBOMs beside the outputs (and into the OCI layout); default: the recipe's `sbom`. */
  sbom?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: BuildEvent) => void;
  /** How image sources (base images by reference) reach their registries. */
  registry?: RegistryAccess;
  /** A registry repository shared by many machines: nodes missing here are fetched from it (--cache-from)... */
  cacheFrom?: SharedCacheOptions;
  /** ...and this build's nodes are pushed to it (--cache-to). */
  cacheTo?: SharedCacheOptions;
  /**
   * scratchyard.lock beside the recipe: `write` (default) reports drift from it and updates it;
   * `locked` installs the locked Debian versions and fails on any drift; `ignore` leaves it alone.
   */
  lock?: 'write' | 'locked' | 'ignore';
}

/** What the build did with scratchyard.lock. */
export interface LockSummary {
  file: string;
  /** One line per package or file that differs from the lock as it was ("/usr/bin/curl: curl 7.88.1-10+deb12u14 → 7.88.1-10+deb12u15"). */
  drift: string[];
  written: boolean;
  /** Time spent making, comparing and writing the lock. */
  ms: number;
}

export type SharedCacheOptions = Omit<RegistryCacheOptions, 'log' | 'signal'>;

export interface LayerSummary extends BuiltLayer {
  cached: boolean;
}

export interface BuildResult {
  /** The recipe as built: with a base image, its layers under the recipe's (one per state) and the merged config. */
  recipe: Recipe;
  /** The base image under the layers, and the digest it resolved to. */
  base?: { ref: string; digest: Sha256 };
  projectDir: string;
  manifestDigest: Sha256;
  layers: LayerSummary[];
  outputs: Partial<Record<Format, string>>;
  /** Outputs written by this build (the others were already current). */
  written: Format[];
  /** The SBOM files, when written. */
  sboms?: SbomFiles;
  /** Image state after each layer, bottom first; the last is the image. */
  states: Tree[];
  /** Final trees of the build-only stages, by name (never exported). */
  stages: Map<string, Tree>;
  /** Which recipe source put each path of the image. */
  brought: Map<ImagePath, SourceRef>;
  store: BlobStore;
  lock?: LockSummary;
}

const sha256 = z.string().regex(HEX64).transform(asSha256);
/** A layer node's cached result, checked before its digests name blob files. */
const builtLayerSchema = z.object({
  name: z.string(),
  diffId: sha256,
  digest: sha256,
  size: z.number().int().nonnegative(),
  gzip: z.boolean(),
  files: z.number().int().nonnegative(),
  comment: z.string().optional(),
});
const outputRecordSchema = z.object({ key: z.string(), stat: z.string() });

/**
 * Build a project. A cached blob found bad on the way is removed with every
 * node result that names it, and the build runs once more, recomputing those
 * nodes from their sources; a fault of the cache or output folder (full,
 * read-only, not ours) becomes a StorageFault naming the folder.
 */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const project = await loadProject(opts.project);
  const cacheDir = path.resolve(opts.cacheDir);
  const outDir = path.resolve(opts.outDir ?? path.join(project.dir, DEFAULT_OUT_DIR));
  if (opts.outDir === undefined) {
    // The project's own out/ (an --out the user names is theirs to point anywhere).
    const why = await projectFolderProblem(outDir);
    if (why) throw new RecipeLoadError([{ file: outDir, line: 0, column: 0, field: '', message: `${why.slice(outDir.length + 1)}; pass --out DIR to write the outputs elsewhere` }]);
  }
  const nodes = new NodeTracker(opts.onEvent);
  let unmark: (() => Promise<void>) | undefined;
  for (let attempt = 1; ; attempt++) {
    const store = new BlobStore(cacheDir);
    const cache = new BuildCache(cacheDir);
    const log = (line: string) => nodes.emit({ type: 'log', line });
    const shared = (o: SharedCacheOptions) => new RegistryCache(store, cache, { ...o, log, signal: opts.signal });
    if (opts.cacheFrom) cache.remote = shared(opts.cacheFrom);
    try {
      unmark ??= await markBuilding(cacheDir);
      const result = await buildOnce(opts, project, outDir, store, cache, new NodeReporter(nodes.emit));
      if (opts.cacheFrom) log(cacheFromSummary((cache.remote as RegistryCache).stats));
      if (opts.cacheTo) {
        const to = shared(opts.cacheTo);
        // Output records name files of this machine: not worth sharing.
        await to.push([...cache.used].filter((k) => !k.startsWith('output-')).sort());
        log(`cache-to: ${to.stats.pushed} nodes pushed (${to.stats.blobsUploaded} blobs uploaded, ${to.stats.blobsSkipped} already there)`);
      }
      await recordRoots(cacheDir, { project: project.dir, time: Date.now(), nodes: [...cache.used], blobs: [...store.used.blobs], packs: [...store.used.packs] });
      await unmark();
      return result;
    } catch (e) {
      nodes.blame(e, project.recipe);
      // Where the field is written: the CLI prints FILE:LINE:COLUMN, as for a recipe the schema refused.
      if (e instanceof RecipeError) e.where ??= { file: project.file, text: project.text };
      const bad = e instanceof CorruptBlobError ? e : store.corrupt[0];
      if (bad && (e as Error)?.name !== 'AbortError') {
        bad.node ??= nodes.culprit();
        const names = store.corrupt.flatMap((c) => (c.pack ? [c.digest, c.pack] : [c.digest]));
        await cache.dropReferencing(names).catch(() => []);
        if (attempt === 1) {
          nodes.emit({ type: 'log', line: `${bad.message}${bad.node ? ` (read by ${bad.node})` : ''}; rebuilding what used it` });
          continue;
        }
        await unmark?.().catch(() => {});
        throw new CorruptCacheError(bad, cacheDir);
      }
      await unmark?.().catch(() => {});
      throw (await storageFault(e, { cache: cacheDir, output: outDir }, latched(store, cache))) ?? e;
    }
  }
}

function latched(store: BlobStore, cache: BuildCache): Latched[] {
  return [store.fault, cache.fault].filter((error) => error).map((error) => ({ role: 'cache' as const, error }));
}

/** The nodes in flight, so an error can say which node met a bad blob. */
class NodeTracker {
  private running = new Map<string, string>();
  private failed?: string;
  constructor(private readonly onEvent?: (e: BuildEvent) => void) {}

  emit = (e: BuildEvent): void => {
    if (e.type === 'node') {
      if (e.state === 'running') this.running.set(e.id, e.label);
      else this.running.delete(e.id);
      if (e.state === 'failed') this.failed ??= e.label;
    }
    this.onEvent?.(e);
  };

  /**
   * A recipe with a libs source is first evaluated without reporting (graph/stack.ts): a source
   * failing there has sent no event. Its field names it: its node is marked failed.
   */
  blame(e: unknown, recipe: Recipe): void {
    if (this.failed || !(e instanceof RecipeError)) return;
    const m = /^(?:stages\[(\d+)\]\.)?layers\[(\d+)\]\.sources\[(\d+)\]/.exec(e.field);
    const stage = m?.[1] !== undefined ? recipe.stages[Number(m[1])] : undefined;
    const layer = m && (stage ? stage.layers : recipe.layers)[Number(m[2])];
    if (!m || !layer || !layer.sources[Number(m[3])]) return;
    const prefix = stage ? `${stage.name}/` : '';
    new NodeReporter(this.emit).start(sourceId(prefix, layer.name, Number(m[3])), `${prefix}${layer.name}: ${layer.sources[Number(m[3])].kind}`).failed(e);
  }

  culprit(): string | undefined {
    return this.failed ?? ([...this.running.values()].pop() || undefined);
  }
}

async function buildOnce(opts: BuildOptions, project: Project, outDir: string, store: BlobStore, cache: BuildCache, report: NodeReporter): Promise<BuildResult> {
  const formats = opts.formats ?? [...DEFAULT_FORMATS];
  const r0 = project.recipe;
  const wantSbom = formats.length > 0 && (opts.sbom ?? r0.sbom);
  report.plan(planOf(r0, { formats, sbom: wantSbom }));
  let failed = false;
  try {
    await Promise.all([store.open(), cache.open()]);
    const lockMode = opts.lock ?? 'write';
    const old = lockMode === 'ignore' ? undefined : await readLock(project.dir);
    if (lockMode === 'locked' && !old) throw new LockDriftError(project.dir, [`no ${LOCK_FILE} here to build --locked from: build once without --locked to write it`]);
    const locked = lockMode === 'locked' ? new Map(old!.lock.sources.map((e) => [e.field, e])) : undefined;
    const evaluated: EvaluatedSource[] = [];
    const stack = await evaluateStack(r0, {
      projectDir: project.dir,
      store,
      cache,
      report,
      signal: opts.signal,
      registry: opts.registry,
      locked: locked && ((field) => locked.get(field)),
      // The lock reads the files of a few kinds only: another source's tree (a tarball's can be the whole image) is not kept for it.
      onSource: (field, source, result) => evaluated.push({ field, source, result: LOCK_READS_FILES.has(source.kind) ? result : { ...result, put: new Map() } }),
    });
    const { states, stages, base: baseImage, brought } = stack;
    // A base image's own layers are known now: the graph again, with them.
    if (baseImage) report.plan(planOf(r0, { formats, sbom: wantSbom, layers: stack.layers }));
    const baseConfig = baseImage && startingConfig(r0, baseImage);
    const recipe: Recipe = baseConfig ? { ...r0, layers: stack.layers, config: mergeConfig(baseConfig.fields, r0.config) } : r0;
    const lock = lockMode === 'ignore' ? undefined : await settleLock(project.dir, evaluated, store, report, lockMode, old);
    const digests = states.map(treeDigest);
    const byName = new Map(recipe.layers.map((l, i) => [l.name, i]));
    const layers: LayerSummary[] = [];
    for (const [i, layer] of recipe.layers.entries()) {
      opts.signal?.throwIfAborted();
      if (baseImage && i < baseImage.layers.length) {
        // A base layer: its blob, as the base stores it, already in the store.
        const b = baseImage.layers[i].blob;
        layers.push({ name: layer.name, diffId: b.diffId, digest: b.digest, size: b.size, gzip: /gzip/.test(b.mediaType), files: baseImage.layers[i].tree.size, comment: layer.comment, base: { mediaType: b.mediaType }, cached: true });
        report.start(`layer:${layer.name}`, `layer ${layer.name}`).cached(`sha256:${b.digest.slice(0, 12)} (base)`);
        continue;
      }
      const baseIndex = layer.diffbase !== undefined ? byName.get(layer.diffbase)! : i - 1;
      const base = baseIndex >= 0 ? states[baseIndex] : emptyTree();
      const baseDigest = baseIndex >= 0 ? digests[baseIndex] : treeDigest(base);
      const node = report.start(`layer:${layer.name}`, `layer ${layer.name}`);
      // Against another diffbase, the layer also depends on the state under it (diffOverBase).
      const below = baseIndex !== i - 1 ? { below: i > 0 ? digests[i - 1] : null } : {};
      const key = digestOf({ node: 'layer', v: ENGINE_VERSION, base: baseDigest, ...below, tree: digests[i], epoch: recipe.epoch, gzip: !!opts.gzip });
      const hit = await cache.get(key, builtLayerSchema);
      if (hit && (await store.has(hit.digest)) && (await store.has(hit.diffId))) {
        layers.push({ ...hit, name: layer.name, comment: layer.comment, cached: true });
        node.cached(`sha256:${hit.digest.slice(0, 12)}`);
        continue;
      }
      try {
        const built = await writeLayer(store, diffOverBase(base, i > 0 ? states[i - 1] : emptyTree(), states[i]), recipe.epoch, !!opts.gzip, layer.name, layer.comment);
        await cache.put(key, built);
        layers.push({ ...built, cached: false });
        node.done(`sha256:${built.digest.slice(0, 12)}`);
      } catch (e) {
        node.failed(e as Error);
        throw e;
      }
    }

    const imageNode = report.start('image', `image ${recipe.tag ?? `${recipe.name}:latest`}`);
    let meta: ReturnType<typeof imageMeta>;
    try {
      meta = imageMeta(recipe, layers, baseConfig);
    } catch (e) {
      imageNode.failed(e as Error);
      throw e;
    }
    imageNode.done(`sha256:${meta.manifest.digest.slice(0, 12)}`);
    const outputs: Partial<Record<Format, string>> = {};
    const written: Format[] = [];
    if (formats.length) {
      await fs.mkdir(outDir, { recursive: true });
      await sweepStaleTemps(outDir);
    }
    opts.signal?.throwIfAborted();
    const initrdGzip = opts.initrdGzip ?? true;
    // The SBOM and the exports are independent (but for an OCI layout that carries the SBOM), so they run
    // side by side: the docker archive's layer is copied on a thread of its own while this one makes the SBOM.
    let sbom: Awaited<ReturnType<typeof buildSboms>> | undefined;
    const exportTo = async (f: Format): Promise<void> => {
      const target = path.join(outDir, `${recipe.name}.${OUTPUT_SUFFIX[f]}${f === 'initrd' && initrdGzip ? '.gz' : ''}`);
      outputs[f] = target;
      const carriesSbom = f === 'oci' && wantSbom && recipe.sbomInLayout;
      if (carriesSbom) await sbomMade;
      const node = report.start(`export:${f}`, `export ${f}`);
      const exportKey = digestOf({ node: 'export', v: ENGINE_VERSION, f, manifest: meta.manifest.digest, tree: digests[digests.length - 1], ...(f === 'initrd' ? { initrdGzip } : {}), ...(carriesSbom && sbom?.oci ? { sbom: sbom.oci.index.digest } : {}) });
      if (await outputCurrent(cache, target, exportKey)) {
        node.cached();
        return;
      }
      try {
        if (f === 'docker') await writeDockerArchive(target, store, meta, layers, recipe.epoch);
        else if (f === 'oci') await writeOciLayout(target, store, meta, layers, carriesSbom ? sbom?.oci : undefined);
        else if (f === 'initrd') {
          const spec = defaultWrapperSpec(recipe);
          const blob = await initrdBlob(store, cache, states[states.length - 1], digests[digests.length - 1], spec, recipe.epoch, initrdGzip);
          await writeInitrdFile(store, blob.digest, target);
        } else await writeRootfs(target, store, cache, states, recipe.epoch, layers);
        await recordOutput(cache, target, exportKey);
      } catch (e) {
        node.failed(e as Error);
        // An export writes to the output folder (and, for the initrd, the cache: latched there).
        throw (await storageFault(e, { cache: store.cacheDir, output: outDir }, latched(store, cache), 'output')) ?? e;
      }
      written.push(f);
      node.done();
    };
    // Started a microtask later: after each export has started.
    const sbomMade = wantSbom
      ? Promise.resolve().then(async () => {
          sbom = await buildSboms({ recipe, meta, layers, states, brought, store, cache, outDir, report });
        })
      : Promise.resolve();
    const exporting = formats.map(exportTo);
    const settled = await Promise.allSettled([sbomMade, ...exporting]);
    // Every export has ended (none writes behind our back) before a failure is reported.
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
    written.sort((a, b) => formats.indexOf(a) - formats.indexOf(b));
    // After the exports: a build that failed leaves no SBOM of an image it did not write.
    const sboms = sbom ? await sbom.write() : undefined;
    return { recipe, ...(baseImage ? { base: { ref: baseImage.ref, digest: baseImage.digest } } : {}), projectDir: project.dir, manifestDigest: meta.manifest.digest, layers, outputs, written, ...(sboms ? { sboms } : {}), states, stages, brought, store, lock };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    // Closing writes the stat cache: on a full disk that fails too, and must not hide the first error.
    await store.close().catch((e: unknown) => {
      if (!failed) throw e;
    });
  }
}

/** The base's config, checked, as the starting config; its architecture must be the recipe's. */
function startingConfig(recipe: Recipe, base: BaseImage): BaseConfig {
  let c: BaseConfig;
  try {
    c = readBaseConfig(base.config);
  } catch (e) {
    if (e instanceof BaseConfigError) throw new BaseImageError(`layers[0].sources[0].ref: base ${base.ref}: ${e.message}`);
    throw e;
  }
  if (c.architecture !== undefined && c.architecture !== recipe.architecture) {
    throw new RecipeError('architecture', `is ${recipe.architecture}, the base ${base.ref} is ${c.architecture}: set architecture: ${c.architecture} (or pick a base of this architecture)`);
  }
  return c;
}

/** Compare what the sources resolved to with the lock: refuse drift under --locked, else report it and update the lock. */
async function settleLock(projectDir: string, evaluated: EvaluatedSource[], store: BlobStore, report: NodeReporter, mode: 'write' | 'locked', old: Awaited<ReturnType<typeof readLock>>): Promise<LockSummary> {
  const t0 = performance.now();
  const now = keepSettledArchives(old?.lock, await lockOf(evaluated, projectDir, store));
  const drift = old ? lockDrift(old.lock, now) : [];
  if (mode === 'locked' && drift.length) throw new LockDriftError(path.join(projectDir, LOCK_FILE), drift);
  const file = path.join(projectDir, LOCK_FILE);
  if (drift.length) report.log(`${LOCK_FILE}: ${drift.length} change${drift.length === 1 ? '' : 's'} since the lock:\n${drift.map((l) => `  ${l}`).join('\n')}`);
  let written = false;
  try {
    written = mode === 'write' && (await writeLock(projectDir, now, old?.text));
  } catch (e) {
    // The image does not depend on the lock: a read-only project still builds.
    report.log(`${LOCK_FILE}: not written (${(e as Error).message})`);
  }
  return { file, drift, written, ms: Math.round(performance.now() - t0) };
}

async function writeLayer(
  store: BlobStore,
  changes: LayerChanges,
  epoch: number,
  gzip: boolean,
  name: string,
  comment?: string,
): Promise<BuiltLayer> {
  const items = layerItems(changes);
  const tar = await store.putWritten((write) => writeTar(store, items, epoch, write));
  let blob = tar;
  if (gzip) blob = await store.putStream(pipeline(store.readStream(tar.digest), createGzip({ level: 6 }), () => {}));
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
    // A base's bottom layer was not made by our writer: its tar is not the rootfs's bytes.
    const ours = !layers[0]?.base;
    if (layers.length === 1 && ours) await copyBlob(store, layers[0].diffId, tmp);
    else await writeRootfsTar(tmp, store, cache, states[states.length - 1], epoch, ours ? { diffId: layers[0].diffId, tree: states[0] } : undefined);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

// An output is current when the file at its path is the one this cache last
// wrote there (same inode, size and mtime) for the same export key.
async function outputCurrent(cache: BuildCache, target: string, key: string): Promise<boolean> {
  const rec = await cache.get(outputRecordKey(target), outputRecordSchema);
  if (!rec || rec.key !== key) return false;
  return rec.stat === (await statId(target));
}

async function recordOutput(cache: BuildCache, target: string, key: string): Promise<void> {
  await cache.put(outputRecordKey(target), { key, stat: await statId(target) });
}

function cacheFromSummary(s: RegistryCache['stats']): string {
  return `cache-from: ${s.fetched} nodes fetched, ${s.missed} not in the registry${s.refused ? `, ${s.refused} refused (computed here)` : ''}`;
}

function outputRecordKey(target: string): string {
  return `output-${digestOf({ target })}`;
}

/**
 * An output's identity: a file's inode, size and mtime; for the OCI folder, those of every file
 * in it. Its blobs are hard links shared with the cache and the rootfs tar, so a change made
 * through one of those (an append to the rootfs tar) shows here too.
 */
async function statId(p: string): Promise<string> {
  try {
    const st = await fs.stat(p);
    if (!st.isDirectory()) return `${st.ino}:${st.size}:${st.mtimeMs}`;
    const rows: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      for (const d of (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (d.isDirectory()) await walk(path.join(dir, d.name), `${rel}${d.name}/`);
        else {
          const f = await fs.lstat(path.join(dir, d.name));
          rows.push(`${rel}${d.name}:${f.ino}:${f.size}:${f.mtimeMs}`);
        }
      }
    };
    await walk(p, '');
    return digestOf(rows);
  } catch {
    return 'missing';
  }
}
