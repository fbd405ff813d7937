// `scratchyard sbom IMAGE|PROJECT`: the SBOM of any image (an OCI layout or a
// docker-archive, ours or anyone's: packages from its dpkg status and
// status.d/), or of a project (built, with the source of every file).
import path from 'node:path';
import type { Sbom } from '../model/sbom';
import { isImagePath, readImage } from '../oci/read';
import { SbomInputError, builtSbomInput, collectSbom } from '../export/sbom-collect';
import { BlobStore } from '../store/blobs';
import { build } from './build';
import type { BuildEvent } from '../model/events';

export async function sbomOf(target: string, cacheDir: string, onEvent?: (e: BuildEvent) => void): Promise<Sbom> {
  if (await isImagePath(target)) return imageSbom(target, cacheDir);
  const r = await build({ project: target, cacheDir, formats: [], onEvent });
  return collectSbom(builtSbomInput(r));
}

async function imageSbom(target: string, cacheDir: string): Promise<Sbom> {
  const store = new BlobStore(cacheDir);
  await store.open();
  try {
    const img = await readImage(store, target);
    const config = (img.config ?? {}) as Record<string, unknown>;
    const text = (v: unknown, fallback: string) => (typeof v === 'string' && v.length <= 64 && /^[\w.:+-]+$/.test(v) ? v : fallback);
    const name = path.basename(path.resolve(target)).replace(/\.(oci|tar|docker\.tar)$/, '');
    return await collectSbom({
      name,
      reference: path.resolve(target),
      architecture: text(config.architecture, 'unknown'),
      created: validTime(config.created) ?? new Date(0).toISOString().replace('.000Z', 'Z'),
      layers: img.layers.map((l, index) => ({ index, name: String(index + 1), digest: l.digest })),
      states: img.states,
      store,
    });
  } catch (e) {
    if (e instanceof SbomInputError) throw new SbomInputError(`${target}: ${e.message}`);
    throw e;
  } finally {
    await store.close();
  }
}

function validTime(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length > 40 || !/^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)$/.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().replace('.000Z', 'Z');
}
