// The checksummed file list of a tree, one line per path, sorted:
//   ./bin/busybox 0100755-0-0-<sha256 of content>
// type+permission bits in octal, uid, gid, digest: of the content for a file,
// of the target for a symlink, "major,minor" for a device, 0 for the rest.
import { createHash } from 'node:crypto';
import type { ImagePath } from '../../../shared/brand';
import { escapeControls } from '../../../shared/grammar';
import { sha256 } from './digest';
import { dotPath } from './path';
import { TYPE_BITS, sortedPaths, type Entry, type Tree } from './tree';

export function entryId(e: Entry): string {
  const mode = (TYPE_BITS[e.type] | e.mode).toString(8).padStart(7, '0');
  return `${mode}-${e.uid}-${e.gid}-${entryDigest(e)}`;
}

function entryDigest(e: Entry): string {
  switch (e.type) {
    case 'file':
      return e.digest!;
    case 'symlink':
      return sha256(e.target!);
    case 'char':
    case 'block':
      return `${e.rdev![0]},${e.rdev![1]}`;
    default:
      return '0';
  }
}

export function fileListLine(path: ImagePath, e: Entry): string {
  return `${listedPath(dotPath(path))} ${entryId(e)}`;
}

/** A path as one line shows it: a name cannot end the line and forge the next, and two names never show alike. */
export function listedPath(p: string): string {
  return escapeControls(p, true);
}

export function fileList(tree: Tree): string[] {
  return sortedPaths(tree).map((p) => fileListLine(p, tree.get(p)!));
}

/**
 * Digest of everything that makes a tree what it is: the file list plus the
 * attributes the list leaves out (xattrs, hard-link groups). Two trees with
 * the same digest export to the same bytes.
 */
export function treeDigest(tree: Tree): string {
  // Hashed as it is made, a few dozen KB at a time: the joined list of a large tree is tens of MB.
  const hash = createHash('sha256');
  let chunk = '';
  let first = true;
  for (const p of sortedPaths(tree)) {
    const e = tree.get(p)!;
    let line = fileListLine(p, e);
    if (e.link) line += ` link=${e.link}`;
    if (e.xattrs) for (const k of Object.keys(e.xattrs).sort()) line += ` x:${k}=${e.xattrs[k]}`;
    chunk += first ? line : '\n' + line;
    first = false;
    if (chunk.length >= 1 << 16) {
      hash.update(chunk);
      chunk = '';
    }
  }
  return hash.update(chunk).digest('hex');
}
