// The registry flags (skopeo's, as docker users know them), parsed in this one
// place for every command that talks to a registry (build's --cache-from and
// --cache-to, push, inspect, ls, diff), and the docker:// repositories they go
// with. Checked where they enter: a bad one is a usage error naming the flag.
import { statSync } from 'node:fs';
import { formatImageRef, parseImageRef, type ImageRef } from '../../shared/imageref';
import { credsProblem, type RegistryOptions } from '../engine/oci/transport';
import { UsageError } from './args';

export const REGISTRY_ARGS = {
  'tls-verify': { type: 'string' },
  creds: { type: 'string' },
  authfile: { type: 'string' },
  'cert-dir': { type: 'string' },
} as const;

/** The registry options of parsed arguments, checked (a bad one is a usage error). */
export function registryOptions(values: { 'tls-verify'?: string; creds?: string; authfile?: string; 'cert-dir'?: string }): RegistryOptions {
  const tls = values['tls-verify'];
  if (tls !== undefined && tls !== 'true' && tls !== 'false') throw new UsageError(`--tls-verify: expected true or false, got "${tls}"`);
  if (values.creds !== undefined) {
    const bad = credsProblem(values.creds);
    if (bad) throw new UsageError(bad);
  }
  for (const name of ['authfile', 'cert-dir'] as const) {
    const v = values[name];
    if (v === undefined) continue;
    const want = name === 'authfile' ? 'file' : 'folder';
    const st = v === '' ? undefined : statSync(v, { throwIfNoEntry: false });
    if (!st) throw new UsageError(`--${name}: ${v}: no such ${want}`);
    if (want === 'file' ? !st.isFile() : !st.isDirectory()) throw new UsageError(`--${name}: ${v}: not a ${want}`);
  }
  return {
    ...(tls !== undefined ? { tlsVerify: tls === 'true' } : {}),
    ...(values.creds !== undefined ? { creds: values.creds } : {}),
    ...(values.authfile !== undefined ? { authfile: values.authfile } : {}),
    ...(values['cert-dir'] !== undefined ? { certDir: values['cert-dir'] } : {}),
  };
}

/** A docker:// repository for --cache-from / --cache-to. */
export function registryRepoOf(flag: string, text: string): Extract<ImageRef, { transport: 'docker' }> {
  const r = parseImageRef(text);
  if (typeof r === 'string') throw new UsageError(`${flag}: ${r}`);
  if (r.transport !== 'docker') throw new UsageError(`${flag}: expected a registry repository docker://REGISTRY/NAME, got ${formatImageRef(r)}`);
  return r;
}
