// A build's SBOMs: collected from the graph (the source of each path, the
// layers), written beside the outputs, and returned as the OCI layout's
// artifact. One graph node, "sbom". When nothing the SBOMs say has changed
// (same image manifest, layers, sources, host packages) and the files beside
// the outputs are still the ones written for it (checked by digest), they are
// reused: nothing is collected or written, and the CycloneDX library is not
// even loaded.
import { promises as fs } from 'node:fs';
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { imageReference, type Recipe } from '../../../shared/recipe';
import { digestOf, sha256 } from '../model/digest';
import type { NodeReporter } from '../model/events';
import type { SourceRef } from '../model/sbom';
import type { Tree } from '../model/tree';
import type { BuiltLayer, ImageMeta } from '../oci/image';
import { SBOM_TOOL_VERSION, sbomArtifact, sbomCreated, sbomFileNames, writeSbomFiles, type OciExtras, type SbomDocs, type SbomFiles } from '../export/sbom-files';
import { hostDbIdentity } from '../sources/host-packages';
import type { BlobStore } from '../store/blobs';
import type { BuildCache } from '../store/cache';
import { HEX64 } from '../store/integrity';

export interface BuildSbomInput {
  recipe: Recipe;
  meta: ImageMeta;
  layers: BuiltLayer[];
  states: Tree[];
  brought: Map<ImagePath, SourceRef>;
  store: BlobStore;
  /** Where the SBOMs written last time are recorded. */
  cache: BuildCache;
  outDir: string;
  report: NodeReporter;
}

/** Source kinds whose SBOM entries come from this machine's dpkg database (and status.d, which the build writes from it). */
const HOST_KINDS = new Set(['host', 'libs', 'busybox', 'status.d']);

/** The SBOMs of a build, and the OCI layout's artifact; `write` puts the files beside the outputs (once those are written). */
export async function buildSboms(i: BuildSbomInput): Promise<{ write: () => Promise<SbomFiles>; oci: OciExtras }> {
  const node = i.report.start('sbom', 'sbom');
  try {
    const created = sbomCreated(i.recipe.epoch);
    const files = sbomFileNames(i.outDir, i.recipe.name);
    const key = await sbomKey(i);
    const recordKey = `sbom-output-${digestOf({ target: files.cyclonedx })}`;
    const reused = await reusable(i.cache, recordKey, key, files);
    if (reused) {
      node.cached(reused.summary);
      return { write: async () => files, oci: sbomArtifact(i.meta, i.recipe.name, reused.cyclonedx, created) };
    }
    // Loaded only when SBOMs are made: the collector, packageurl-js and the CycloneDX library.
    const [{ builtSbomInput, collectSbom }, { sbomDocs }] = await Promise.all([import('../export/sbom-collect'), import('../export/sbom')]);
    const sbom = await collectSbom(builtSbomInput({ ...i, manifestDigest: i.meta.manifest.digest }));
    const docs = sbomDocs(sbom);
    const summary = `${sbom.packages.length} packages, ${sbom.files.length} files`;
    node.done(summary);
    return {
      write: async () => {
        const written = await writeSbomFiles(i.outDir, i.recipe.name, docs);
        await i.cache.put(recordKey, record(key, docs, summary));
        return written;
      },
      oci: sbomArtifact(i.meta, i.recipe.name, docs.cyclonedx, created),
    };
  } catch (e) {
    node.failed(e as Error);
    throw e;
  }
}

/**
 * Everything the SBOMs are made of: the image (its manifest digest names its
 * config and every layer's content), its name and reference, layer names,
 * the source that brought each path, and, when any path came from this
 * machine, the identity of its dpkg database (packages, versions, licences).
 */
async function sbomKey(i: BuildSbomInput): Promise<Sha256> {
  let host = false;
  const brought: unknown[] = [];
  for (const [p, r] of i.brought) {
    brought.push(p, r.layer, r.source, r.kind);
    host ||= HOST_KINDS.has(r.kind);
  }
  return digestOf({
    node: 'sbom',
    v: 1,
    tool: SBOM_TOOL_VERSION,
    manifest: i.meta.manifest.digest,
    name: i.recipe.name,
    reference: imageReference(i.recipe).full,
    architecture: i.recipe.architecture,
    epoch: i.recipe.epoch,
    layers: i.layers.map((l) => [l.name, l.digest, l.diffId ?? null]),
    brought: sha256(JSON.stringify(brought)),
    host: host ? ((await hostDbIdentity()) ?? null) : null,
  });
}

interface Written {
  digest: Sha256;
  size: number;
}

/** What was written for an SBOM key: each file's digest and size. */
function record(key: Sha256, docs: SbomDocs, summary: string) {
  const of = (text: string): Written => ({ digest: sha256(text), size: Buffer.byteLength(text) });
  return { key, cyclonedx: of(docs.cyclonedx), spdx: of(docs.spdx), summary };
}

/** The CycloneDX text of the SBOMs beside the outputs when they are the ones recorded for `key` (the record is checked as the untrusted file it is). */
async function reusable(cache: BuildCache, recordKey: string, key: Sha256, files: SbomFiles): Promise<{ cyclonedx: string; summary: string } | undefined> {
  const rec = await cache.get<unknown>(recordKey);
  if (!rec || typeof rec !== 'object') return undefined;
  const r = rec as Record<string, unknown>;
  if (r.key !== key || typeof r.summary !== 'string' || r.summary.length > 200 || !isWritten(r.cyclonedx) || !isWritten(r.spdx)) return undefined;
  const cyclonedx = await readIfSame(files.cyclonedx, r.cyclonedx);
  if (cyclonedx === undefined || (await readIfSame(files.spdx, r.spdx)) === undefined) return undefined;
  return { cyclonedx: cyclonedx.toString('utf8'), summary: r.summary };
}

function isWritten(v: unknown): v is Written {
  if (!v || typeof v !== 'object') return false;
  const w = v as Record<string, unknown>;
  return typeof w.digest === 'string' && HEX64.test(w.digest) && Number.isSafeInteger(w.size) && (w.size as number) >= 0;
}

/** A file's bytes when it is a regular file of exactly the recorded size and digest. */
async function readIfSame(file: string, w: Written): Promise<Buffer | undefined> {
  const st = await fs.lstat(file).catch(() => undefined);
  if (!st?.isFile() || st.size !== w.size) return undefined;
  const bytes = await fs.readFile(file).catch(() => undefined);
  return bytes && sha256(bytes) === w.digest ? bytes : undefined;
}
