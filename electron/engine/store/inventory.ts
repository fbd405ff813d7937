// What the cache folder holds, by kind: blob files, packs (with their
// indexes), node results; and the blobs of the shared OCI layout fetched
// images go into (images/). Read by `cache du`, `cache gc` and `cache verify`.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HEX64 } from './integrity';
import { imageLayoutDir } from './image-layout';

/** What the store itself holds. */
export type Kind = 'blobs' | 'packs' | 'nodes';
/** ...and the blobs of the image layout (images/blobs/sha256). */
export type AnyKind = Kind | 'images';

export interface Item<K extends AnyKind = Kind> {
  kind: K;
  /** The blob's hex digest, the pack's id, the node's key. */
  name: string;
  /** The files it is made of (a pack and its index). */
  files: string[];
  bytes: number;
}

/** Temporaries of running or killed writers: not entries (builds sweep them). */
const isTemp = (n: string) => n.startsWith('.');

export function kindDir(cacheDir: string, kind: Kind): string {
  return kind === 'blobs' ? path.join(cacheDir, 'blobs', 'sha256') : path.join(cacheDir, kind);
}

async function sizeOf(file: string): Promise<number> {
  return fs.lstat(file).then(
    (s) => s.size,
    () => 0,
  );
}

export async function inventory(cacheDir: string): Promise<Item[]> {
  const items: Item[] = [];
  for (const kind of ['blobs', 'packs', 'nodes'] as const) {
    const dir = kindDir(cacheDir, kind);
    const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => !isTemp(n)).sort();
    for (const n of names) {
      if (kind === 'packs') {
        // A pack is its data file plus NAME.idx.json; an index alone is an orphan, listed under its pack's name.
        const id = n.endsWith('.idx.json') ? n.slice(0, -'.idx.json'.length) : n;
        if (n !== id && names.includes(id)) continue;
        const files = [path.join(dir, id), path.join(dir, `${id}.idx.json`)];
        items.push({ kind, name: id, files, bytes: (await sizeOf(files[0])) + (await sizeOf(files[1])) });
      } else {
        const file = path.join(dir, n);
        items.push({ kind, name: kind === 'nodes' ? n.replace(/\.json$/, '') : n, files: [file], bytes: await sizeOf(file) });
      }
    }
  }
  return items;
}

/**
 * The image layout's blobs: files named by a sha256 hex in images/blobs/sha256;
 * none when blobs or blobs/sha256 is not a real folder (a symlink could lead
 * out of the cache). Other names (a writer's temporaries) are left alone.
 */
export async function imageBlobItems(cacheDir: string): Promise<Item<'images'>[]> {
  const layout = imageLayoutDir(cacheDir);
  for (const sub of ['', 'blobs', 'blobs/sha256']) {
    const st = await fs.lstat(path.join(layout, sub)).catch(() => undefined);
    if (!st?.isDirectory()) return [];
  }
  const dir = path.join(layout, 'blobs', 'sha256');
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => HEX64.test(n)).sort();
  const items: Item<'images'>[] = [];
  for (const n of names) {
    const file = path.join(dir, n);
    items.push({ kind: 'images', name: n, files: [file], bytes: await sizeOf(file) });
  }
  return items;
}

export async function removeItem(item: Item<AnyKind>): Promise<void> {
  for (const f of item.files) await fs.rm(f, { recursive: true, force: true });
}

export interface Usage {
  folder: string;
  kinds: Record<AnyKind, { count: number; bytes: number }>;
  /** Everything under the folder (the stat cache, roots and temporaries too). */
  total: number;
}

export async function usage(cacheDir: string): Promise<Usage> {
  const kinds = { blobs: { count: 0, bytes: 0 }, packs: { count: 0, bytes: 0 }, nodes: { count: 0, bytes: 0 }, images: { count: 0, bytes: 0 } };
  for (const it of [...(await inventory(cacheDir)), ...(await imageBlobItems(cacheDir))]) {
    kinds[it.kind].count++;
    kinds[it.kind].bytes += it.bytes;
  }
  return { folder: cacheDir, kinds, total: await treeBytes(cacheDir) };
}

async function treeBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? await treeBytes(p) : await sizeOf(p);
  }
  return n;
}

/** 1536 -> "1.5 KiB". */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * "2GB", "500MB", "1.5g", "1048576": bytes. As `docker builder prune
 * --keep-storage`, the units are binary (1KB = 1024 B). Undefined when it is
 * not a size.
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** power);
}
