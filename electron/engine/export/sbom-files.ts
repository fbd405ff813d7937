// SBOM files beside the image outputs (NAME.cdx.json, NAME.spdx.json) and the
// CycloneDX one as an OCI artifact whose subject is the image manifest
// (OCI 1.1 referrers): listed in index.json without a ref.name, so tools
// that pick the image by its tag (skopeo oci:DIR:TAG, umoci --image DIR:TAG)
// see the image as before. Nothing here loads the CycloneDX library: a
// rebuild that reuses its SBOMs needs only this.
import path from 'node:path';
import { version } from '../../../package.json';
import { sha256 } from '../model/digest';
import { MEDIA, type Blob, type ImageMeta } from '../oci/image';
import { writeFileAtomic } from '../store/atomic';

export const SBOM_TOOL_VERSION: string = version;
export const CDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';

/** The SBOMs' creation time: the recipe's epoch, so two builds write the same bytes. */
export function sbomCreated(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
}

export interface SbomDocs {
  cyclonedx: string;
  spdx: string;
}

export interface SbomFiles {
  cyclonedx: string;
  spdx: string;
}

export function sbomFileNames(outDir: string, name: string): SbomFiles {
  return { cyclonedx: path.join(outDir, `${name}.cdx.json`), spdx: path.join(outDir, `${name}.spdx.json`) };
}

export async function writeSbomFiles(outDir: string, name: string, docs: Record<keyof SbomDocs, string | Uint8Array>): Promise<SbomFiles> {
  const files = sbomFileNames(outDir, name);
  await writeFileAtomic(files.cyclonedx, docs.cyclonedx);
  await writeFileAtomic(files.spdx, docs.spdx);
  return files;
}

/** What an OCI layout holds besides the image: extra blobs, and the index.json that lists them. */
export interface OciExtras {
  blobs: Blob[];
  index: Blob;
}

const EMPTY_MEDIA = 'application/vnd.oci.empty.v1+json';

function blob(value: unknown): Blob {
  const bytes = Buffer.from(JSON.stringify(value));
  return { digest: sha256(bytes), bytes };
}

/** The CycloneDX document (its bytes and their digest, known to whoever hashed them first) as an artifact manifest referring to the image manifest. */
export function sbomArtifact(meta: ImageMeta, name: string, doc: Blob, created: string): OciExtras {
  const empty: Blob = { digest: sha256('{}'), bytes: Buffer.from('{}') };
  const manifest = blob({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    artifactType: CDX_MEDIA_TYPE,
    config: { mediaType: EMPTY_MEDIA, digest: `sha256:${empty.digest}`, size: 2 },
    layers: [{ mediaType: CDX_MEDIA_TYPE, digest: `sha256:${doc.digest}`, size: doc.bytes.length, annotations: { 'org.opencontainers.image.title': `${name}.cdx.json` } }],
    subject: { mediaType: MEDIA.manifest, digest: `sha256:${meta.manifest.digest}`, size: meta.manifest.bytes.length },
    annotations: { 'org.opencontainers.image.created': created },
  });
  const index = JSON.parse(meta.index.bytes.toString()) as { manifests: unknown[] };
  index.manifests.push({ mediaType: MEDIA.manifest, artifactType: CDX_MEDIA_TYPE, digest: `sha256:${manifest.digest}`, size: manifest.bytes.length });
  return { blobs: [doc, empty, manifest], index: blob(index) };
}
