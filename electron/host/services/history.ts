// Each project's build history, kept in the cache folder (one small JSON file
// per project, named by the digest of its recipe path). The cache's files are
// untrusted: a file is read capped, and records that fail the contract's
// schema are dropped, each named in the reason.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { buildRecord, type BuildRecord } from '../../../shared/contract';
import { writeFileAtomic } from '../../engine/store/atomic';
import { readJsonCapped } from '../../engine/store/integrity';

export type { BuildRecord };

/** Builds kept per project. */
export const HISTORY_MAX = 20;
const HISTORY_BYTES = 1 << 20;

const historyFile = z.strictObject({ project: z.string(), records: z.array(z.unknown()).max(HISTORY_MAX * 5) });

export function historyPath(cacheDir: string, recipeFile: string): string {
  const key = createHash('sha256').update(path.resolve(recipeFile)).digest('hex').slice(0, 32);
  return path.join(path.resolve(cacheDir), 'history', `${key}.json`);
}

/** The project's builds, newest first; a damaged file reads as no history (and is overwritten by the next build). */
export async function readHistory(cacheDir: string, recipeFile: string): Promise<{ records: BuildRecord[]; problem?: string }> {
  const file = historyPath(cacheDir, recipeFile);
  const doc = await readJsonCapped(file, HISTORY_BYTES).catch((e: Error) => ({ bad: e.message }));
  if (!doc) return { records: [] };
  if ('bad' in doc) return { records: [], problem: `${file} ${doc.bad}` };
  const top = historyFile.safeParse(doc.value);
  if (!top.success) return { records: [], problem: `${file}: not a build history (${top.error.issues[0]?.message})` };
  // Another project that hashed to this name (or a copied cache) is not ours.
  if (top.data.project !== path.resolve(recipeFile)) return { records: [], problem: `${file}: the history of ${top.data.project}` };
  const records: BuildRecord[] = [];
  const bad: string[] = [];
  top.data.records.forEach((r, i) => {
    const ok = buildRecord.safeParse(r);
    if (ok.success) records.push(ok.data);
    else bad.push(`record ${i}: ${ok.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
  });
  records.sort((a, b) => b.at - a.at);
  return { records: records.slice(0, HISTORY_MAX), ...(bad.length ? { problem: `${file}: ${bad.join(' | ')}` } : {}) };
}

/** Add a build to the front of the project's history (the oldest fall off). */
export async function recordBuild(cacheDir: string, recipeFile: string, record: BuildRecord): Promise<void> {
  const file = historyPath(cacheDir, recipeFile);
  const { records } = await readHistory(cacheDir, recipeFile);
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Graphs are kept where a restore looks (the newest record and the newest good one), and only while the file stays in bounds.
  const lastGood = [record, ...records].find((r) => r.ok);
  const kept = [record, ...records].slice(0, HISTORY_MAX).map((r) => (r === record || r === lastGood ? r : withoutGraph(r)));
  const text = (rs: BuildRecord[]) => JSON.stringify({ project: path.resolve(recipeFile), records: rs }) + '\n';
  const full = text(kept);
  await writeFileAtomic(file, Buffer.byteLength(full) <= HISTORY_BYTES ? full : text(kept.map(withoutGraph)));
}

function withoutGraph({ graph: _g, nodes: _n, ...r }: BuildRecord): BuildRecord {
  return r;
}
