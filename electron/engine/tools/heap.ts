// V8's heap policy for this process: speed, until the process has read a large tree.
//
// By default V8 lets its heap grow to several times what is live, with a young generation of
// up to 32 MB. Over a large tree (a 2.8 GB tarball is 140k entries, an image to inspect may be
// a million) that is as much memory again as the tree itself. --optimize-for-size keeps the heap
// near its live data (a 2.8 GB import peaks at ~230 MB of RSS instead of ~290 MB; inspect of a
// million entries at ~225 MB instead of ~270 MB), but it shrinks the heap at every full GC and
// grows it in small steps: on a Debian-sized build with its SBOM that cost ~0.6 s of 2.6 s. So
// the flag is set only once the process has read a large tree, as early as the tar readers see
// one (docs/benchmarks.md).
import { createRequire } from 'node:module';

/** Tar entries read in this process past which it holds a large tree (a Debian minbase is ~9k). */
export const LARGE_TREE = 32_768;

let entries = 0;
let sized = false;

/** A tar entry was read (by either tar reader). */
export function noteTarEntry(): void {
  if (++entries === LARGE_TREE) favourSize();
}

export function favourSize(): void {
  if (sized) return;
  // Required here, not imported: loading node:v8 costs every command ~3 ms of its start.
  (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString('--optimize-for-size');
  sized = true;
}

/** Whether V8 was told to favour size: a code cache made after that is refused by a fresh process (its flags differ). */
export function heapSized(): boolean {
  return sized;
}
