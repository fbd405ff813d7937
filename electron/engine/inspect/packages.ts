// The app's Packages view: one row per Debian package of an image (what its
// SBOM lists), with the layer that holds it, its size, licences and the recipe
// source that brought it; and the lock's state after a build. Pure: the SBOM
// collector has already read (and bounded) everything from the image.
import type { LockState, PackageRow } from '../../../shared/contract';
import { sourceField, type Sbom } from '../model/sbom';

export function packageRows(sbom: Sbom): PackageRow[] {
  const layerName = new Map(sbom.layers.map((l) => [l.index, l.name]));
  return sbom.packages.map((p) => {
    const size = p.installedSize ?? (p.files.length ? p.files.reduce((n, f) => n + f.size, 0) : undefined);
    return {
      name: p.name,
      version: p.version,
      architecture: p.architecture,
      ...(p.layer !== undefined ? { layer: p.layer, layerName: layerName.get(p.layer) ?? String(p.layer + 1) } : {}),
      ...(size !== undefined ? { size } : {}),
      licenses: p.licenses,
      ...(p.brought ? { brought: `${sourceField(p.brought)} (${p.brought.kind})` } : {}),
      foundIn: p.foundIn,
    };
  });
}

/**
 * The lock as the last build left it: `drifted` when that build found changes
 * since the lock (they are listed, and the lock was updated unless --locked
 * refused them), `locked` when it matched, `none` when the project has no lock.
 */
export function lockState(lock: { file: string; drift: string[] } | undefined, lockExists: boolean): LockState {
  // A lock file no build compared is not evidence that anything matches it.
  if (!lock) return lockExists ? { state: 'unchecked', drift: [] } : { state: 'none', drift: [] };
  return { state: lock.drift.length ? 'drifted' : 'locked', file: lock.file, drift: lock.drift };
}
