// V8's heap policy for this process: speed, until it reads a large tree.
//
// By default V8 lets its heap grow to several times what is live, with a young generation of
// up to 32 MB. Over a large tree (a 2.8 GB tarball is 140k entries, an image to inspect may be
// a million) that is as much memory again as the tree itself. --optimize-for-size keeps the heap
// near its live data (a 2.8 GB import peaks at ~150 MB of RSS; inspect of a million entries at
// ~230 MB instead of ~270 MB), but it shrinks the heap at every full GC and grows it in small
// steps: on a Debian-sized build with its SBOM that cost ~0.6 s of 2.6 s. So the flag is set
// once a tar being read passes LARGE_TREE entries, as early as the tar readers see it
// (docs/benchmarks.md). It stays set for the rest of the process.

/** Entries of one tar past which it is a large tree (a Debian minbase is ~9k). */
export const LARGE_TREE = 32_768;

let sized = false;

/** A tar reader has read `n` entries of one tar so far. */
export function noteTarEntries(n: number): void {
  if (n === LARGE_TREE) favourSize();
}

function favourSize(): void {
  if (sized) return;
  sized = true;
  // getBuiltinModule, not an import: loading node:v8 costs every command ~3 ms of its start, and
  // the engine runs in bundles that do not all give createRequire an import.meta.url. A heap hint
  // never fails the read that gave it.
  try {
    process.getBuiltinModule('node:v8').setFlagsFromString('--optimize-for-size');
  } catch {
    sized = false;
  }
}

/** Whether V8 was told to favour size: a code cache made after that is refused by a fresh process (its flags differ). */
export function heapSized(): boolean {
  return sized;
}
