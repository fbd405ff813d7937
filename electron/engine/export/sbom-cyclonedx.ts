// An SBOM as CycloneDX 1.6 JSON, through @cyclonedx/cyclonedx-library's models
// and serializer. Deterministic: the serial number is derived from the
// content, the timestamp is the recipe's epoch, lists are sorted.
// The sub-path entry points: the package's index also loads its validators, which read schema files beside it (not bundled).
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import { digestOf } from '../model/digest';
import { spdxLicense } from '../model/dpkg';
import { debPurl, sourceField, type Sbom, type SbomFile, type SbomPackage, type SourceRef } from '../model/sbom';


export function cyclonedxJson(s: Sbom, toolVersion: string): string {
  const layerName = (i: number | undefined) => (i === undefined ? undefined : s.layers[i]?.name);
  const image = new Models.Component(Enums.ComponentType.Container, s.reference, {
    bomRef: 'image',
    ...(s.manifestDigest ? { version: `sha256:${s.manifestDigest}` } : {}),
  });
  image.properties.add(new Models.Property('scratchyard:architecture', s.architecture));
  const bom = new Models.Bom({
    metadata: new Models.Metadata({
      timestamp: new Date(s.created),
      component: image,
      tools: new Models.Tools({ tools: new Models.ToolRepository([new Models.Tool({ name: 'scratchyard', version: toolVersion })]) }),
    }),
  });
  for (const l of s.layers) {
    const c = new Models.Component(Enums.ComponentType.Data, `layer ${l.name}`, { bomRef: `layer:${l.index}`, version: `sha256:${l.digest}` });
    c.hashes.set(Enums.HashAlgorithm['SHA-256'], l.digest);
    if (l.diffId) c.properties.add(new Models.Property('scratchyard:layer:diffId', `sha256:${l.diffId}`));
    c.properties.add(new Models.Property('scratchyard:layer:index', String(l.index)));
    bom.components.add(c);
  }
  for (const p of s.packages) bom.components.add(packageComponent(p, s.distro, layerName));
  for (const f of s.files) bom.components.add(fileComponent(f, layerName));
  // The serial number names this content: same image, same SBOM, same number.
  bom.serialNumber = urnUuid(digestOf({ s, toolVersion }));
  return new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6)).serialize(bom, { sortLists: true, space: 2 }) + '\n';
}

function packageComponent(p: SbomPackage, distro: string | undefined, layerName: (i: number | undefined) => string | undefined): Models.Component {
  const purl = debPurl(p, distro);
  const c = new Models.Component(Enums.ComponentType.Library, p.name, { bomRef: `${purl}${p.foundIn === 'host-dpkg' ? '#host' : ''}`, version: p.version, purl });
  for (const name of p.licenses) {
    const id = spdxLicense(name);
    c.licenses.add(id ? new Models.SpdxLicense(id) : new Models.NamedLicense(name));
  }
  c.properties.add(new Models.Property('scratchyard:package:foundIn', p.foundIn));
  if (p.source) c.properties.add(new Models.Property('scratchyard:package:source', p.source));
  addWhere(c, p.layer, layerName, p.brought);
  for (const f of p.files) c.components.add(fileComponent(f, layerName));
  return c;
}

function fileComponent(f: SbomFile, layerName: (i: number | undefined) => string | undefined): Models.Component {
  const c = new Models.Component(Enums.ComponentType.File, f.path, { bomRef: `file:${f.path}` });
  c.hashes.set(Enums.HashAlgorithm['SHA-256'], f.sha256);
  c.hashes.set(Enums.HashAlgorithm['SHA-1'], f.sha1);
  addWhere(c, f.layer, layerName, f.brought);
  return c;
}

function addWhere(c: Models.Component, layer: number | undefined, layerName: (i: number | undefined) => string | undefined, brought: SourceRef | undefined): void {
  const name = layerName(layer);
  if (name !== undefined) c.properties.add(new Models.Property('scratchyard:layer', name));
  if (brought) {
    c.properties.add(new Models.Property('scratchyard:source', sourceField(brought)));
    c.properties.add(new Models.Property('scratchyard:source:kind', brought.kind));
  }
}

/** A v4-shaped UUID URN from a digest (RFC 4122 variant bits set, as the schema's pattern wants). */
export function urnUuid(hex: string): string {
  const h = hex.slice(0, 32).split('');
  h[12] = '4';
  h[16] = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `urn:uuid:${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
