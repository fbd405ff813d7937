// The registry flags (skopeo's, as docker users know them) and the image
// references they go with, checked where they enter: a bad one is a usage error
// naming the flag.
import { controlProblem } from '../../shared/grammar';
import { formatImageRef, parseImageRef, type ImageRef } from '../../shared/imageref';
import { UsageError } from './args';

export const REGISTRY_FLAGS = {
  'tls-verify': { type: 'string' },
  creds: { type: 'string' },
  authfile: { type: 'string' },
} as const;

export interface RegistryFlags {
  tlsVerify?: boolean;
  creds?: string;
  authfile?: string;
}

export function registryFlagsOf(values: { 'tls-verify'?: string; creds?: string; authfile?: string }): RegistryFlags {
  const out: RegistryFlags = {};
  const tls = values['tls-verify'];
  if (tls !== undefined) {
    if (tls !== 'true' && tls !== 'false') throw new UsageError(`--tls-verify: expected true or false, got "${tls}"`);
    out.tlsVerify = tls === 'true';
  }
  if (values.creds !== undefined) {
    const bad = controlProblem(values.creds);
    if (bad || !/^[^:]+(:.*)?$/.test(values.creds)) throw new UsageError(`--creds: expected USER[:PASSWORD]${bad ? ` (${bad})` : ''}`);
    out.creds = values.creds;
  }
  if (values.authfile !== undefined) {
    if (values.authfile === '' || controlProblem(values.authfile)) throw new UsageError('--authfile: expected the path of an auth.json or docker config.json');
    out.authfile = values.authfile;
  }
  return out;
}

/** A docker:// repository for --cache-from / --cache-to. */
export function registryRepoOf(flag: string, text: string): Extract<ImageRef, { transport: 'docker' }> {
  const r = parseImageRef(text);
  if (typeof r === 'string') throw new UsageError(`${flag}: ${r}`);
  if (r.transport !== 'docker') throw new UsageError(`${flag}: expected a registry repository docker://REGISTRY/NAME, got ${formatImageRef(r)}`);
  return r;
}
