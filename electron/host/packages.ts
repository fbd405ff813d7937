// packages.list: the Debian packages of the project's last build (or of the
// opened image) for the app's Packages view, and the lock's state. Collected
// by the SBOM's own collector, once per build or image.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { packageRow, type BuildRecord, type Response } from '../../shared/contract';
import { LOCK_FILE } from '../../shared/lock';
import type { BuildResult } from '../engine/entry/build';
import { builtSbomInput, collectSbom, openedSbomInput } from '../engine/export/sbom-collect';
import type { OpenedImage } from '../engine/inspect';
import { lockState, packageRows } from '../engine/inspect/packages';
import type { BlobStore } from '../engine/store/blobs';
import { BuildCache } from '../engine/store/cache';

type Reply = Response<'packages.list'>;
const seen = new WeakMap<object, Promise<Reply['packages']>>();

/**
 * A build's rows, kept in the cache by its manifest: a build restored after a reload shows
 * them as they were (layer names, licences and the source that brought each come from the
 * build, which an image read back from out/ no longer says). Untrusted: checked on the way in.
 */
const keptRows = z.array(packageRow).max(100_000);
/** Rows of this process's last builds, by rowsKey, while they are made and after. */
const making = new Map<string, Promise<Reply['packages']>>();
const MAKING_KEPT = 8;

/** By project and manifest (a build's digest is bare hex, a record's has its sha256: prefix): two projects may build one image, each from its own sources. */
const rowsKey = (projectDir: string, manifest: string) => `packages-${createHash('sha256').update(`${path.resolve(projectDir)}\0${manifest.replace(/^sha256:/, '')}`).digest('hex')}`;

export async function packagesReply(
  projectDir: string,
  cacheDir: string,
  shown: { build?: BuildResult; restored?: { record: BuildRecord; img: OpenedImage; store: BlobStore }; image?: { img: OpenedImage; store: BlobStore } },
): Promise<Reply> {
  if (shown.image) {
    // An opened image has no project, so no lock of its own.
    const { img, store } = shown.image;
    return { of: 'image', packages: await imageRows(img, store), lock: { state: 'none', drift: [] } };
  }
  const lockExists = existsSync(path.join(projectDir, LOCK_FILE));
  const { build, restored } = shown;
  if (build) return { of: 'build', packages: await buildRows(build, cacheDir), lock: lockState(build.lock, lockExists) };
  // The last build as the history and out/ keep it: its rows as that build made them, else read from its OCI layout; its lock state as recorded.
  if (restored) {
    const { manifestDigest } = restored.record;
    const key = manifestDigest && rowsKey(projectDir, manifestDigest);
    // Rows this process is still making (a reload right after a build) before the ones on disk.
    const kept = key ? ((await making.get(key)?.catch(() => undefined)) ?? (await new BuildCache(cacheDir).get(key, keptRows).catch(() => undefined))) : undefined;
    return { of: 'build', packages: kept ?? (await imageRows(restored.img, restored.store)), lock: restored.record.lock ?? lockState(undefined, lockExists) };
  }
  return { of: 'none', packages: [], lock: lockState(undefined, lockExists) };
}

/** A build's rows, made once and kept for its restoring (see keptRows); keeping them never fails the view. */
export function buildRows(build: BuildResult, cacheDir: string): Promise<Reply['packages']> {
  return once(build, () => {
    const key = rowsKey(build.projectDir, build.manifestDigest);
    const rows = (async () => {
      const made = packageRows(await collectSbom(builtSbomInput(build)));
      await new BuildCache(cacheDir).put(key, made).catch(() => undefined);
      return made;
    })();
    making.delete(key);
    making.set(key, rows);
    // The last few builds' are enough: a restored build is the newest of its project.
    for (const old of making.keys()) if (making.size > MAKING_KEPT) making.delete(old);
    return rows;
  });
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
