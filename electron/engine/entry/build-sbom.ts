// A build's SBOMs: collected from the graph (the source of each path, the
// layers), written beside the outputs, and returned as the OCI layout's
// artifact. One graph node, "sbom", cached like the others: when nothing the
// SBOMs say has changed (same image manifest, layers, sources, host
// packages), the documents made last time are reused: the files beside the
// outputs if they are still those (checked by digest), else the copies kept
// in the store. Nothing is collected, and the CycloneDX library not loaded.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { imageReference, type Recipe } from '../../../shared/recipe';
import { digestOf, sha256 } from '../model/digest';
import type { NodeReporter } from '../model/events';
import type { SourceRef } from '../model/sbom';
import type { Tree } from '../model/tree';
import type { BuiltLayer, ImageMeta } from '../oci/image';
import { SBOM_TOOL_VERSION, sbomArtifact, sbomCreated, sbomFileNames, writeSbomFiles, type OciExtras, type SbomFiles } from '../export/sbom-files';
import { writeFileAtomic } from '../store/atomic';
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
  /** Where the SBOM node (the digests of the documents made for these inputs) is kept. */
  cache: BuildCache;
  outDir: string;
  report: NodeReporter;
}

/** Source kinds whose SBOM entries come from this machine's dpkg database (and status.d, which the build writes from it). */
const HOST_KINDS = new Set(['host', 'libs', 'busybox', 'status.d']);

/**
 * The SBOMs of a build, and (for a recipe with sbomInLayout) the OCI layout's
 * artifact; `write` puts the files beside the outputs (once those are written).
 */
export async function buildSboms(i: BuildSbomInput): Promise<{ write: () => Promise<SbomFiles>; oci?: OciExtras }> {
  const node = i.report.start('sbom', 'sbom');
  try {
    const created = sbomCreated(i.recipe.epoch);
    const files = sbomFileNames(i.outDir, i.recipe.name);
    const nodeKey = `sbom-${await sbomKey(i)}`;
    const outputKey = `sbom-output-${digestOf({ target: files.cyclonedx })}`;
    const made = await madeBefore(i.cache, i.store, nodeKey);
    if (made) {
      // The documents of the last build with these inputs: the files beside the outputs when they are still those, else from the store.
      const rec = await i.cache.get<unknown>(outputKey);
      const written = rec && typeof rec === 'object' && (rec as Record<string, unknown>).node === nodeKey ? (rec as Record<string, unknown>) : {};
      const [cyclonedx, spdx] = await Promise.all([current(written.cyclonedx, files.cyclonedx, made.cyclonedx), current(written.spdx, files.spdx, made.spdx)]);
      node.cached(made.summary);
      return {
        write: async () => {
          if (!cyclonedx) await writeFileAtomic(files.cyclonedx, await i.store.read(made.cyclonedx.digest));
          if (!spdx) await writeFileAtomic(files.spdx, await i.store.read(made.spdx.digest));
          if (cyclonedx !== 'unchanged' || spdx !== 'unchanged') await recordWritten(i.cache, outputKey, nodeKey, files);
          return files;
        },
        ...(i.recipe.sbomInLayout ? { oci: sbomArtifact(i.meta, i.recipe.name, { digest: made.cyclonedx.digest, bytes: await i.store.read(made.cyclonedx.digest) }, created) } : {}),
      };
    }
    // Loaded only when SBOMs are made: the collector, packageurl-js and the CycloneDX library.
    const [{ builtSbomInput, collectSbom }, { docBytes, sbomDocs }] = await Promise.all([import('../export/sbom-collect'), import('../export/sbom')]);
    const sbom = await collectSbom(builtSbomInput({ ...i, manifestDigest: i.meta.manifest.digest }));
    const docs = sbomDocs(sbom);
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    const summary = `${count(sbom.packages.length, 'package')}, ${count(sbom.files.length, 'file')}`;
    // Kept in the store, and the node written once they are there; encoded once, for the store and the files.
    const bytes = { cyclonedx: docBytes(docs.cyclonedx), spdx: docBytes(docs.spdx) };
    const [cyclonedx, spdx] = await Promise.all([i.store.putBytes(bytes.cyclonedx), i.store.putBytes(bytes.spdx)]);
    await i.cache.put(nodeKey, { cyclonedx, spdx, summary });
    node.done(summary);
    return {
      write: async () => {
        const written = await writeSbomFiles(i.outDir, i.recipe.name, bytes);
        await recordWritten(i.cache, outputKey, nodeKey, files);
        return written;
      },
      ...(i.recipe.sbomInLayout ? { oci: sbomArtifact(i.meta, i.recipe.name, { digest: cyclonedx.digest, bytes: bytes.cyclonedx }, created) } : {}),
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
  // Hashed as it goes, some 64 KiB at a time (one update a path was ~10 ms of a Debian-sized image's ~9k): the same digest.
  const brought = createHash('sha256');
  let text = '';
  for (const [p, r] of i.brought) {
    text += `${p}\0${r.layer}\0${r.source}\0${r.kind}\n`;
    if (text.length >= 1 << 16) {
      brought.update(text);
      text = '';
    }
    host ||= HOST_KINDS.has(r.kind);
  }
  brought.update(text);
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
    brought: brought.digest('hex'),
    host: host ? ((await hostDbIdentity()) ?? null) : null,
  });
}

interface Made {
  digest: Sha256;
  size: number;
}

/** The SBOM node of these inputs (checked as the untrusted file it is), when both its documents are in the store. */
async function madeBefore(cache: BuildCache, store: BlobStore, nodeKey: string): Promise<{ cyclonedx: Made; spdx: Made; summary: string } | undefined> {
  const rec = await cache.get<unknown>(nodeKey);
  if (!rec || typeof rec !== 'object') return undefined;
  const { cyclonedx, spdx, summary } = rec as Record<string, unknown>;
  if (typeof summary !== 'string' || summary.length > 200 || !isMade(cyclonedx) || !isMade(spdx)) return undefined;
  if (!(await store.has(cyclonedx.digest)) || !(await store.has(spdx.digest))) return undefined;
  return { cyclonedx, spdx, summary };
}

function isMade(v: unknown): v is Made {
  if (!v || typeof v !== 'object') return false;
  const w = v as Record<string, unknown>;
  return typeof w.digest === 'string' && HEX64.test(w.digest) && Number.isSafeInteger(w.size) && (w.size as number) >= 0;
}

/** A file's identity as stat gives it: a rewrite (a rename over it, an edit) changes it. */
async function statId(file: string): Promise<string | undefined> {
  const st = await fs.lstat(file, { bigint: true }).catch(() => undefined);
  return st?.isFile() ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : undefined;
}

/** Which SBOM node the files beside the outputs were written from, with their identities then. */
async function recordWritten(cache: BuildCache, outputKey: string, nodeKey: string, files: SbomFiles): Promise<void> {
  await cache.put(outputKey, { node: nodeKey, cyclonedx: await statId(files.cyclonedx), spdx: await statId(files.spdx) });
}

/**
 * Whether the file beside the outputs is still the document `m`: unchanged
 * since this cache wrote it from this node (the stat identity recorded then),
 * or else read and found to have exactly its size and digest. False: write it
 * again.
 */
async function current(recorded: unknown, file: string, m: Made): Promise<'unchanged' | 'same bytes' | false> {
  const id = await statId(file);
  if (id === undefined) return false;
  if (recorded === id) return 'unchanged';
  const bytes = await fs.readFile(file).catch(() => undefined);
  return !!bytes && bytes.length === m.size && sha256(bytes) === m.digest ? 'same bytes' : false;
}
