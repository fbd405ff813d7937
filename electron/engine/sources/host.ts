// Host files copied to the same path in the image, optionally with their libraries.
import type { SourceOf } from '../../../shared/recipe';
import { imagePath } from '../model/path';
import type { Tree } from '../model/tree';
import { libraryClosure } from './elf/closure';
import { addHostPath } from './hostfs';
import { RecipeError, type SourceContext, type SourceResult } from './types';

export async function hostSource(s: SourceOf<'host'>, ctx: SourceContext): Promise<SourceResult> {
  const put: Tree = new Map();
  for (const [i, raw] of s.paths.entries()) {
    if (!raw.startsWith('/')) throw new RecipeError(`${ctx.field}.paths[${i}]`, `expected an absolute host path, got "${raw}"`);
    try {
      await addHostPath(ctx.store, put, imagePath(raw));
    } catch (e) {
      throw new RecipeError(`${ctx.field}.paths[${i}]`, (e as Error).message);
    }
  }
  if (s.libs) await addClosure(ctx, put, put);
  return { put, remove: [] };
}

/**
 * Add to `out` the host libraries that the ELF files of `files` need and the
 * image does not already have at the loader's path.
 */
export async function addClosure(ctx: SourceContext, files: Tree, out: Tree): Promise<void> {
  const objects: { path: string; bytes: Uint8Array }[] = [];
  for (const [p, e] of files) {
    if (e.type !== 'file' || e.size < 64) continue;
    const bytes = await ctx.store.read(e.digest!);
    if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) objects.push({ path: p, bytes });
  }
  if (objects.length === 0) return;
  const { libs, missing } = await libraryClosure(objects);
  if (missing.length) {
    const m = missing.map((x) => `${x.needed} (needed by ${x.from})`).join(', ');
    throw new RecipeError(ctx.field, `shared libraries not found on this machine: ${m}`);
  }
  for (const lib of libs) {
    const p = imagePath(lib);
    if (!ctx.state.has(p) && !files.has(p)) await addHostPath(ctx.store, out, p);
  }
}
