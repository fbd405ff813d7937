// A build's SBOMs: collected from the graph (the source of each path, the
// layers), written beside the outputs, and returned as the OCI layout's
// artifact. One graph node, "sbom".
import type { ImagePath } from '../../../shared/brand';
import type { Recipe } from '../../../shared/recipe';
import type { NodeReporter } from '../model/events';
import type { SourceRef } from '../model/sbom';
import type { Tree } from '../model/tree';
import type { BuiltLayer, ImageMeta } from '../oci/image';
import { builtSbomInput, collectSbom } from '../export/sbom-collect';
import { sbomArtifact, sbomDocs, writeSbomFiles, type OciExtras, type SbomFiles } from '../export/sbom';
import type { BlobStore } from '../store/blobs';

export interface BuildSbomInput {
  recipe: Recipe;
  meta: ImageMeta;
  layers: BuiltLayer[];
  states: Tree[];
  brought: Map<ImagePath, SourceRef>;
  store: BlobStore;
  outDir: string;
  report: NodeReporter;
}

/** The SBOMs of a build, and the OCI layout's artifact; `write` puts the files beside the outputs (once those are written). */
export async function buildSboms(i: BuildSbomInput): Promise<{ write: () => Promise<SbomFiles>; oci: OciExtras }> {
  const node = i.report.start('sbom', 'sbom');
  try {
    const input = builtSbomInput({ ...i, manifestDigest: i.meta.manifest.digest });
    const created = input.created;
    const sbom = await collectSbom(input);
    const docs = sbomDocs(sbom);
    node.done(`${sbom.packages.length} packages, ${sbom.files.length} files`);
    return { write: () => writeSbomFiles(i.outDir, i.recipe.name, docs), oci: sbomArtifact(i.meta, i.recipe.name, docs.cyclonedx, created) };
  } catch (e) {
    node.failed(e as Error);
    throw e;
  }
}
