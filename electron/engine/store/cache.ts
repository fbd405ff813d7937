// The build cache: node key -> the node's result, as JSON. An entry is written
// only after everything it refers to (blobs) is in place, atomically, so a
// build killed at any moment leaves either no entry or a whole one.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sweepStaleTemps, writeFileAtomic } from './atomic';

export class BuildCache {
  readonly dir: string;

  constructor(cacheDir: string) {
    this.dir = path.join(cacheDir, 'nodes');
  }

  async open(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await sweepStaleTemps(this.dir);
  }

  private file(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  async get<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.file(key), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  async put(key: string, value: unknown): Promise<void> {
    await writeFileAtomic(this.file(key), JSON.stringify(value));
  }
}

/** The user's cache folder: $XDG_CACHE_HOME/scratchyard or ~/.cache/scratchyard. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || '/tmp', '.cache');
  return path.join(base, 'scratchyard');
}
