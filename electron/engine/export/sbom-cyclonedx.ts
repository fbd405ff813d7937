// An SBOM as CycloneDX 1.6 JSON, through @cyclonedx/cyclonedx-library's models
// and serializer. Deterministic: the serial number is derived from the
// content, the timestamp is the recipe's epoch, lists are sorted.
//
// The files outside packages (thousands for an image over a Debian-sized
// tarball) are normalized here rather than as library models: the library
// sorted and normalized them one Set and one object at a time (~300 ms of a
// 7,000-file SBOM). What the library would write for a file is small and
// fixed (type, name, bom-ref, hashes, properties); the rest (the image, its
// layers, the packages with their licences and files) still goes through the
// library, and the lists are ordered by the library's own comparisons over the
// order it would have inserted them in, so the bytes are the same
// (test/engine/sbom.test.ts compares both against each other).
// The sub-path entry points: the package's index also loads its validators, which read schema files beside it (not bundled).
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import { sha256 } from '../model/digest';
import { spdxLicense } from '../model/dpkg';
import { debPurl, perLayerAndSource, sourceField, type Sbom, type SbomFile, type SbomPackage, type SourceRef } from '../model/sbom';


const OPTIONS = { sortLists: true };

export function cyclonedxJson(s: Sbom, toolVersion: string): string {
  const layerName = layerNames(s);
  const factory = new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6);
  const { bom, image, top } = bomOf(s, toolVersion, false);
  const doc = factory.makeForBom().normalize(bom, OPTIONS) as unknown as Record<string, unknown>;
  const normalizer = factory.makeForComponent();
  // The order the library inserts them in (its sort is stable): layers, packages, files.
  const components: Normalized[] = [...top].map((c) => normalizer.normalize(c, OPTIONS) as unknown as Normalized);
  const where = perLayerAndSource((layer, brought) => whereProperties(layer, layerName, brought));
  for (const f of s.files) components.push(fileNormalized(f, where(f.layer, f.brought)));
  doc.components = components.sort(compareComponents);
  // Every bom-ref once, as the library walks them (the image, then each component followed by those inside it), none depending on another.
  const refs = [image.bomRef.toString()];
  for (const c of top) refs.push(c.bomRef.toString(), ...[...c.components].map((n) => n.bomRef.toString()));
  for (const f of s.files) refs.push(`file:${f.path}`);
  // The library renames repeated bom-refs (randomly); none repeat in an SBOM of ours, but if one did, its output it is.
  if (new Set(refs).size !== refs.length || refs.includes('')) return cyclonedxJsonByLibrary(s, toolVersion);
  doc.dependencies = refs.sort((a, b) => a.localeCompare(b)).map((ref) => ({ ref }));
  return JSON.stringify(doc, null, 2) + '\n';
}

/** The same document through the library alone (every file a model): what cyclonedxJson must equal, for tests. */
export function cyclonedxJsonByLibrary(s: Sbom, toolVersion: string): string {
  return new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6)).serialize(bomOf(s, toolVersion, true).bom, { ...OPTIONS, space: 2 }) + '\n';
}

function layerNames(s: Sbom): (i: number | undefined) => string | undefined {
  return (i) => (i === undefined ? undefined : s.layers[i]?.name);
}

/** The models: the image, its layers and packages, and (withFiles) the files outside packages. */
function bomOf(s: Sbom, toolVersion: string, withFiles: boolean): { bom: Models.Bom; image: Models.Component; top: Models.Component[] } {
  const layerName = layerNames(s);
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
  const top: Models.Component[] = [];
  for (const l of s.layers) {
    const c = new Models.Component(Enums.ComponentType.Data, `layer ${l.name}`, { bomRef: `layer:${l.index}`, version: `sha256:${l.digest}` });
    c.hashes.set(Enums.HashAlgorithm['SHA-256'], l.digest);
    if (l.diffId) c.properties.add(new Models.Property('scratchyard:layer:diffId', `sha256:${l.diffId}`));
    c.properties.add(new Models.Property('scratchyard:layer:index', String(l.index)));
    top.push(c);
  }
  for (const p of s.packages) top.push(packageComponent(p, s.distro, layerName));
  if (withFiles) for (const f of s.files) top.push(fileComponent(f, layerName));
  for (const c of top) bom.components.add(c);
  // The serial number names this content: same image, same SBOM, same number.
  // Built by one code path, the same content is the same JSON text: digested as JSON.stringify writes it
  // (a key-sorted canonical form cost ~100 ms on a 7,000-file SBOM and named nothing more).
  bom.serialNumber = urnUuid(sha256(JSON.stringify({ s, toolVersion })));
  return { bom, image, top };
}

interface Normalized {
  name: string;
  version?: string;
  'bom-ref'?: string;
  purl?: string;
}

/** The library's Component.compare on normalized components (group and cpe are never set here). */
function compareComponents(a: Normalized, b: Normalized): number {
  const byRef = (a['bom-ref'] ?? '').localeCompare(b['bom-ref'] ?? '');
  if (byRef !== 0) return byRef;
  if (a.purl !== undefined && b.purl !== undefined) return a.purl.localeCompare(b.purl);
  return a.name.localeCompare(b.name) || (a.version ?? '').localeCompare(b.version ?? '');
}

/**
 * What the library writes for fileComponent(f), with its hashes and properties
 * in the order the library sorts them to: SHA-1 before SHA-256, and
 * scratchyard:layer, :source, :source:kind as whereProperties lists them (a
 * sort per file allocated ~12 MB of a 7,000-file SBOM; the unit test holds
 * this order to the library's). The properties list is shared by the files
 * of one source in one layer.
 */
function fileNormalized(f: SbomFile, properties: { name: string; value: string }[]): Normalized {
  const hashes = [
    { alg: 'SHA-1', content: f.sha1 },
    { alg: 'SHA-256', content: f.sha256 },
  ];
  const c: Record<string, unknown> = { type: 'file', name: f.path, 'bom-ref': `file:${f.path}`, hashes };
  if (properties.length) c.properties = properties;
  return c as unknown as Normalized;
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
  for (const p of whereProperties(layer, layerName, brought)) c.properties.add(new Models.Property(p.name, p.value));
}

/** The layer that holds it and the recipe source that brought it, as properties. */
function whereProperties(layer: number | undefined, layerName: (i: number | undefined) => string | undefined, brought: SourceRef | undefined): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  const name = layerName(layer);
  if (name !== undefined) out.push({ name: 'scratchyard:layer', value: name });
  if (brought) out.push({ name: 'scratchyard:source', value: sourceField(brought) }, { name: 'scratchyard:source:kind', value: brought.kind });
  return out;
}

/** A v4-shaped UUID URN from a digest (RFC 4122 variant bits set, as the schema's pattern wants). */
export function urnUuid(hex: string): string {
  const h = hex.slice(0, 32).split('');
  h[12] = '4';
  h[16] = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `urn:uuid:${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
