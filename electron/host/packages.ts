// packages.list: the Debian packages of the project's last build (or of the
// opened image) for the app's Packages view, and the lock's state. Collected
// by the SBOM's own collector, once per build or image.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BuildRecord, Response } from '../../shared/contract';
import { LOCK_FILE } from '../../shared/lock';
import type { BuildResult } from '../engine/entry/build';
import { builtSbomInput, collectSbom, openedSbomInput } from '../engine/export/sbom-collect';
import type { OpenedImage } from '../engine/inspect';
import { lockState, packageRows } from '../engine/inspect/packages';
import type { BlobStore } from '../engine/store/blobs';

type Reply = Response<'packages.list'>;
const seen = new WeakMap<object, Promise<Reply['packages']>>();

export async function packagesReply(
  projectDir: string,
  shown: { build?: BuildResult; restored?: { record: BuildRecord; img: OpenedImage; store: BlobStore }; image?: { img: OpenedImage; store: BlobStore } },
): Promise<Reply> {
  if (shown.image) {
    // An opened image has no project, so no lock of its own.
    const { img, store } = shown.image;
    return { of: 'image', packages: await imageRows(img, store), lock: { state: 'none', drift: [] } };
  }
  const lockExists = existsSync(path.join(projectDir, LOCK_FILE));
  const { build, restored } = shown;
  if (build) return { of: 'build', packages: await once(build, async () => packageRows(await collectSbom(builtSbomInput(build)))), lock: lockState(build.lock, lockExists) };
  // The last build as the history and out/ keep it: its packages read from its OCI layout, its lock state as recorded.
  if (restored) return { of: 'build', packages: await imageRows(restored.img, restored.store), lock: restored.record.lock ?? lockState(undefined, lockExists) };
  return { of: 'none', packages: [], lock: lockState(undefined, lockExists) };
}

function imageRows(img: OpenedImage, store: BlobStore): Promise<Reply['packages']> {
  return once(img, async () => packageRows(await collectSbom(openedSbomInput(img, img.name, img.name, store))));
}

function once(key: object, make: () => Promise<Reply['packages']>): Promise<Reply['packages']> {
  let p = seen.get(key);
  if (!p) {
    p = make();
    seen.set(key, p);
    p.catch(() => seen.delete(key));
  }
  return p;
}
