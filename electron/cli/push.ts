// `scratchyard push`: build the project's OCI layout (cached, as build does)
// and copy it to a registry with skopeo, digests preserved. stdout carries the
// manifest digest the registry now holds, which must be the one built here;
// stderr says what became of each blob (uploaded, or already there: skipped or
// mounted from another repository).
import { imageReference } from '../../shared/recipe';
import { formatImageRef, parseImageRef } from '../../shared/imageref';
import { build } from '../engine/entry/build';
import { pushImage } from '../engine/oci/transport';
import { defaultCacheDir } from '../engine/store/cache';
import { UsageError, parse } from './args';
import { REGISTRY_ARGS, registryOptions } from './registry-flags';
import { PUSH_USAGE } from './usage';
import { Progress } from './progress';


export async function cmdPush(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, ...REGISTRY_ARGS });
  if (values.help) {
    process.stdout.write(`usage: scratchyard ${PUSH_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 2) throw new UsageError(`push: expected [PROJECT] [DEST], got ${positionals.join(' ')}`);
  const ropts = registryOptions(values);
  // The destination is checked before the build, so a typo fails at once.
  const destText = positionals[1];
  const given = destText === undefined ? undefined : destRef(destText);
  const progress = new Progress(process.stderr);
  // The registry flags reach the project's base image too, as they do in build.
  const r = await build({ project: positionals[0] ?? '.', cacheDir: values.cache ?? defaultCacheDir(), formats: ['oci'], signal, onEvent: (e) => progress.event(e), registry: ropts });
  progress.finish();
  const layout = r.outputs.oci;
  if (!layout) throw new Error(`${r.recipe.name}: the build wrote no OCI layout to push`);
  const dest = given ?? destRef(`docker://${imageReference(r.recipe).full}`);
  const where = formatImageRef(dest);
  process.stderr.write(`pushing ${layout} to ${where}\n`);
  const pushed = await pushImage(layout, imageReference(r.recipe).tag, dest, {
    ...ropts,
    signal,
    onProgress: (p) => {
      if (p.kind === 'blob' && p.status !== 'copying') process.stderr.write(`  ${p.status.padEnd(10)} sha256:${p.digest}\n`);
    },
  });
  const count = (s: string) => pushed.blobs.filter((b) => b.status === s).length;
  const present = count('skipped') + count('mounted');
  process.stderr.write(`${where}: ${pushed.blobs.length} blobs: ${count('uploaded')} uploaded, ${present} already in the registry (${count('skipped')} skipped, ${count('mounted')} mounted from another repository)\n`);
  const local = `sha256:${r.manifestDigest}`;
  const remote = `sha256:${pushed.manifestDigest}`;
  if (values.json) process.stdout.write(JSON.stringify({ destination: where, manifestDigest: remote, local, blobs: pushed.blobs.map((b) => ({ ...b, digest: `sha256:${b.digest}` })) }, null, 2) + '\n');
  else process.stdout.write(`${remote}\n`);
  if (remote !== local) {
    process.stderr.write(`scratchyard: ${where} holds manifest ${remote}, not the built ${local}: the registry changed the image\n`);
    return 1;
  }
  return 0;
}

function destRef(text: string) {
  const ref = parseImageRef(text);
  if (typeof ref === 'string') throw new UsageError(`push: ${ref}`);
  if (ref.transport !== 'docker') throw new UsageError(`push: ${text}: the destination is a registry, docker://REGISTRY/NAME:TAG`);
  // As docker push: a tag names where the image goes; the manifest's digest is what the push prints.
  if (ref.ref.digest) throw new UsageError(`push: ${text}: a destination takes a tag, not a digest (the pushed manifest's digest is printed; check it with inspect)`);
  if (ref.ref.name.startsWith('[')) throw new UsageError(`push: ${text}: skopeo cannot read a bracketed IPv6 registry address; name the registry by a host name (localhost, or one in /etc/hosts)`);
  return ref;
}
