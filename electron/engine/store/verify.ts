// `cache verify`: re-hash every blob file and every content of every pack,
// check every node result, the pack indexes, the stat cache and the roots;
// remove what is bad, and the node results that name it (the next build
// recomputes them).
import { closeSync, createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { packIndex } from './blobs';
import { badDigests, BuildCache, NODE_CAP } from './cache';
import { HEX64, mismatch, openRegularSync, readJsonCapped, verifier } from './integrity';
import { inventory, removeItem, type Item } from './inventory';
import { readAllRoots } from './roots';

export interface Finding {
  /** The entry, as a path relative to the cache folder. */
  entry: string;
  why: string;
}

export interface VerifyReport {
  checked: Record<Item['kind'], number>;
  /** Contents checked inside packs. */
  packedContents: number;
  bad: Finding[];
}

const INDEX_CAP = 256 << 20;

export async function verifyCache(cacheDir: string, onProgress?: (done: number, total: number) => void): Promise<VerifyReport> {
  const items = await inventory(cacheDir);
  const checked = { blobs: 0, packs: 0, nodes: 0 };
  const bad: Finding[] = [];
  const badNames: string[] = [];
  let packedContents = 0;
  const rel = (f: string) => path.relative(cacheDir, f);
  const drop = async (it: Item, why: string) => {
    bad.push({ entry: rel(it.files[0]), why });
    badNames.push(it.name);
    await removeItem(it);
  };
  let done = 0;
  for (const it of items) {
    onProgress?.(done++, items.length);
    checked[it.kind]++;
    if (it.kind === 'blobs') {
      const why = HEX64.test(it.name) ? await checkRange(it.files[0], it.name, 0) : 'is not named by a sha256';
      if (why) await drop(it, why);
    } else if (it.kind === 'packs') {
      const doc = await readJsonCapped(it.files[1], INDEX_CAP).catch(() => ({ bad: 'cannot be read' }));
      const f = openRegularSync(it.files[0]);
      if (typeof f !== 'string') closeSync(f.fd);
      if (typeof f === 'string') await drop(it, f);
      else if (!doc) await drop(it, 'has no index');
      else {
        const index = 'value' in doc ? packIndex(doc.value, f.size) : undefined;
        if (!index) await drop(it, `has an index that ${'bad' in doc ? doc.bad : 'is not a list of [sha256, offset, size] inside the pack'}`);
        else {
          for (const [digest, offset, size] of index) {
            packedContents++;
            const why = await checkRange(it.files[0], digest, offset, size);
            if (why) {
              await drop(it, `content sha256:${digest} at byte ${offset} ${why}`);
              badNames.push(digest);
              break;
            }
          }
        }
      }
    } else {
      const doc = await readJsonCapped(it.files[0], NODE_CAP).catch(() => ({ bad: 'cannot be read' }));
      const why = !doc ? 'is missing' : 'bad' in doc ? doc.bad : badDigests(doc.value);
      if (why) await drop(it, why);
    }
  }
  // Node results that name what was removed would send the next build looking for it.
  if (badNames.length) {
    for (const key of await new BuildCache(cacheDir).dropReferencing(badNames)) bad.push({ entry: `nodes/${key}.json`, why: 'names a bad entry' });
  }
  const statCache = path.join(cacheDir, 'statcache.json');
  const sc = await readJsonCapped(statCache, INDEX_CAP).catch(() => ({ bad: 'cannot be read' }));
  if (sc && ('bad' in sc || !Array.isArray(sc.value))) {
    bad.push({ entry: 'statcache.json', why: 'bad' in sc ? sc.bad : 'is not a list' });
    await fs.rm(statCache, { force: true });
  }
  await readAllRoots(cacheDir);
  return { checked, packedContents, bad };
}

/** Why bytes [offset, offset+size) of `file` (all of it when no size) are not `digest`'s, or undefined. */
async function checkRange(file: string, digest: string, offset: number, size?: number): Promise<string | undefined> {
  const f = openRegularSync(file);
  if (typeof f === 'string') return f;
  if (size === 0) {
    closeSync(f.fd);
    return mismatch(digest, Buffer.alloc(0));
  }
  let why: string | undefined;
  const src = createReadStream('', { fd: f.fd, start: offset, ...(size !== undefined ? { end: offset + size - 1 } : {}), highWaterMark: 1 << 20 });
  const check = verifier(digest, size, (d) => {
    why = d;
    return new Error(d);
  });
  await pipeline(src, check, new Writable({ write: (_c, _e, cb) => cb() })).catch((e: Error) => {
    why ??= e.message;
  });
  return why;
}
