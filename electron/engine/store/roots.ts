// What each project's last build used: its node keys, blobs and packs, with
// the time, at roots/<digest of the project path>.json. `cache gc` keeps what
// the roots name (and what the kept nodes name), and drops the oldest roots
// first when asked to fit a size. A build also leaves a marker under
// building/ while it runs, so gc never sweeps blobs a build has written but
// not yet recorded.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { digestOf } from '../model/digest';
import { alive, writeFileAtomic } from './atomic';
import { randomBytes } from 'node:crypto';
import { HEX64, readJsonCapped } from './integrity';
import { NODE_CAP } from './cache';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/);
export const rootsSchema = z.strictObject({
  project: z.string().max(4096),
  /** When the build ended, ms since the epoch. */
  time: z.number().int().nonnegative(),
  nodes: z.array(name),
  blobs: z.array(z.string().regex(HEX64)),
  packs: z.array(name),
});
export type Roots = z.infer<typeof rootsSchema>;

export function rootsDir(cacheDir: string): string {
  return path.join(cacheDir, 'roots');
}

export async function recordRoots(cacheDir: string, roots: Roots): Promise<void> {
  await fs.mkdir(rootsDir(cacheDir), { recursive: true });
  await writeFileAtomic(path.join(rootsDir(cacheDir), `${digestOf({ project: roots.project })}.json`), JSON.stringify(roots));
}

export interface RootsFile extends Roots {
  file: string;
}

/** Every valid roots file; bad ones are removed (they protect nothing). */
export async function readAllRoots(cacheDir: string): Promise<RootsFile[]> {
  const dir = rootsDir(cacheDir);
  const out: RootsFile[] = [];
  for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!f.endsWith('.json')) continue;
    const file = path.join(dir, f);
    const doc = await readJsonCapped(file, NODE_CAP);
    const r = doc && 'value' in doc ? rootsSchema.safeParse(doc.value) : undefined;
    if (r?.success) out.push({ ...r.data, file });
    else await fs.rm(file, { force: true });
  }
  return out;
}

function buildingDir(cacheDir: string): string {
  return path.join(cacheDir, 'building');
}

/** Mark a build as running on this cache; the returned function ends the mark. */
export async function markBuilding(cacheDir: string): Promise<() => Promise<void>> {
  // One process (the app's server) may run several builds: one mark each.
  const file = path.join(buildingDir(cacheDir), `${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(buildingDir(cacheDir), { recursive: true });
  await fs.writeFile(file, '');
  return () => fs.rm(file, { force: true });
}

/** Process ids of builds running on this cache now, this process's included (marks of dead ones are removed). */
export async function runningBuilds(cacheDir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const f of await fs.readdir(buildingDir(cacheDir)).catch(() => [] as string[])) {
    const pid = Number(f.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) pids.push(pid);
    else await fs.rm(path.join(buildingDir(cacheDir), f), { force: true });
  }
  return pids;
}
