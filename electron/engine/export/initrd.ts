// The initrd: the image's tree as a newc cpio archive (gzip by default), with
// the recipe's owners and modes written straight from the tree and the blob
// store (no root, no extraction), plus the VM wrapper, the host's static
// busybox that runs it, and the run's spec under /.scratchyard. Cached in the
// blob store by everything that goes into it.
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { z } from 'zod';
import { asSha256, type ImagePath, type Sha256 } from '../../../shared/brand';
import type { Recipe } from '../../../shared/recipe';
import { digestOf } from '../model/digest';
import { imagePath, isUnder } from '../model/path';
import { contentBytes, dirEntry, type Tree } from '../model/tree';
import { DEFAULT_PATH } from '../model/runspec';
import { RecipeError } from '../sources/types';
import type { BlobStore } from '../store/blobs';
import type { BuildCache } from '../store/cache';
import { tempPathFor } from '../store/atomic';
import { HEX64 } from '../store/integrity';
import { TOOLS, ToolMissingError, findTool } from '../tools/registry';
import { needsSwitch, setprivFiles, switchLauncher } from '../tools/sandbox';
import { cpioItemsOfTree, cpioStream, type CpioItem } from './cpio';
import { BUSYBOX_PATH, HIDDEN_DIR, SPEC_PATH, VM_WRAPPER, WRAPPER_PATH, wrapperSpecText, type WrapperSpec } from './vmwrapper';

const INITRD_VERSION = 2;
const SMALL = 1 << 20;

export interface InitrdBlob {
  digest: Sha256;
  size: number;
  /** Bytes of content once unpacked (for sizing the guest's memory). */
  unpacked: number;
}

const initrdSchema = z.object({ digest: z.string().regex(HEX64).transform(asSha256), size: z.number().int().nonnegative(), unpacked: z.number().int().nonnegative() });

/** A recipe problem (exit 2, shown as scratchyard.yaml: ...). */
export class InitrdConflictError extends RecipeError {}

/** What the initrd's wrapper runs when the build writes one: the image's entrypoint + cmd, or a shell when it has neither. */
export function defaultWrapperSpec(recipe: Recipe): WrapperSpec {
  const c = recipe.config;
  const argv = [...(c.entrypoint ?? []), ...(c.cmd ?? [])];
  const env = { PATH: DEFAULT_PATH, HOME: '/root', ...c.env };
  if (argv.length === 0) return { mode: 'console', argv: [BUSYBOX_PATH, 'sh'], env, workdir: c.workdir ?? '/' };
  return { mode: 'run', argv, env, workdir: c.workdir ?? '/' };
}

/** The initrd of `tree` running `spec`, from the cache or written now. */
export async function initrdBlob(store: BlobStore, cache: BuildCache, tree: Tree, treeDigest: string, spec: WrapperSpec, epoch: number, gzip: boolean): Promise<InitrdBlob> {
  for (const p of tree.keys()) {
    if (p === HIDDEN_DIR || isUnder(p, HIDDEN_DIR)) throw new InitrdConflictError('layers', `the image has ${p}, but ${HIDDEN_DIR} is where the initrd keeps its VM wrapper`);
  }
  const busybox = findTool('busybox');
  if (!busybox) throw new ToolMissingError(TOOLS.busybox);
  const bb = await store.putHostFile(busybox);
  // A non-root user: the guest switches with the host's setpriv, carried with its libraries.
  const switchFiles = needsSwitch(spec.user) ? await setprivFiles() : [];
  const switchItems: CpioItem[] = [];
  for (const f of switchFiles) {
    const b = await store.putHostFile(f.src);
    switchItems.push({ path: imagePath(`${HIDDEN_DIR}/${f.name}`), entry: { type: 'file', mode: 0o755, uid: 0, gid: 0, size: b.size, digest: b.digest } });
  }
  if (switchFiles.length) spec = { ...spec, launcher: switchLauncher(switchFiles, HIDDEN_DIR) };
  const specText = wrapperSpecText(spec);
  const key = digestOf({ node: 'initrd', v: INITRD_VERSION, tree: treeDigest, busybox: bb.digest, wrapper: sha256(VM_WRAPPER), spec: specText, epoch, gzip, ...(switchItems.length ? { switch: switchItems.map((i) => i.entry.digest) } : {}) });
  const hit = await cache.get(key, initrdSchema);
  if (hit && (await store.has(hit.digest))) return hit;

  const extra: CpioItem[] = [
    { path: HIDDEN_DIR, entry: dirEntry(0o755) },
    { path: BUSYBOX_PATH, entry: { type: 'file', mode: 0o755, uid: 0, gid: 0, size: bb.size, digest: bb.digest } },
    fileItem(WRAPPER_PATH, VM_WRAPPER, 0o755),
    fileItem(SPEC_PATH, specText, 0o644),
    ...switchItems,
  ];
  const items = shareBusybox([...cpioItemsOfTree(tree), ...extra].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
  const read = (digest: Sha256, size: number) => (size <= SMALL ? [store.readSync(digest)] : store.readStream(digest));
  const archive = Readable.from(cpioStream(items, epoch, read));
  let blob: { digest: Sha256; size: number };
  if (gzip) {
    // Fixed settings: gzip's header from zlib has no name and mtime 0, so the bytes depend only on the input.
    const gz = createGzip({ level: 6 });
    const feeding = pipeline(archive, gz);
    [blob] = await Promise.all([store.putStream(gz), feeding]);
  } else blob = await store.putStream(archive);
  const result: InitrdBlob = { ...blob, unpacked: contentBytes(tree) + bb.size + switchItems.reduce((n, i) => n + i.entry.size, 0) + VM_WRAPPER.length + specText.length };
  await cache.put(key, result);
  return result;
}

/** Copy an initrd blob to `target` atomically (a plain copy: qemu and users may keep it), checked as it is read. */
export async function writeInitrdFile(store: BlobStore, digest: Sha256, target: string): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await pipeline(store.readStream(digest), createWriteStream(tmp, { mode: 0o644 }));
    await fs.chmod(tmp, 0o644);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Most images carry the very busybox the wrapper needs: make the hidden one a
 * hard link of the image's (same content, mode and owner), so the initrd holds
 * it once and a TCG guest unpacks a megabyte less.
 */
function shareBusybox(items: CpioItem[]): CpioItem[] {
  const hidden = items.find((i) => i.path === BUSYBOX_PATH)!;
  const same = items.find((i) => i !== hidden && i.entry.type === 'file' && i.entry.digest === hidden.entry.digest && i.entry.mode === 0o755 && i.entry.uid === 0 && i.entry.gid === 0 && !i.entry.xattrs);
  if (!same) return items;
  const group = same.entry.link ?? `scratchyard-busybox:${hidden.entry.digest}`;
  return items.map((i) => (i === hidden || (i === same && !same.entry.link) ? { ...i, entry: { ...i.entry, link: group } } : i));
}

function fileItem(p: ImagePath, text: string, mode: number): CpioItem {
  const data = Buffer.from(text);
  return { path: p, entry: { type: 'file', mode, uid: 0, gid: 0, size: data.length }, data };
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
