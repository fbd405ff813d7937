// Host files copied to the same path in the image, optionally with their libraries.
import type { SourceOf } from '../../../shared/recipe';
import { imagePath } from '../model/path';
import type { Tree } from '../model/tree';
import { addLibraries } from './elf/image-libs';
import type { FollowedLink } from './host-warnings';
import { addHostCapabilities } from './host-caps';
import { addHostPath } from './hostfs';
import { addHostPathAsTraced, addTraced, TraceError } from './trace';
import { RecipeError, type SourceContext, type SourceResult } from './types';

export async function hostSource(s: SourceOf<'host'>, ctx: SourceContext): Promise<SourceResult> {
  const put: Tree = new Map();
  const followed: FollowedLink[] = [];
  for (const [i, raw] of s.paths.entries()) {
    if (!raw.startsWith('/')) throw new RecipeError(`${ctx.field}.paths[${i}]`, `expected an absolute host path, got "${raw}"`);
    try {
      if (s.trace) await addHostPathAsTraced(ctx, imagePath(raw), put);
      else await addHostPath(ctx.store, put, imagePath(raw), followed);
    } catch (e) {
      throw new RecipeError(`${ctx.field}.paths[${i}]`, (e as Error).message);
    }
  }
  // Traced files (trace.ts); a traced program's ELF interpreter is opened by the kernel, unseen: the closure brings it.
  if (s.trace) {
    try {
      await addTraced(s.trace, ctx, put);
    } catch (e) {
      if (e instanceof TraceError) throw new RecipeError(`${ctx.field}.trace`, e.message);
      throw e;
    }
  }
  // The files named and traced (not the libraries a closure brings, some from stages) keep this machine's file capabilities.
  await addHostCapabilities(ctx.store, put, ctx.log);
  if (s.libs || s.trace) await addClosure(ctx, put, put);
  return { put, remove: [], brought: { field: ctx.field, listed: s.paths.map((p) => imagePath(p)), put, followed } };
}

/**
 * Add to `out` the libraries (and interpreters) that the ELF files of `files`
 * need and the image does not already have where the loader looks.
 */
export async function addClosure(ctx: SourceContext, files: Tree, out: Tree): Promise<void> {
  await addLibraries({ store: ctx.store, field: ctx.field, image: [ctx.state, ctx.libsInputs?.upper ?? new Map()], stages: ctx.stages, files, origins: ctx.libsInputs?.origins, out, log: ctx.log });
}
