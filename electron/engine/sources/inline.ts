// Sources whose whole content is in the recipe: file, symlink, dir, remove.
import { parseMode, parseOwner, type SourceOf } from '../../../shared/recipe';
import { imagePath } from '../model/path';
import type { Tree } from '../model/tree';
import { RecipeError, type SourceContext, type SourceResult } from './types';

export async function fileSource(s: SourceOf<'file'>, ctx: SourceContext): Promise<SourceResult> {
  const { digest, size } = await ctx.store.putBytes(s.content);
  const put: Tree = new Map([[imagePath(s.path), { type: 'file', mode: parseMode(s.mode), ...parseOwner(s.owner), size, digest }]]);
  return { put, remove: [] };
}

export async function symlinkSource(s: SourceOf<'symlink'>): Promise<SourceResult> {
  const put: Tree = new Map([[imagePath(s.path), { type: 'symlink', mode: 0o777, ...parseOwner(s.owner), size: 0, target: s.target }]]);
  return { put, remove: [] };
}

export async function dirSource(s: SourceOf<'dir'>): Promise<SourceResult> {
  const put: Tree = new Map([[imagePath(s.path), { type: 'dir', mode: parseMode(s.mode), ...parseOwner(s.owner), size: 0 }]]);
  return { put, remove: [] };
}

export async function removeSource(s: SourceOf<'remove'>, ctx: SourceContext): Promise<SourceResult> {
  const remove = s.paths.map((p, i) => {
    const ip = imagePath(p);
    if (!ctx.state.has(ip)) throw new RecipeError(`${ctx.field}.paths[${i}]`, `${ip} is not in the image at this point, so it cannot be removed`);
    return ip;
  });
  return { put: new Map(), remove };
}
