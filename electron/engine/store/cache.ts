// The build cache: node key -> the node's result, as JSON. An entry is written
// only after everything it refers to (blobs) is in place, atomically, so a
// build killed at any moment leaves either no entry or a whole one. Entries
// are read as untrusted: bounded, parsed, checked against the node's schema
// (or at least every digest in them against sha256's grammar); a bad one is
// a miss, and is removed.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { sweepStaleTemps, writeFileAtomic, writeJsonRowsAtomic } from './atomic';
import { HEX64, readJsonCapped } from './integrity';
import { latchingFaults } from './faults';

/** A Debian-sized tree is a few MB of JSON. */
export const NODE_CAP = 64 << 20;
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const DIGEST_FIELDS = new Set(['digest', 'diffId']);

/** A second tier behind the local cache (a registry shared by many machines): asked on a miss. */
export interface RemoteTier {
  /** Bring node `key` (and every blob and pack it names) into the local cache; false when the tier has none. */
  fetch(key: string): Promise<boolean>;
}

export class BuildCache {
  readonly dir: string;
  /** Asked once per key on a local miss (build --cache-from). */
  remote?: RemoteTier;
  private asked = new Set<string>();
  /** Keys this build read or wrote: its roots, which `cache gc` keeps. */
  readonly used = new Set<string>();
  /** Entries found bad and removed, with why. */
  readonly dropped: { key: string; why: string }[] = [];
  /** The first storage fault of a write, before a caller wraps it. */
  fault?: NodeJS.ErrnoException;

  constructor(cacheDir: string) {
    this.dir = path.join(cacheDir, 'nodes');
  }

  async open(): Promise<void> {
    await this.writing(() => fs.mkdir(this.dir, { recursive: true }));
    await sweepStaleTemps(this.dir);
  }

  private file(key: string): string {
    if (!KEY.test(key)) throw new Error(`not a cache key: ${JSON.stringify(key)}`);
    return path.join(this.dir, `${key}.json`);
  }

  /** A node's cached result; undefined when there is none or it is not valid (then it is removed). */
  async get<T>(key: string, schema?: z.ZodType<T>): Promise<T | undefined> {
    let doc = await readJsonCapped(this.file(key), NODE_CAP).catch(() => undefined);
    if (!doc && this.remote && !this.asked.has(key)) {
      this.asked.add(key);
      if (await this.remote.fetch(key)) doc = await readJsonCapped(this.file(key), NODE_CAP).catch(() => undefined);
    }
    if (!doc) return undefined;
    let why = 'bad' in doc ? doc.bad : undefined;
    let value: unknown;
    if ('value' in doc) {
      if (schema) {
        const r = schema.safeParse(doc.value);
        if (r.success) value = r.data;
        else why = `does not have the shape of its node (${r.error.issues[0]?.path.join('.') || 'top'}: ${r.error.issues[0]?.message})`;
      } else {
        why = badDigests(doc.value);
        value = doc.value;
      }
    }
    if (why) {
      this.dropped.push({ key, why });
      await fs.rm(this.file(key), { force: true }).catch(() => {});
      return undefined;
    }
    this.used.add(key);
    return value as T;
  }

  /** A node's stored text, as written (for sharing it); undefined when absent. */
  async text(key: string): Promise<string | undefined> {
    return fs.readFile(this.file(key), 'utf8').catch(() => undefined);
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.writing(() => writeFileAtomic(this.file(key), JSON.stringify(value)));
    this.used.add(key);
  }

  /** A node whose result is a long array, written a batch of rows at a time (same text as put). */
  async putRows(key: string, rows: Iterable<unknown>): Promise<void> {
    await this.writing(() => writeJsonRowsAtomic(this.file(key), rows));
    this.used.add(key);
  }

  /** Remove every entry that names one of `names` (a bad blob's digest, a dropped pack): they are rebuilt. */
  async dropReferencing(names: string[]): Promise<string[]> {
    const gone: string[] = [];
    for (const f of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      const file = path.join(this.dir, f);
      const text = await fs.readFile(file, 'utf8').catch(() => '');
      if (names.some((n) => text.includes(n) || f.includes(n))) {
        await fs.rm(file, { force: true });
        gone.push(f.slice(0, -'.json'.length));
      }
    }
    return gone;
  }

  private writing<T>(fn: () => Promise<T>): Promise<T> {
    return latchingFaults(this, fn);
  }
}

/**
 * The check for nodes without a schema of their own: every `digest` and
 * `diffId` anywhere in it is a sha256 (they become blob file names).
 */
export function badDigests(v: unknown, depth = 0): string | undefined {
  if (depth > 64) return 'nests too deep';
  if (Array.isArray(v)) {
    for (const x of v) {
      const why = badDigests(x, depth + 1);
      if (why) return why;
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (DIGEST_FIELDS.has(k) && (typeof x !== 'string' || !HEX64.test(x))) return `has a ${k} that is not a sha256: ${JSON.stringify(x).slice(0, 80)}`;
      const why = typeof x === 'object' ? badDigests(x, depth + 1) : undefined;
      if (why) return why;
    }
  }
  return undefined;
}

/** The user's cache folder: $XDG_CACHE_HOME/scratchyard or ~/.cache/scratchyard. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || '/tmp', '.cache');
  return path.join(base, 'scratchyard');
}
