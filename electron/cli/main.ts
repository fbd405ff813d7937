// `scratchyard`: the engine from a shell. It translates arguments and prints;
// the engine decides. stdout carries results only (file lists, JSON, the run
// program's own output); progress and messages go to stderr.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildResult, Format } from '../engine/entry/build';
import type { ImageTarget } from './images';
import type { RegistryOptions } from '../engine/oci/transport';
import { UsageError, parse, writablePlace } from './args';
import { REGISTRY_ARGS, registryOptions, registryRepoOf } from './registry-flags';
import { defaultCacheDir } from '../engine/store/cache';
import { Progress } from './progress';
import { USAGE, usageOf, usageText } from './usage';

// Each command imports what it needs when it runs (esbuild evaluates a module
// imported with import() only then): `run` of a cached image does not pay for
// the inspector, the GUI server or the SBOM libraries.

/** `stampKey`: the build's no-op stamp key, from the entry (stamp.ts); a no-op build then leaves a stamp. */
export async function main(argv: string[], stampKey?: string): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'build':
        return stampKey === undefined ? await cmdBuild(rest) : await (await import('./stamp-build')).stampedBuild(stampKey, () => cmdBuild(rest));
      case 'init':
        return await (await import('./init')).cmdInit(rest, usageOf('init'));
      case 'run':
        return await (await import('./run')).cmdRun(rest, abortOnSignals());
      case 'ls':
        return await cmdLs(rest, abortOnSignals());
      case 'inspect':
        return await (await import('./inspect')).cmdInspect(rest, abortOnSignals());
      case 'diff':
        return await (await import('./inspect')).cmdDiff(rest, abortOnSignals());
      case 'push':
        return await (await import('./push')).cmdPush(rest, abortOnSignals());
      case 'images':
        return await (await import('./images')).cmdImages(rest, usageOf('images'));
      case 'doctor':
        return await cmdDoctor(rest);
      case 'sbom':
        return await (await import('./sbom')).cmdSbom(rest, usageOf('sbom'));
      case 'cache':
        return await (await import('./cache')).cmdCache(rest, usageOf('cache'));
      case 'gui':
        return await cmdGui(rest);
      case 'schema':
        process.stdout.write(JSON.stringify((await import('../../shared/recipe')).recipeJsonSchema(), null, 2) + '\n');
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    const code = await report(e, cmd);
    // diff --exit-code speaks diff(1)'s language: 1 says "they differ", so a failure is 2.
    return cmd === 'diff' && code === 1 && rest.includes('--exit-code') ? 2 : code;
  }
}

async function report(e: unknown, cmd: string | undefined): Promise<number> {
  if (e instanceof UsageError) {
    // The command's own usage lines after its message (the whole text when the command itself is unknown).
    process.stderr.write(`scratchyard: ${e.message}\n\n${usageText(cmd)}\n`);
    return 2;
  }
  // Only a failing command pays for loading the error classes it may have thrown.
  const [{ RecipeLoadError }, { RecipeError }, { NoCommandError }, { ToolMissingError }, { CacheBusyError }, { CorruptBlobError }, { SbomInputError }] = await Promise.all([
    import('../engine/graph/project'),
    import('../engine/sources/types'),
    import('../engine/run/process'),
    import('../engine/tools/registry'),
    import('../engine/store/gc'),
    import('../engine/store/integrity'),
    import('../engine/export/sbom-collect'),
  ]);
  if (e instanceof RecipeLoadError) {
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  if (e instanceof RecipeError) {
    const at = e.where && (await import('../engine/graph/project')).fieldPosition(e.where.text, e.field);
    process.stderr.write(at ? `${e.where!.file}:${at.line}:${at.col}: ${e.message}\n` : `scratchyard.yaml: ${e.message}\n`);
    return 2;
  }
  if (e instanceof NoCommandError) {
    process.stderr.write(`scratchyard: ${e.message}\n`);
    return 2;
  }
  if (e instanceof ToolMissingError || e instanceof CacheBusyError || e instanceof SbomInputError) {
    process.stderr.write(`scratchyard: ${e.message}\n`);
    return 1;
  }
  if (e instanceof CorruptBlobError) {
    // Outside a build (run, ls of an image): nothing rebuilt it here.
    process.stderr.write(`scratchyard: ${e.message}; build again (the build recomputes what used it), or check the whole cache with \`scratchyard cache verify\`\n`);
    return 1;
  }
  if ((e as Error)?.name === 'AbortError') {
    process.stderr.write('scratchyard: cancelled\n');
    return 130;
  }
  // Our errors name the file or field at fault; a stack helps only whoever debugs the engine.
  const err = e as Error;
  process.stderr.write(`scratchyard: ${process.env.SCRATCHYARD_DEBUG ? (err?.stack ?? String(e)) : (err?.message ?? String(e))}\n`);
  return 1;
}

function formatsOf(value: string | undefined, DEFAULT_FORMATS: readonly Format[], FORMATS: readonly Format[]): Format[] {
  if (value === undefined) return [...DEFAULT_FORMATS];
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const f of list) if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`unknown format "${f}" (expected ${FORMATS.join(', ')})`);
  return list as Format[];
}

