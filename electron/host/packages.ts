// packages.list: the Debian packages of the project's last build (or of the
// opened image) for the app's Packages view, and the lock's state. Collected
// by the SBOM's own collector, once per build or image.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Response } from '../../shared/contract';
import { LOCK_FILE } from '../../shared/lock';
import type { BuildResult } from '../engine/entry/build';
import { builtSbomInput, collectSbom, openedSbomInput } from '../engine/export/sbom-collect';
import type { OpenedImage } from '../engine/inspect';
import { lockState, packageRows } from '../engine/inspect/packages';
import type { BlobStore } from '../engine/store/blobs';

type Reply = Response<'packages.list'>;
const seen = new WeakMap<object, Promise<Reply['packages']>>();

export async function packagesReply(projectDir: string, shown: { build?: BuildResult; image?: { img: OpenedImage; store: BlobStore } }): Promise<Reply> {
  const build = shown.image ? undefined : shown.build;
  const lock = lockState(build?.lock, existsSync(path.join(projectDir, LOCK_FILE)));
  if (shown.image) {
    const { img, store } = shown.image;
    const rows = once(img, async () => packageRows(await collectSbom(openedSbomInput(img, img.name, img.name, store))));
    return { of: 'image', packages: await rows, lock };
  }
  if (!build) return { of: 'none', packages: [], lock };
  return { of: 'build', packages: await once(build, async () => packageRows(await collectSbom(builtSbomInput(build)))), lock };
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
