// An SBOM as its two documents (CycloneDX 1.6 and SPDX 2.3 JSON); writing
// them and the OCI artifact are in sbom-files.ts.
import type { Sbom } from '../model/sbom';
import { cyclonedxJson } from './sbom-cyclonedx';
import { SBOM_TOOL_VERSION, type SbomDocs } from './sbom-files';
import { spdxJson } from './sbom-spdx';

export { SBOM_TOOL_VERSION, sbomArtifact, writeSbomFiles, type OciExtras, type SbomDocs, type SbomFiles } from './sbom-files';

export function sbomDocs(s: Sbom): SbomDocs {
  return { cyclonedx: cyclonedxJson(s, SBOM_TOOL_VERSION), spdx: spdxJson(s, SBOM_TOOL_VERSION) };
}

/**
 * A document's UTF-8 bytes. Most SBOMs are ASCII, whose UTF-8 is their Latin-1: copied
 * as it is, where the UTF-8 encoder took ~60 ms per 6 MB document. A string is ASCII
 * exactly when its UTF-8 length is its length (any other character takes two bytes or more).
 */
export function docBytes(text: string): Buffer {
  return Buffer.from(text, Buffer.byteLength(text, 'utf8') === text.length ? 'latin1' : 'utf8');
}