function onePositional(positionals: string[]): string {
  if (positionals.length > 1) throw new UsageError(`expected one project, got ${positionals.join(' ')}`);
  return positionals[0] ?? '.';
}

/**
 * Cancel cleanly on Ctrl-C / SIGTERM: temporaries are removed by the writers. Work that never
 * looks at the signal (a system call that does not return) cannot hold the process: it exits
 * 130 at the latest 10 s after the signal, or at once on a second one.
 */
function abortOnSignals(): AbortSignal {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    setTimeout(() => process.exit(130), 10_000).unref();
  };
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, onSignal);
  return ac.signal;
}

async function cmdBuild(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    format: { type: 'string' },
    gzip: { type: 'boolean' },
    'no-gzip': { type: 'boolean' },
    json: { type: 'boolean' },
    strict: { type: 'boolean' },
    'cache-from': { type: 'string' },
    'cache-to': { type: 'string' },
    ...REGISTRY_ARGS,
    sbom: { type: 'boolean' },
    'no-sbom': { type: 'boolean' },
    locked: { type: 'boolean' },
  });
  if (values.sbom && values['no-sbom']) throw new UsageError('--sbom and --no-sbom: choose one');
  if (values.help) return usageOf('build')();
  if (values.out !== undefined) writablePlace('--out', values.out);
  const registry = registryOptions(values);
  const shared = (flag: string, text: string | undefined) => (text === undefined ? undefined : { ref: registryRepoOf(flag, text), ...registry });
  const cacheFrom = shared('--cache-from', values['cache-from']);
  const cacheTo = shared('--cache-to', values['cache-to']);
  const { build, DEFAULT_FORMATS, FORMATS } = await import('../engine/entry/build');
  const progress = new Progress(process.stderr);
  const result = await build({
    project: onePositional(positionals),
    cacheDir: values.cache ?? defaultCacheDir(),
    outDir: values.out,
    formats: formatsOf(values.format, DEFAULT_FORMATS, FORMATS),
    gzip: values.gzip,
    initrdGzip: !values['no-gzip'],
    sbom: values.sbom ? true : values['no-sbom'] ? false : undefined,
    signal: abortOnSignals(),
    onEvent: (e) => progress.event(e),
    registry,
    cacheFrom,
    cacheTo,
    lock: values.locked ? 'locked' : 'write',
  });
  progress.finish(summary(result));
  if (values.json) process.stdout.write(JSON.stringify({ ...buildJson(result), warnings: progress.warnings }, null, 2) + '\n');
  if (values.strict && progress.warnings.length) {
    process.stderr.write(`scratchyard: ${progress.warnings.length} warning(s) and --strict: failing the build (its outputs are written)\n`);
    return 1;
  }
  return 0;
}

export function buildJson(r: BuildResult) {
  return {
    manifestDigest: `sha256:${r.manifestDigest}`,
    ...(r.base ? { base: { ref: r.base.ref, digest: `sha256:${r.base.digest}` } } : {}),
    layers: r.layers.map((l) => ({ name: l.name, digest: `sha256:${l.digest}`, diffId: `sha256:${l.diffId}`, size: l.size, files: l.files, cached: l.cached })),
    outputs: r.outputs,
    written: r.written,
    ...(r.sboms ? { sboms: r.sboms } : {}),
    ...(r.lock ? { lock: r.lock } : {}),
  };
}

function summary(r: BuildResult): string {
  const built = r.layers.filter((l) => !l.cached).length;
  const layerPart = built === 0 ? `no layer written (all ${r.layers.length} cached)` : `${built} of ${r.layers.length} layers written`;
  const outPart = r.written.length ? `wrote ${r.written.join(', ')}` : Object.keys(r.outputs).length ? 'outputs already up to date' : 'no outputs asked for';
  const basePart = r.base ? `; base ${r.base.ref} sha256:${r.base.digest}` : '';
  return `${r.recipe.name}: ${layerPart}; ${outPart}; manifest sha256:${r.manifestDigest}${basePart}`;
}

async function cmdLs(args: string[], signal: AbortSignal): Promise<number> {
  const { imageTarget } = await import('./images');
  const { values, positionals } = parse(args, { layer: { type: 'string' }, ...REGISTRY_ARGS });
  if (values.help) return usageOf('ls')();
  const target = onePositional(positionals);
  const cacheDir = values.cache ?? defaultCacheDir();
  const registry = { ...registryOptions(values), signal };
  const image = await imageTarget(target, cacheDir, registry, (line) => process.stderr.write(`${line}\n`));
  const lines = image ? await lsImage(image, cacheDir, values.layer) : await lsProject(target, cacheDir, values.layer, registry);
  process.stdout.write(lines.map((l) => l + '\n').join(''));
  return 0;
}

