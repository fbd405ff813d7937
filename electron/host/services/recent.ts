// Recent projects and images, for the start screen: one small JSON file in the
// user's config folder ($XDG_CONFIG_HOME/scratchyard, else ~/.config/scratchyard).
// Read back through a schema (another process or a person may have written it).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Response } from '../../../shared/contract';
import { parseImageRef } from '../../../shared/imageref';
import { writeFileAtomic } from '../../engine/store/atomic';
import { readJsonCapped } from '../../engine/store/integrity';

const RECENT_MAX = 12;
const entry = z.strictObject({ path: z.string().min(1).max(4096), at: z.number().int().nonnegative() });
const recentFile = z.object({
  projects: z.array(entry.extend({ name: z.string().max(256) })).max(100).catch([]),
  images: z.array(entry).max(100).catch([]),
});
export type Recent = Response<'recent.list'>;

export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(env.HOME || '/tmp', '.config'), 'scratchyard');
}

const fileOf = (configDir: string) => path.join(configDir, 'recent.json');

export async function readRecent(configDir: string): Promise<Recent> {
  const doc = await readJsonCapped(fileOf(configDir), 256 << 10).catch(() => undefined);
  const ok = doc && 'value' in doc ? recentFile.safeParse(doc.value) : undefined;
  return ok?.success ? ok.data : { projects: [], images: [] };
}

/**
 * The recent list as offered to open: entries whose file or folder is gone (deleted, an
 * unmounted disk) left out. An image named by a registry or an engine is kept: only
 * opening it can tell.
 */
export async function listRecent(configDir: string): Promise<Recent> {
  const r = await readRecent(configDir);
  const there = async <T>(xs: T[], local: (x: T) => string | undefined) => {
    const keep = await Promise.all(xs.map((x) => {
      const p = local(x);
      return p === undefined ? true : fs.stat(p).then(() => true, () => false);
    }));
    return xs.filter((_, i) => keep[i]);
  };
  return { projects: await there(r.projects, (p) => p.path), images: await there(r.images, (i) => localPathOf(i.path)) };
}

function localPathOf(name: string): string | undefined {
  const ref = parseImageRef(name);
  if (typeof ref === 'string') return undefined;
  return ref.transport === 'path' || ref.transport === 'oci' || ref.transport === 'docker-archive' ? ref.path : undefined;
}

/** Put a project or an image first in its list. Failing to remember is not a failure of the open. */
export async function remember(configDir: string, what: { project: string; name: string } | { image: string }): Promise<void> {
  try {
    const r = await readRecent(configDir);
    const at = Date.now();
    if ('project' in what) r.projects = [{ path: what.project, name: what.name, at }, ...r.projects.filter((p) => p.path !== what.project)].slice(0, RECENT_MAX);
    else r.images = [{ path: what.image, at }, ...r.images.filter((p) => p.path !== what.image)].slice(0, RECENT_MAX);
    await fs.mkdir(configDir, { recursive: true });
    await writeFileAtomic(fileOf(configDir), JSON.stringify(r) + '\n');
  } catch {
    // A read-only home: the app works, it just does not remember.
  }
}
