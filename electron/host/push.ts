// The app's Push (issue 14): the last build's OCI layout to a registry through
// the engine's skopeo adapter, progress per blob as events, the destination
// remembered per project (in the cache, never the credentials).
import path from 'node:path';
import type { EngineEvent, Request, Response } from '../../shared/contract';
import { formatImageRef, parseImageRef } from '../../shared/imageref';
import { imageReference } from '../../shared/recipe';
import type { BuildResult } from '../engine/entry/build';
import { pushImage } from '../engine/oci/transport';
import { writeFileAtomic } from '../engine/store/atomic';
import { readJsonCapped } from '../engine/store/integrity';

type PushRequest = Extract<Request, { cmd: 'image.push' }>;

const remembered = (cacheDir: string) => path.join(path.resolve(cacheDir), 'push-destinations.json');

async function destinations(cacheDir: string): Promise<Record<string, string>> {
  const doc = await readJsonCapped(remembered(cacheDir), 1 << 20).catch(() => undefined);
  const v = doc && 'value' in doc ? doc.value : undefined;
  return v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter(([, d]) => typeof d === 'string')) : {};
}

/** Where this project pushes: the last destination it pushed to, else docker:// + the recipe's tag. */
export async function pushDestination(cacheDir: string, r: BuildResult): Promise<string> {
  return (await destinations(cacheDir))[r.projectDir] ?? `docker://${imageReference(r.recipe).full}`;
}

export async function pushBuilt(r: BuildResult, cacheDir: string, req: PushRequest, emit: (e: EngineEvent) => void, signal: AbortSignal): Promise<Response<'image.push'>> {
  const layout = r.outputs.oci;
  if (!layout) throw new Error(`${r.recipe.name}: the last build wrote no OCI layout to push`);
  const text = req.dest ?? (await pushDestination(cacheDir, r));
  const dest = parseImageRef(text);
  if (typeof dest === 'string') throw new Error(dest);
  if (dest.transport !== 'docker') throw new Error(`${text}: push goes to a registry, docker://REGISTRY/NAME:TAG`);
  const pushed = await pushImage(layout, imageReference(r.recipe).tag, dest, {
    ...(req.tlsVerify !== undefined ? { tlsVerify: req.tlsVerify } : {}),
    ...(req.creds !== undefined ? { creds: req.creds } : {}),
    ...(req.authfile !== undefined ? { authfile: req.authfile } : {}),
    signal,
    onProgress: (p) => {
      if (p.kind === 'blob') emit({ event: 'push.blob', digest: `sha256:${p.digest}`, status: p.status });
    },
  });
  const where = formatImageRef(dest);
  if (pushed.manifestDigest !== r.manifestDigest) throw new Error(`${where} holds manifest sha256:${pushed.manifestDigest}, not the built sha256:${r.manifestDigest}: the registry changed the image`);
  await writeFileAtomic(remembered(cacheDir), JSON.stringify({ ...(await destinations(cacheDir)), [r.projectDir]: where }, null, 1) + '\n');
  return { destination: where, manifestDigest: `sha256:${pushed.manifestDigest}`, blobs: pushed.blobs.map((b) => ({ ...b, digest: `sha256:${b.digest}` })) };
}
