// The shared-library closure of the ELF files that the layers above add.
import type { SourceOf } from '../../../shared/recipe';
import type { Tree } from '../model/tree';
import { addClosure } from './host';
import type { SourceContext, SourceResult } from './types';

export async function libsSource(_s: SourceOf<'libs'>, ctx: SourceContext): Promise<SourceResult> {
  const put: Tree = new Map();
  if (ctx.filesAbove) await addClosure(ctx, ctx.filesAbove, put);
  return { put, remove: [] };
}
