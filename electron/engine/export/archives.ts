// The exporters: docker-archive (a tar that `docker load` reads, laid out as an
// OCI layout plus docker's manifest.json, as docker 25+ saves), OCI image
// layout folder, and the flattened rootfs tar. Each is written to a temporary
// name next to its destination and renamed when complete.
import { closeSync, constants, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Sha256 } from '../../../shared/brand';
import type { BlobStore } from '../store/blobs';
import { writevAllSync } from '../store/writev';
import { TarBuffer } from '../oci/tarwriter';
import { replaceWith, tempPathFor } from '../store/atomic';
import type { Blob, BuiltLayer, ImageMeta } from '../oci/image';

const OCI_LAYOUT = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));

export async function writeDockerArchive(file: string, store: BlobStore, meta: ImageMeta, layers: BuiltLayer[], epoch: number): Promise<void> {
  const mtime = new Date(epoch * 1000);
  const blobs = uniqueSorted([meta.config.digest, meta.manifest.digest, ...layers.map((l) => l.digest)]);
  const inline = new Map<string, Buffer>([
    [meta.config.digest, meta.config.bytes],
    [meta.manifest.digest, meta.manifest.bytes],
  ]);
  const tmp = tempPathFor(file);
  // Written as it is made: headers and small members through one reused buffer, layers copied by the store.
  const fd = openSync(tmp, 'w', 0o644);
  let pos = 0;
  let closed = false;
  const tar = new TarBuffer((b) => {
    writevAllSync(fd, [b], pos);
    pos += b.length;
  });
  const dir = (name: string) => tar.header({ name, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0 }, mtime);
  const member = (name: string, body: Buffer) => {
    tar.header({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length }, mtime);
    tar.bytes(body);
    tar.pad(body.length);
  };
  try {
    dir('blobs');
    dir('blobs/sha256');
    for (const d of blobs) {
      const name = `blobs/sha256/${d}`;
      const body = inline.get(d);
      if (body) member(name, body);
      else {
        // The layer's size as built; copied off this thread (checked against the digest unless this build wrote it).
        const size = layers.find((l) => l.digest === d)!.size;
        tar.header({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size }, mtime);
        tar.flush();
        await store.copyInto(d, fd, pos, size);
        pos += size;
        tar.pad(size);
      }
    }
    member('index.json', meta.index.bytes);
    member('manifest.json', meta.dockerManifest);
    member('oci-layout', OCI_LAYOUT);
    tar.zeros(1024);
    tar.flush();
    closed = true;
    closeSync(fd);
    await fs.rename(tmp, file);
  } catch (e) {
    if (!closed) closeSync(fd);
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
