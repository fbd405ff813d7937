// `scratchyard sbom IMAGE|PROJECT`: the SBOM of any image (an OCI layout or a
// docker-archive, ours or anyone's: packages from its dpkg status and
// status.d/), or of a project (built, with the source of every file).
import path from 'node:path';
import type { Sbom } from '../model/sbom';
import { isImagePath, readImage } from '../oci/read';
import { SbomInputError, builtSbomInput, collectSbom, openedSbomInput } from '../export/sbom-collect';
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
    const name = path.basename(path.resolve(target)).replace(/\.(oci|tar|docker\.tar)$/, '');
    return await collectSbom(openedSbomInput(img, name, path.resolve(target), store));
  } catch (e) {
    if (e instanceof SbomInputError) throw new SbomInputError(`${target}: ${e.message}`);
    throw e;
  } finally {
    await store.close();
  }
}