async function lsProject(target: string, cacheDir: string, layer: string | undefined, registry: RegistryOptions): Promise<string[]> {
  const [{ build }, { fileList }, { layerFileList, layerIndex }] = await Promise.all([import('../engine/entry/build'), import('../engine/model/filelist'), import('../engine/graph/layers')]);
  const progress = new Progress(process.stderr);
  // The registry flags reach the project's base image, as they do in build.
  const r = await build({ project: target, cacheDir, formats: [], onEvent: (e) => progress.event(e), registry, signal: registry.signal });
  progress.finish();
  if (layer === undefined) return fileList(r.states[r.states.length - 1]);
  const byName = layerIndex(r.recipe, layer);
  const i = byName !== -1 ? byName : pickLayer(r.layers.map((l) => l.digest), layer);
  if (i === -1) throw new UsageError(`no layer "${layer}" (layers: ${r.recipe.layers.map((l) => l.name).join(', ')}; or a number from 1 to ${r.layers.length}, or a digest prefix)`);
  return layerFileList(r.recipe, r.states, i);
}

/** A layer by number from 1 (as inspect, diff and the app count) or by digest prefix; -1 when none or several match. */
function pickLayer(digests: string[], layer: string): number {
  if (/^\d+$/.test(layer)) return Number(layer) >= 1 && Number(layer) <= digests.length ? Number(layer) - 1 : -1;
  const hex = layer.replace(/^sha256:/, '');
  if (!/^[0-9a-f]{4,64}$/.test(hex)) return -1;
  const hits = digests.flatMap((d, i) => (d.replace(/^sha256:/, '').startsWith(hex) ? [i] : []));
  return hits.length === 1 ? hits[0] : -1;
}

/** An image made by anyone: its merged tree, or one layer (by number from 1, or digest prefix) as stored. */
async function lsImage(target: ImageTarget, cacheDir: string, layer: string | undefined): Promise<string[]> {
  const [{ BlobStore }, { readImage }, { fileList }] = await Promise.all([import('../engine/store/blobs'), import('../engine/oci/read'), import('../engine/model/filelist')]);
  const store = new BlobStore(cacheDir);
  await store.open();
  const { readingTarget } = await import('./images');
  const img = await readingTarget(target, cacheDir, () => readImage(store, target.path, target.tag !== undefined ? { tag: target.tag } : {})).finally(() => store.close());
  if (layer === undefined) return fileList(img.states[img.states.length - 1]);
  const i = pickLayer(img.layers.map((l) => l.digest), layer);
  if (i === -1) throw new UsageError(`no layer "${layer}" (give a number from 1 to ${img.layers.length} or a digest prefix of one layer)`);
  return fileList(img.layers[i].tree).filter((l) => !l.startsWith('. '));
}

async function cmdDoctor(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  if (values.help) return usageOf('doctor')();
  const d = await (await import('../engine/entry/doctor')).doctor();
  if (values.json) {
    process.stdout.write(JSON.stringify(d, null, 2) + '\n');
    return 0;
  }
  const w = Math.max(...d.tools.map((t) => t.command.length));
  for (const t of d.tools) {
    const state = t.path ? `found    ${t.version ?? '(version unknown)'}` : `missing  apt-get install ${t.debianPackage}`;
    process.stdout.write(`${t.command.padEnd(w)}  ${state}  [${t.debianPackage}; ${t.purpose}]\n`);
  }
  process.stdout.write(`user namespaces: ${d.userNamespaces.ok ? 'yes' : 'no'} (${d.userNamespaces.detail})\n`);
  process.stdout.write(`/dev/kvm: ${d.kvm.present ? 'present' : 'absent'}, ${d.kvm.usable ? 'can run guests' : 'not used'} (${d.kvm.detail})\n`);
  process.stdout.write(`kernel: ${d.kernel.path ? 'found' : 'missing'} (${d.kernel.detail})\n`);
  return 0;
}

async function cmdGui(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { port: { type: 'string' }, 'no-open': { type: 'boolean' } });
  if (values.help) return usageOf('gui')();
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number, got "${values.port}"`);
  const rendererDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'renderer');
  if (!existsSync(path.join(rendererDir, 'index.html'))) throw new Error(`the renderer is not built (${rendererDir}): run npm run build`);
  const { serveGui } = await import('../host/serve');
  return serveGui({ project: path.resolve(onePositional(positionals)), cacheDir: values.cache ?? defaultCacheDir(), rendererDir, port, open: !values['no-open'] });
}

