// Reading an existing image — an OCI layout folder or a docker-archive tar
// (ours or `docker save`'s) — into its layers' own trees and the states they make.
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import type { Sha256 } from '../../../shared/brand';
import { applyLayer } from '../model/apply';
import { ROOT } from '../model/path';
import { emptyTree, type Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import { importTar } from './tarball';

export interface ReadLayer {
  /** Digest of the blob as stored in the image (compressed or not). */
  digest: Sha256;
  /** The layer's own entries, whiteouts included as files named .wh.*. */
  tree: Tree;
}

export interface ReadImage {
  layers: ReadLayer[];
  /** State after each layer, bottom first. */
  states: Tree[];
  config: unknown;
}

/** Is `target` an image (rather than a project folder)? */
export async function isImagePath(target: string): Promise<boolean> {
  const st = await fs.stat(target).catch(() => undefined);
  if (!st) return false;
  if (st.isFile()) return !target.endsWith('.yaml') && !target.endsWith('.yml');
  return fs
    .access(path.join(target, 'oci-layout'))
    .then(() => true)
    .catch(() => false);
}

export async function readImage(store: BlobStore, target: string): Promise<ReadImage> {
  const st = await fs.stat(target);
  const open = st.isDirectory() ? ociFolder(target) : await archiveMembers(store, target);
  let layerFiles: { digest: Sha256; open: () => Readable }[];
  let config: unknown;
  const dockerManifest = await open.json('manifest.json').catch(() => undefined);
  if (Array.isArray(dockerManifest)) {
    const m = dockerManifest[0] as { Config: string; Layers: string[] };
    config = await open.json(m.Config);
    layerFiles = m.Layers.map((name) => ({ digest: (/([0-9a-f]{64})/.exec(name)?.[1] ?? '') as Sha256, open: () => open.stream(name) }));
  } else {
    const index = (await open.json('index.json')) as { manifests: { digest: string }[] };
    const manifest = (await open.json(blobName(index.manifests[0].digest))) as { config: { digest: string }; layers: { digest: string }[] };
    config = await open.json(blobName(manifest.config.digest));
    layerFiles = manifest.layers.map((l) => ({ digest: l.digest.slice(7) as Sha256, open: () => open.stream(blobName(l.digest)) }));
  }
  const layers: ReadLayer[] = [];
  const states: Tree[] = [];
  let state = emptyTree();
  for (const lf of layerFiles) {
    const tree = await importTar({ add: (chunks) => store.putStream(chunks) }, await maybeGunzip(lf.open()), ROOT);
    layers.push({ digest: lf.digest, tree });
    state = applyLayer(state, tree);
    states.push(state);
  }
  return { layers, states, config };
}

function blobName(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

interface Members {
  json(name: string): Promise<unknown>;
  stream(name: string): Readable;
}

function ociFolder(dir: string): Members {
  return {
    json: async (name) => JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')),
    stream: (name) => createReadStream(path.join(dir, name)),
  };
}

/** Every file of an archive into the blob store, by name: archives put manifest.json anywhere. */
async function archiveMembers(store: BlobStore, file: string): Promise<Members> {
  const names = new Map<string, Sha256>();
  const ex = extract();
  createReadStream(file).pipe(ex);
  for await (const entry of ex) {
    if (entry.header.type === 'file') names.set(path.posix.normalize(entry.header.name), (await store.putStream(entry as unknown as Readable)).digest);
    else entry.resume();
  }
  const find = (name: string) => {
    const d = names.get(path.posix.normalize(name));
    if (!d) throw new Error(`${file}: no ${name} in the archive`);
    return d;
  };
  return {
    json: async (name) => JSON.parse((await store.read(find(name))).toString('utf8')),
    stream: (name) => store.readStream(find(name)),
  };
}

async function maybeGunzip(s: Readable): Promise<Readable> {
  const it = s[Symbol.asyncIterator]();
  const first = await it.next();
  const head: Buffer | undefined = first.done ? undefined : first.value;
  async function* rest() {
    if (head) yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
  }
  const joined = Readable.from(rest());
  return head && head[0] === 0x1f && head[1] === 0x8b ? joined.pipe(createGunzip()) : joined;
}
