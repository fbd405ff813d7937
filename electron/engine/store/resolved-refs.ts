// CACHE/images.resolved.json: what each reference fetched into the image
// layout (a registry's tag, an engine's image) resolved to last. fetchImage
// (oci/transport.ts) records it once the layout holds the image, and falls
// back on it when the registry is down (and tells a moved tag by it); `cache
// gc` drops the references whose manifest the layout no longer holds. Both
// write it under the layout's lock (store/image-layout.ts imageLayoutLock).
//
// A cache file, so untrusted: read capped, its shape checked with zod, every
// digest held to its grammar by parseDigest before it is used. Digests are
// written "sha256:HEX"; the bare HEX earlier versions wrote is read too.
import path from 'node:path';
import { z } from 'zod';
import { DigestError, parseDigest, type Sha256 } from '../../../shared/brand';
import { writeFileAtomic } from './atomic';
import { HEX64, readJsonCapped } from './integrity';

/** Bigger is refused unread: at most MAX_REFS references of at most MAX_REF characters fit well under it. */
const CAP = 4 << 20;
const MAX_REFS = 10_000;
const MAX_REF = 1024;

const fileSchema = z.record(z.string().max(MAX_REF), z.string().max(200));

export type ResolvedRefs =
  | { kind: 'absent'; file: string }
  | { kind: 'damaged'; file: string; why: string }
  /** Reference (as formatImageRef writes it) -> manifest digest, in the file's order. */
  | { kind: 'ok'; file: string; refs: Map<string, Sha256> };

/** The file of a cache. */
export function resolvedRefsFile(cacheDir: string): string {
  return path.join(path.resolve(cacheDir), 'images.resolved.json');
}

/** The cache's record, checked; `damaged` says why, for the file named in `file`. */
export async function readResolvedRefs(cacheDir: string): Promise<ResolvedRefs> {
  const file = resolvedRefsFile(cacheDir);
  const doc = await readJsonCapped(file, CAP);
  if (!doc) return { kind: 'absent', file };
  if ('bad' in doc) return { kind: 'damaged', file, why: doc.bad };
  const r = fileSchema.safeParse(doc.value);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { kind: 'damaged', file, why: `${issue?.path.map(String).join('.') || 'top'}: ${issue?.message ?? 'not an object of reference -> digest'}` };
  }
  const entries = Object.entries(r.data);
  if (entries.length > MAX_REFS) return { kind: 'damaged', file, why: `${entries.length} references (at most ${MAX_REFS})` };
  const refs = new Map<string, Sha256>();
  try {
    for (const [ref, digest] of entries) refs.set(ref, parseDigest(HEX64.test(digest) ? `sha256:${digest}` : digest, JSON.stringify(ref)));
  } catch (e) {
    if (e instanceof DigestError) return { kind: 'damaged', file, why: e.message };
    throw e;
  }
  return { kind: 'ok', file, refs };
}

/** The record's references, none when it is missing or damaged (a fetch then starts it afresh). */
export async function knownRefs(cacheDir: string): Promise<Map<string, Sha256>> {
  const r = await readResolvedRefs(cacheDir);
  return r.kind === 'ok' ? r.refs : new Map();
}

/** Replace the record with `refs`, atomically. Hold the layout's lock. */
export async function writeResolvedRefs(file: string, refs: ReadonlyMap<string, Sha256>): Promise<void> {
  const doc = Object.fromEntries([...refs].map(([ref, digest]) => [ref, `sha256:${digest}`]));
  await writeFileAtomic(file, JSON.stringify(doc, null, 1) + '\n');
}
