// The tarball source: a rootfs tarball (.tar, .tar.gz, .tar.xz, .tar.zst) read
// by oci/tar-import.ts (over oci/tar.ts, the one tar reader) into a tree, cached by the file's identity.
// The tar itself, decompressed once, becomes the pack: its contents are indexed where they lie in it
// (store/inplace-pack.ts), not copied, and the same pass reads, checks and hashes them.
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { SourceOf } from '../../../shared/recipe';
import { digestOf } from '../model/digest';
import { imagePath } from '../model/path';
import { treeFromJson, treeRows, type Entry, type Tree } from '../model/tree';
import { TarError, compressionOf, decompressed, importTar } from '../oci/tar-import';
import { ToolMissingError } from '../tools/registry';
import { projectFile } from './copy';
import { RecipeError, type SourceContext, type SourceResult } from './types';

export async function tarballSource(s: SourceOf<'tarball'>, ctx: SourceContext): Promise<SourceResult> {
  const field = `${ctx.field}.src`;
  const hostPath = await projectFile(ctx, s.src, field);
  // One opening, checked once, and every read after it through this handle: a FIFO or device
  // swapped in for the file after the check is never read. O_NONBLOCK: opening a FIFO would wait
  // for a writer forever (on a regular file the flag changes nothing); O_NOFOLLOW: projectFile
  // resolved every link, so a link found here was put there since.
  const fh = await fs.open(hostPath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW).catch((e: NodeJS.ErrnoException) => {
    // ENXIO: a socket; ELOOP: a symlink.
    if (e.code === 'ENXIO' || e.code === 'ELOOP') throw new RecipeError(field, `${s.src} is not a regular file`);
    throw new RecipeError(field, `${s.src}: cannot be read (${e.code ?? e.message})`);
  });
  try {
    // O_NOFOLLOW covers the last name only: a folder above it swapped for a link since projectFile
    // looked would open a file elsewhere. The kernel names the file this handle holds (by the
    // path it was opened at, marked deleted if that name was replaced since: still the file checked;
    // without /proc there is nothing to ask, and the check is skipped).
    const opened = await fs.readlink(`/proc/self/fd/${fh.fd}`).catch(() => hostPath);
    if (opened !== hostPath && opened !== `${hostPath} (deleted)`) throw new RecipeError(field, `${s.src} changed while it was opened: the file opened is ${opened}`);
    return await importOpened(s, ctx, field, hostPath, fh);
  } finally {
    await fh.close();
  }
}

async function importOpened(s: SourceOf<'tarball'>, ctx: SourceContext, field: string, hostPath: string, fh: FileHandle): Promise<SourceResult> {
  const st = await fh.stat();
  // A device would never end.
  if (!st.isFile()) throw new RecipeError(field, `${s.src} is not a regular file`);
  const key = digestOf({ kind: 'tarball-import', v: 2, dest: s.dest, file: hostPath, stat: [st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs] });
  // The lock names the file by its digest: the stat cache's, once an import (or an earlier build) took it.
  const lock = async () => ({ field: ctx.field, kind: 'tarball' as const, src: s.src, sha256: await ctx.store.hashHostFile(hostPath, fh) });
  const cached = await ctx.cache.get<[string, Entry][]>(key);
  if (cached && (await ctx.store.loadPack(key))) return { put: treeFromJson(cached), remove: [], lock: await lock() };
  const pack = await ctx.store.beginPackInPlace(key);
  let put: Tree;
  try {
    const compression = await compressionOf(fh);
    const bytes = compression ? pack.tee(decompressed(fh, compression)) : pack.teeFile(fh);
    // A plain tar is read whole (its digest, for the lock, is taken in this pass); a decompressed one
    // only to its end-of-archive blocks, the pack cut there (the lock hashes the compressed file).
    put = await importTar(pack, bytes, imagePath(s.dest), compression ? { stopAt: (offset) => pack.endAt(offset) } : {});
    await pack.finish();
    // A plain tar's digest was taken in this same pass.
    if (pack.file) ctx.store.noteHostFile(hostPath, st, pack.file.digest, pack.file.size);
  } catch (e) {
    await pack.abort();
    if (e instanceof ToolMissingError) throw e;
    if (e instanceof TarError) throw new RecipeError(field, `${s.src}: ${e.message}`);
    throw new RecipeError(field, `${s.src}: not a readable tar archive (${(e as Error).message})`);
  }
  await ctx.cache.putRows(key, treeRows(put));
  return { put, remove: [], lock: await lock() };
}
