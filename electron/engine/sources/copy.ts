// Files and folders from the project folder. Modes are normalized the way git
// does (0644, or 0755 when executable) so the umask of a checkout never shows.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LOCK_FILE } from '../../../shared/lock';
import { DEFAULT_OUT_DIR, parseMode, parseOwner, type SourceOf } from '../../../shared/recipe';
import { baseName, imagePath, isUnder, joinImage } from '../model/path';
import type { Entry, Tree } from '../model/tree';
import { HostNameError, hostEntry, scanHostDir, type ScanOptions } from './hostfs';
import { RecipeError, type SourceContext, type SourceResult } from './types';

export async function copySource(s: SourceOf<'copy'>, ctx: SourceContext): Promise<SourceResult> {
  if (s.from !== undefined) return copyFromStage(s, ctx);
  const hostPath = await projectFile(ctx, s.src, `${ctx.field}.src`);
  // What builds write into the project (its outputs, its lock) is never copied from a folder holding them:
  // `src: .` would otherwise take in the last build, and no two builds would be the same.
  const root = await fs.realpath(ctx.projectDir);
  const opts: ScanOptions = {
    normalizeModes: true,
    owner: parseOwner(s.owner ?? '0:0'),
    fileMode: s.mode === undefined ? undefined : parseMode(s.mode),
    skip: new Set([path.join(root, DEFAULT_OUT_DIR), path.join(root, LOCK_FILE)]),
  };
  const put: Tree = new Map();
  const st = await fs.lstat(hostPath);
  if (st.isDirectory()) {
    // Like docker's COPY: a folder's contents go into dest.
    const dest = imagePath(s.dest);
    const inner: Tree = new Map();
    try {
      await scanHostDir(ctx.store, hostPath, dest, inner, opts);
    } catch (e) {
      // A name the image cannot hold (not UTF-8) is the folder's fault, at this field: exit 2 as a tarball's is.
      if (e instanceof HostNameError) throw new RecipeError(`${ctx.field}.src`, e.message);
      throw e;
    }
    // The destination folder itself, where it is new, has the recipe-declared default, not the host folder's mode.
    inner.set(dest, { type: 'dir', mode: 0o755, ...opts.owner!, size: 0, implied: true });
    for (const [p, e] of inner) put.set(p, e);
  } else {
    const dest = s.dest.endsWith('/') ? joinImage(s.dest, path.basename(hostPath)) : imagePath(s.dest);
    put.set(dest, await hostEntry(ctx.store, hostPath, st, opts));
  }
  return { put, remove: [] };
}

/** Resolve a project-relative path, refusing anything outside the project folder. */
export async function projectFile(ctx: SourceContext, rel: string, field: string): Promise<string> {
  if (path.isAbsolute(rel)) throw new RecipeError(field, `expected a path relative to the project folder, got "${rel}"`);
  const joined = path.resolve(ctx.projectDir, rel);
  const root = await fs.realpath(ctx.projectDir);
  const inside = (p: string, top: string) => p === top || p.startsWith(top + path.sep);
  if (!inside(joined, path.resolve(ctx.projectDir))) throw new RecipeError(field, `${rel} resolves outside the project folder (${joined})`);
  let real: string;
  try {
    real = await fs.realpath(joined);
  } catch {
    throw new RecipeError(field, `${rel}: no such file or folder in the project (${joined})`);
  }
  // A symlink inside the project may still point out of it.
  if (!inside(real, root)) throw new RecipeError(field, `${rel} resolves outside the project folder (${real})`);
  return real;
}

/** Like docker's COPY --from: paths out of a build-only stage's tree, with their recorded owners and modes. */
function copyFromStage(s: SourceOf<'copy'>, ctx: SourceContext): SourceResult {
  const stage = ctx.stages.get(s.from!);
  if (!stage) throw new RecipeError(`${ctx.field}.from`, `no stage named "${s.from}"`);
  const src = imagePath(s.src);
  const top = stage.get(src);
  if (!top) throw new RecipeError(`${ctx.field}.src`, `${src} is not in stage "${s.from}"`);
  const owner = s.owner === undefined ? undefined : parseOwner(s.owner);
  const mode = s.mode === undefined ? undefined : parseMode(s.mode);
  const adjust = (e: Entry): Entry => ({ ...e, ...(owner ?? {}), ...(mode !== undefined && e.type === 'file' ? { mode } : {}) });
  const put: Tree = new Map();
  if (top.type === 'dir') {
    const dest = imagePath(s.dest);
    // Like COPY --from: the stage folder's attributes where the destination is new; one already there is kept.
    put.set(dest, { ...adjust(top), implied: true });
    for (const [p, e] of stage) if (isUnder(p, src)) put.set(joinImage(dest, p.slice(src.length + 1)), adjust(e));
  } else {
    put.set(s.dest.endsWith('/') ? joinImage(s.dest, baseName(src)) : imagePath(s.dest), adjust(top));
  }
  return { put, remove: [] };
}
