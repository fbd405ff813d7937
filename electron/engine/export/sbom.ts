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
