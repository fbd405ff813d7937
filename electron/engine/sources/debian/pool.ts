// The .deb pool moves between the blob store and a bootstrap's work folder by
// hard link where both are on one file system (a .deb is 50 MB of minbase:
// no copy), by copy across devices. Linking is safe both ways: nothing
// writes a .deb in place (apt and mmdebstrap's sync-out, a tar extraction,
// replace files by unlinking them first), and a blob file is read-only.
import { promises as fs } from 'node:fs';
import { asSha256, type Sha256 } from '../../../../shared/brand';
import type { BlobStore } from '../../store/blobs';
import { hashOpenFile } from '../../store/integrity';

/** Errors of link(2) that mean "copy instead": another device, or a file system without hard links. */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** One read buffer for every .deb hashed: a stream's fresh 1 MiB chunks per file cost more in GC than the hashing. */
const chunk = Buffer.allocUnsafe(1 << 20);

let hashing: Promise<unknown> = Promise.resolve();

/** Files are hashed one at a time (they share the buffer). */
function hashFile(file: string): Promise<Sha256> {
  const next = hashing.then(() => hashInto(file));
  hashing = next.catch(() => undefined);
  return next;
}

async function hashInto(file: string): Promise<Sha256> {
  const fh = await fs.open(file, 'r');
  try {
    return asSha256((await hashOpenFile(fh, chunk)).hex);
  } finally {
    await fh.close();
  }
}

/**
 * Put a .deb of the work folder into the store: hashed once, then linked as
 * its blob (read-only, like every blob), or copied when it cannot be.
 */
export async function adoptDeb(store: BlobStore, file: string): Promise<Sha256> {
  const digest = await hashFile(file);
  if (await store.has(digest)) return digest;
  try {
    await fs.chmod(file, 0o444);
    await fs.link(file, store.pathOf(digest));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code !== 'EEXIST') {
      if (!NO_LINK.has(code)) throw e;
      return (await store.putHostFile(file)).digest;
    }
  }
  // Counts it among the build's blobs (cache gc's roots).
  await store.has(digest);
  return digest;
}

/**
 * Place a pooled .deb at `dest`: a hard link to its blob, or a checked copy.
 * `verify`: hash a linked blob first (once per process); a caller that hashes
 * the placed files itself (dpkg-scanpackages' index, compared with the lock) passes false.
 */
export async function placeDeb(store: BlobStore, digest: Sha256, dest: string, verify: boolean): Promise<void> {
  try {
    if (verify) await store.verifyFile(digest);
    await fs.link(store.pathOf(digest), dest);
    await store.has(digest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    // ENOENT: not a blob file (held in a pack): copyTo reads it wherever it is.
    if (!NO_LINK.has(code) && code !== 'ENOENT') throw e;
    await store.copyTo(digest, dest, 0o644);
  }
}
