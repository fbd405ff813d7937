// The exporters: docker-archive (a tar that `docker load` reads, laid out as an
// OCI layout plus docker's manifest.json, as docker 25+ saves), OCI image
// layout folder, and the flattened rootfs tar. Each is written to a temporary
// name next to its destination and renamed when complete.
import { createWriteStream, constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack, type Header } from 'tar-stream';
import type { Sha256 } from '../../../shared/brand';
import type { BlobStore } from '../store/blobs';
import { replaceWith, tempPathFor } from '../store/atomic';
import type { Blob, BuiltLayer, ImageMeta } from '../oci/image';

type H = Partial<Header> & { name: string };

const OCI_LAYOUT = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));

export async function writeDockerArchive(file: string, store: BlobStore, meta: ImageMeta, layers: BuiltLayer[], epoch: number): Promise<void> {
  const mtime = new Date(epoch * 1000);
  const blobs = uniqueSorted([meta.config.digest, meta.manifest.digest, ...layers.map((l) => l.digest)]);
  const inline = new Map<string, Buffer>([
    [meta.config.digest, meta.config.bytes],
    [meta.manifest.digest, meta.manifest.bytes],
  ]);
  const tmp = tempPathFor(file);
  const p = pack();
  const done = pipeline(p, createWriteStream(tmp, { mode: 0o644, highWaterMark: 1 << 20 }));
  // A write error (a full disk) ends `done` while an entry is being added: that entry's
  // promise never settles, so the first of the two to fail decides.
  const failedWrite = done.then(
    () => new Promise<never>(() => {}),
    (e: unknown) => Promise.reject(e),
  );
  const step = <T>(x: Promise<T>) => Promise.race([x, failedWrite]);
  const entry = (h: H, body?: Buffer) =>
    new Promise<void>((res, rej) => p.entry({ uid: 0, gid: 0, uname: '', gname: '', mtime, ...h } as Header, body ?? Buffer.alloc(0), (e) => (e ? rej(e) : res())));
  try {
    await step(entry({ name: 'blobs', type: 'directory', mode: 0o755 }));
    await step(entry({ name: 'blobs/sha256', type: 'directory', mode: 0o755 }));
    for (const d of blobs) {
      const name = `blobs/sha256/${d}`;
      const body = inline.get(d);
      if (body) await step(entry({ name, type: 'file', mode: 0o644 }, body));
      else {
        // The layer's size as built; the stream checks the bytes against the digest as they go.
        const size = layers.find((l) => l.digest === d)!.size;
        await step(
          new Promise<void>((res, rej) => {
            const sink = p.entry({ name, type: 'file', mode: 0o644, size, uid: 0, gid: 0, uname: '', gname: '', mtime } as Header, (e) => (e ? rej(e) : res()));
            pipeline(store.readStream(d, size), sink).catch(rej);
          }),
        );
      }
    }
    await step(entry({ name: 'index.json', type: 'file', mode: 0o644 }, meta.index.bytes));
    await step(entry({ name: 'manifest.json', type: 'file', mode: 0o644 }, meta.dockerManifest));
    await step(entry({ name: 'oci-layout', type: 'file', mode: 0o644 }, OCI_LAYOUT));
    p.finalize();
    await done;
    await fs.rename(tmp, file);
  } catch (e) {
    p.destroy();
    await done.catch(() => {});
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** `extras`: more blobs (an SBOM artifact) and the index.json that lists them. */
export async function writeOciLayout(dir: string, store: BlobStore, meta: ImageMeta, layers: BuiltLayer[], extras?: { blobs: Blob[]; index: Blob }): Promise<void> {
  const tmp = tempPathFor(dir);
  try {
    const blobDir = path.join(tmp, 'blobs', 'sha256');
    await fs.mkdir(blobDir, { recursive: true, mode: 0o755 });
    await fs.writeFile(path.join(blobDir, meta.config.digest), meta.config.bytes, { mode: 0o644 });
    await fs.writeFile(path.join(blobDir, meta.manifest.digest), meta.manifest.bytes, { mode: 0o644 });
    for (const d of uniqueSorted(layers.map((l) => l.digest))) await copyBlob(store, d, path.join(blobDir, d));
    for (const b of extras?.blobs ?? []) await fs.writeFile(path.join(blobDir, b.digest), b.bytes, { mode: 0o644 });
    await fs.writeFile(path.join(tmp, 'index.json'), (extras?.index ?? meta.index).bytes, { mode: 0o644 });
    await fs.writeFile(path.join(tmp, 'oci-layout'), OCI_LAYOUT, { mode: 0o644 });
    await replaceWith(tmp, dir);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Put a blob at `to`: a hard link to the store's read-only (0444) file when
 * both are on one filesystem, as BuildKit's local exporter does, so a
 * Debian-sized image is not written twice; a copy (a reflink where possible)
 * otherwise. Blobs are immutable, so sharing the inode is safe for readers.
 * A blob this build did not write is hashed first (once, however many
 * outputs link it): a cached blob is not trusted.
 */
export async function copyBlob(store: BlobStore, digest: Sha256, to: string): Promise<void> {
  await store.verifyFile(digest);
  try {
    await fs.link(store.pathOf(digest), to);
  } catch {
    await fs.copyFile(store.pathOf(digest), to, constants.COPYFILE_FICLONE);
    await fs.chmod(to, 0o444);
  }
}

function uniqueSorted(xs: Sha256[]): Sha256[] {
  return [...new Set(xs)].sort();
}
