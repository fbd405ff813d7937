// packages.list: the Debian packages of the project's last build (or of the
// opened image) for the app's Packages view, and the lock's state. Collected
// by the SBOM's own collector, once per build or image.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseDigest } from '../../shared/brand';
import type { Response } from '../../shared/contract';
import { LOCK_FILE } from '../../shared/lock';
import type { BuildResult } from '../engine/entry/build';
import { builtSbomInput, collectSbom } from '../engine/export/sbom-collect';
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
    const rows = once(img, async () =>
      packageRows(
        await collectSbom({
          name: img.name,
          reference: img.name,
          architecture: 'unknown',
          created: new Date(0).toISOString(),
          layers: img.layers.map((l, index) => ({ index, name: String(index + 1), digest: parseDigest(l.digest, `layer ${index + 1}`) })),
          states: img.states,
          store,
        }),
      ),
    );
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
