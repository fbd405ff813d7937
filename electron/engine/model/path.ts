// Paths inside an image. Pure string work: nothing here touches a disk.
import type { ImagePath } from '../../../shared/brand';

export const ROOT = '/' as ImagePath;

export class ImagePathError extends Error {}

/**
 * Normalize a path inside the image: absolute, no "." or empty segments, no
 * trailing slash. A ".." that would climb above "/" is an error, never clamped:
 * an entry that tries to escape is rejected, not silently moved.
 */
/** An empty, "." or ".." segment, or a trailing "/": anything imagePath would change. */
const NOT_CANONICAL = /\/\.{0,2}(?:\/|$)/;

export function imagePath(p: string): ImagePath {
  // Most paths (from trees and tar headers) are already canonical: one regex test, no split.
  if (p.charCodeAt(0) === 47 && !NOT_CANONICAL.test(p)) return p as ImagePath;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) throw new ImagePathError(`path escapes the image root: ${JSON.stringify(p)}`);
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return ('/' + out.join('/')) as ImagePath;
}

/** Like imagePath, but any ".." segment at all is refused (for names read from archives). */
export function strictImagePath(p: string): ImagePath {
  if (/(?:^|\/)\.\.(?:\/|$)/.test(p)) throw new ImagePathError(`path contains "..": ${JSON.stringify(p)}`);
  return imagePath(p);
}

export function joinImage(dir: ImagePath | string, rel: string): ImagePath {
  // Under "/" no doubled slash: a clean name then takes imagePath's quick check, not its split.
  return imagePath(dir === ROOT ? '/' + rel : dir + '/' + rel);
}

export function parentOf(p: ImagePath): ImagePath {
  if (p === ROOT) return ROOT;
  const i = p.lastIndexOf('/');
  return (i === 0 ? '/' : p.slice(0, i)) as ImagePath;
}

export function baseName(p: ImagePath): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Every ancestor of p, nearest to the root first, excluding "/" and p itself. */
export function ancestors(p: ImagePath): ImagePath[] {
  const out: ImagePath[] = [];
  let i = p.indexOf('/', 1);
  while (i !== -1) {
    out.push(p.slice(0, i) as ImagePath);
    i = p.indexOf('/', i + 1);
  }
  return out;
}

export function isUnder(p: string, dir: string): boolean {
  return dir === '/' ? p !== '/' : p.startsWith(dir + '/');
}

/** "./bin/busybox" form used by file lists and tar names ("." for the root). */
export function dotPath(p: ImagePath): string {
  return p === ROOT ? '.' : '.' + p;
}

/**
 * Byte order of paths, the order `LC_ALL=C sort` gives: "/bin" < "/bin-x" < "/bin/sh".
 * JavaScript compares UTF-16 code units, which matches UTF-8 byte order except
 * for astral characters against U+E000..U+FFFF; fall back to bytes only then.
 */
const BELOW_SURROGATES = /^[\x00-\ud7ff]*$/;

export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  if (BELOW_SURROGATES.test(a) && BELOW_SURROGATES.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Resolve a symlink target as the kernel would inside a chroot, lexically. */
export function resolveLinkTarget(link: ImagePath, target: string): ImagePath {
  return joinImageLenient(target.startsWith('/') ? '/' : parentOf(link), target);
}

/** Join allowing ".." to stop at "/" (as the kernel does inside a root). */
export function joinImageLenient(dir: string, rel: string): ImagePath {
  const out: string[] = [];
  for (const seg of (dir + '/' + rel).split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return ('/' + out.join('/')) as ImagePath;
}
