// Host files keep their file capabilities (the security.capability xattr) in
// the image, as they keep a setuid bit: Debian's ping is cap_net_raw=ep, and
// copied without it fails as any user but root. Node cannot read xattrs, so
// getcap (libcap2-bin) is asked, once for all of a source's executables whose
// identity the stat cache has not seen with an answer; the answer (none, most
// often) is kept with the file's stat cache entry, so a rebuild runs nothing.
import { promises as fs, type Stats } from 'node:fs';
import type { ImagePath } from '../../../shared/brand';
import { DEFAULT_LAST_CAP, fileCapsXattr } from '../model/file-caps';
import type { Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import { exec } from '../tools/exec';
import { findTool, TOOLS } from '../tools/registry';

const XATTR = 'security.capability';
/** Paths per getcap run: well under the kernel's limit on arguments. */
const BATCH = 500;

/** Give each executable file of `put` (at the same path on this machine) the capabilities it has here. */
export async function addHostCapabilities(store: BlobStore, put: Tree, log: (line: string) => void): Promise<void> {
  const files: [ImagePath, Stats][] = [];
  for (const [p, e] of put) {
    if (e.type !== 'file' || !(e.mode & 0o111) || p.includes('\n')) continue;
    const st = await fs.lstat(p).catch(() => undefined);
    if (st?.isFile()) files.push([p, st]);
  }
  const caps = new Map<ImagePath, string | null>();
  const unknown: [ImagePath, Stats][] = [];
  for (const [p, st] of files) {
    const known = store.hostCaps(p, st);
    if (known === undefined) unknown.push([p, st]);
    else caps.set(p, known);
  }
  if (unknown.length) {
    const getcap = findTool('getcap');
    if (!getcap) log(`file capabilities of host files not read: getcap not found (Debian package ${TOOLS.getcap.debianPackage})`);
    else
      for (let i = 0; i < unknown.length; i += BATCH) {
        const batch = unknown.slice(i, i + BATCH);
        const read = await readCaps(getcap, batch.map(([p]) => p));
        for (const [p, st] of batch) {
          const v = read.get(p);
          if (v === undefined) continue;
          caps.set(p, v);
          store.rememberHostCaps(p, st, v);
        }
      }
  }
  for (const [p, v] of caps) {
    if (!v) continue;
    const e = put.get(p)!;
    put.set(p, { ...e, xattrs: { ...e.xattrs, [XATTR]: v } });
  }
}

/**
 * Each path's capabilities as getcap prints them, as the xattr's base64 (null:
 * none). A path getcap complained about is left out (unknown, asked again
 * next time), and so is every path of a run that failed.
 */
async function readCaps(getcap: string, paths: ImagePath[]): Promise<Map<ImagePath, string | null>> {
  const out = new Map<ImagePath, string | null>();
  // -n: a namespaced (v3) capability's rootid too.
  const r = await exec(getcap, ['-n', ...paths]);
  if (r.code !== 0 || r.signal) return out;
  // Longest first: "/a b" is matched before "/a" in a line that starts "/a b ".
  const byLength = [...paths].sort((a, b) => b.length - a.length);
  const named = new Set<ImagePath>();
  const lastCap = await fs.readFile('/proc/sys/kernel/cap_last_cap', 'utf8').then((t) => Number.parseInt(t, 10), () => DEFAULT_LAST_CAP);
  for (const line of r.stdout.split('\n')) {
    const p = byLength.find((q) => line.startsWith(`${q} `));
    if (!p) continue;
    named.add(p);
    const x = fileCapsXattr(line.slice(p.length + 1), Number.isInteger(lastCap) && lastCap >= 0 ? lastCap : DEFAULT_LAST_CAP);
    // Text this cannot read: unknown, not "none".
    if (!(x instanceof Error)) out.set(p, x ? x.toString('base64') : null);
  }
  for (const p of paths) if (!named.has(p) && !r.stderr.includes(p)) out.set(p, null);
  return out;
}
