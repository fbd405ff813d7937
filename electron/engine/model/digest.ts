// sha256 of in-memory values. Hashing is computation, not I/O, so it lives in the model.
import { createHash } from 'node:crypto';
import type { Sha256 } from '../../../shared/brand';

export function sha256(data: string | Uint8Array): Sha256 {
  return createHash('sha256').update(data).digest('hex') as Sha256;
}

/** Digest of a JSON-able value with keys sorted, so equal specs give equal keys. */
export function digestOf(value: unknown): Sha256 {
  return sha256(canonicalJson(value));
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Map)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}
