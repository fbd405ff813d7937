// A new project on a base image: `scratchyard init --from REF [DIR]` and the
// app's "Use as base". Its recipe has one layer, an image source pinned by
// the digest the reference resolves to now, so a later build takes that image
// or refuses; layers are added above it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { formatImageRef, parseImageRef } from '../../../shared/imageref';
import { RECIPE_FILE } from '../graph/project';
import { baseIdentity, checkBaseLayers, localImage } from '../sources/image';
import { writeFileAtomic } from '../store/atomic';

export interface InitOptions {
  /** An image reference (skopeo's transport names, or a path; relative to the working folder). */
  from: string;
  dir: string;
  cacheDir: string;
  signal?: AbortSignal;
}

/** A reference that does not parse: the caller's usage error. */
export class InitRefError extends Error {}

export async function initFromImage(opts: InitOptions): Promise<{ dir: string; file: string; ref: string; digest: string }> {
  const parsed = parseImageRef(opts.from);
  if (typeof parsed === 'string') throw new InitRefError(parsed);
  // The project may be anywhere: a path is written absolute, so it means the same from there.
  const ref = 'path' in parsed ? { ...parsed, path: path.resolve(parsed.path) } : parsed;
  const text = formatImageRef(ref);
  const dir = path.resolve(opts.dir);
  const file = path.join(dir, RECIPE_FILE);
  if (await fs.lstat(file).catch(() => undefined)) throw new Error(`${file} already exists: pick another folder`);
  const local = await localImage(ref, { projectDir: dir, cacheDir: opts.cacheDir, signal: opts.signal }, '--from');
  const { digest, config } = await baseIdentity(local, text, '--from');
  // Pinned only once it is known to build: a layer missing, damaged or lying about its digest is refused now, not at the first build.
  await checkBaseLayers(local, text, '--from');
  const arch = (config as { architecture?: unknown } | null)?.architecture;
  const name = path.basename(dir).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 128) || 'image';
  const lines = [
    `# On the base image ${text} (pinned by its digest: a build refuses any other; drop digest: to follow the reference).`,
    `name: ${name}`,
    ...(typeof arch === 'string' && /^[a-z0-9][a-z0-9_]{0,31}$/.test(arch) && arch !== 'amd64' ? [`architecture: ${arch}`] : []),
    'layers:',
    '  - name: base',
    '    sources:',
    '      - kind: image',
    `        ref: ${JSON.stringify(text)}`,
    `        digest: sha256:${digest}`,
  ];
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(file, lines.join('\n') + '\n');
  return { dir, file, ref: text, digest: `sha256:${digest}` };
}
