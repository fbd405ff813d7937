// `scratchyard inspect` and `scratchyard diff`: any image (ours, docker save,
// podman save, an OCI layout) or a project's build, seen as the app's
// inspector sees it (host/inspect.ts does the adapting, engine/inspect the
// analysis). stdout carries the report; --ci makes thresholds an exit code,
// as dive's CI mode does.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { ImageAnalysis } from '../../shared/contract';
import { bytes, parseBytes } from '../../shared/units';
import { compareTrees, fileListDiff, openImage } from '../engine/inspect';
import type { Tree } from '../engine/model/tree';
import type { RegistryOptions } from '../engine/oci/transport';
import { BlobStore } from '../engine/store/blobs';
import { defaultCacheDir } from '../engine/store/cache';
import { analysis, imageAnalysis, shownOfBuild, shownOfImage, type Shown } from '../host/inspect';
import { inspectImageFile } from '../engine/inspect/flat';
import { Progress } from './progress';
import { UsageError, parse } from './args';
import { imageTarget, readingTarget } from './images';
import { REGISTRY_ARGS, registryOptions } from './registry-flags';
import { INSPECT_USAGE } from './usage';

/** inspect's figures: an image's from its layers' tar headers alone (no trees, nothing stored), a project's from its build. */
async function figuresOf(target: string, cacheDir: string, ropts: RegistryOptions): Promise<ImageAnalysis> {
  const image = await imageTarget(target, cacheDir, ropts, (line) => process.stderr.write(`${line}\n`));
  if (image) {
    const figures = imageAnalysis(image.label, await readingTarget(image, cacheDir, () => inspectImageFile(image.path, image.tag !== undefined ? { tag: image.tag } : {})));
    // Nothing of an image file is stored, but the command's code cache is kept in the cache folder, as every other command's.
    await mkdir(cacheDir, { recursive: true }).catch(() => undefined);
    return figures;
  }
  return analysis(await show(target, cacheDir, false, new Progress(process.stderr), ropts));
}

/** What a target shows: an image read from disk, or the project built (cached) into states. */
async function show(target: string, cacheDir: string, contents: boolean, progress: Progress, ropts: RegistryOptions): Promise<Shown> {
  const image = await imageTarget(target, cacheDir, ropts, (line) => process.stderr.write(`${line}\n`));
  if (image) {
    const store = new BlobStore(cacheDir);
    await store.open();
    try {
      return shownOfImage(image.label, await readingTarget(image, cacheDir, () => openImage(store, image.path, { contents, ...(image.tag !== undefined ? { tag: image.tag } : {}) })), store);
    } finally {
      await store.close();
    }
  }
  if (!existsSync(target)) throw new Error(`${target}: no such image or project`);
  // Only a project target pays for loading the build engine.
  const { build } = await import('../engine/entry/build');
  // The registry flags reach the project's base image, as they do in build.
  const r = await build({ project: target, cacheDir, formats: [], onEvent: (e) => progress.event(e), registry: ropts, signal: ropts.signal });
  progress.finish();
  return shownOfBuild(r);
}

// ---------------------------------------------------------------- inspect

interface Threshold {
  name: string;
  value: number;
  limit: number;
  pass: boolean;
  shown: string;
}

/** A ratio option: a number in [0, 1], or "disabled". */
function ratio(name: string, text: string | undefined, dflt: number | null): number | null {
  if (text === undefined) return dflt;
  if (text === 'disabled') return null;
  const n = Number(text);
  if (!(text.trim() !== '' && n >= 0 && n <= 1)) throw new UsageError(`--${name}: expected a ratio from 0 to 1 (as dive takes it: 0.9 is 90 %) or "disabled", got "${text}"`);
  return n;
}

/** A byte option: "20MB", "1 MiB", "300", or "disabled". */
function size(name: string, text: string | undefined): number | null {
  if (text === undefined || text === 'disabled') return null;
  const n = parseBytes(text);
  if (n === undefined) throw new UsageError(`--${name}: expected a size such as 20MB, 512KiB or 300, or "disabled", got "${text}"`);
  return n;
}

const pct = (r: number) => `${(r * 100).toFixed(1)} %`;
/** "9.8 KiB (10000 B)": the rounded size, and the exact count a threshold compares. */
const exact = (n: number) => (n < 1024 ? `${n} B` : `${bytes(n)} (${n} B)`);

/** wasted / bytes of every layer above the first: the waste the image's own layers add (dive's "user" figure). */
export function userWastedRatio(a: ImageAnalysis, wasted: number): number {
  const user = a.layers.slice(1).reduce((n, l) => n + l.bytes, 0);
  return user === 0 ? 0 : wasted / user;
}

export async function cmdInspect(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, {
    json: { type: 'boolean' },
    ci: { type: 'boolean' },
    dive: { type: 'boolean' },
    'lowest-efficiency': { type: 'string' },
    'highest-wasted-bytes': { type: 'string' },
    'highest-user-wasted-percent': { type: 'string' },
    ...REGISTRY_ARGS,
  });
  if (values.help) {
    process.stdout.write(`usage: scratchyard ${INSPECT_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected one project or image, got ${positionals.join(' ')}`);
  // Parse thresholds before the (possibly long) read, so a typo fails at once.
  const limits = {
    efficiency: ratio('lowest-efficiency', values['lowest-efficiency'], 0.9),
    wasted: size('highest-wasted-bytes', values['highest-wasted-bytes']),
    user: ratio('highest-user-wasted-percent', values['highest-user-wasted-percent'], 0.1),
  };
  const a = await figuresOf(positionals[0] ?? '.', values.cache ?? defaultCacheDir(), { ...registryOptions(values), signal });
  const figures = values.dive
    ? { efficiency: a.dive.efficiency, wasted: a.dive.wastedBytes, user: a.dive.userWastedPercent, whose: "dive's" }
    : { efficiency: a.efficiency, wasted: a.wasted.bytes, user: userWastedRatio(a, a.wasted.bytes), whose: 'our' };
  const checks: Threshold[] = [];
  if (values.ci) {
    if (limits.efficiency !== null) checks.push({ name: 'lowest efficiency', value: figures.efficiency, limit: limits.efficiency, pass: figures.efficiency >= limits.efficiency, shown: `${pct(figures.efficiency)}, lowest allowed ${pct(limits.efficiency)}` });
    if (limits.wasted !== null) checks.push({ name: 'highest wasted bytes', value: figures.wasted, limit: limits.wasted, pass: figures.wasted <= limits.wasted, shown: `${exact(figures.wasted)}, highest allowed ${exact(limits.wasted)}` });
    if (limits.user !== null) checks.push({ name: 'highest user wasted percent', value: figures.user, limit: limits.user, pass: figures.user <= limits.user, shown: `${pct(figures.user)}, highest allowed ${pct(limits.user)}` });
  }
  const failed = checks.filter((c) => !c.pass);
  if (values.json) {
    const ci = values.ci ? { figures: values.dive ? 'dive' : 'ours', pass: failed.length === 0, checks: checks.map(({ name, value, limit, pass }) => ({ name, value, limit, pass })) } : undefined;
    process.stdout.write(JSON.stringify({ ...a, userWastedPercent: userWastedRatio(a, a.wasted.bytes), ...(ci ? { ci } : {}) }, null, 2) + '\n');
  } else {
    process.stdout.write(inspectReport(a));
    if (values.ci) {
      process.stdout.write(`\nCI (${figures.whose} figures):\n`);
      for (const c of checks) process.stdout.write(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.shown}\n`);
      if (!checks.length) process.stdout.write('  every threshold is disabled\n');
      process.stdout.write(`result: ${failed.length ? 'FAIL' : 'PASS'} (${checks.length - failed.length} passed, ${failed.length} failed)\n`);
    }
  }
  for (const c of failed) process.stderr.write(`scratchyard: ${c.name} failed: ${c.shown}\n`);
  return failed.length ? 1 : 0;
}

const WASTE_LINES = 20;

/** The text report: one row per layer, totals, our waste and dive's, the largest wasteful paths. */
export function inspectReport(a: ImageAnalysis): string {
  const rows = a.layers.map((l) => [label(l.name), l.digest.replace(/^(sha256:)?([0-9a-f]{12}).*/, 'sha256:$2'), bytes(l.bytes), String(l.files), oneLine(l.command ?? '')]);
  const head = ['layer', 'digest', 'size', 'files', 'command'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 2 || i === 3 ? c.padStart(w[i]) : i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ').trimEnd() + '\n';
  let out = `${a.subject}\n` + line(head) + rows.map(line).join('');
  out += `\nstored:      ${bytes(a.stored)} in ${a.layers.length} layer${a.layers.length === 1 ? '' : 's'}\n`;
  out += `final:       ${bytes(a.final)}, ${a.files} entries\n`;
  out += `wasted:      ${exact(a.wasted.bytes)} in ${a.wasted.paths.length + a.wasted.more} stored cop${a.wasted.paths.length + a.wasted.more === 1 ? 'y' : 'ies'} the final filesystem never shows\n`;
  out += `efficiency:  ${pct(a.efficiency)}\n`;
  out += `dive's count (every copy of a path stored more than once, the surviving one too): wasted ${exact(a.dive.wastedBytes)}, efficiency ${pct(a.dive.efficiency)}, user wasted ${pct(a.dive.userWastedPercent)}\n`;
  if (a.wasted.paths.length) {
    out += '\nwasteful paths, largest first:\n';
    for (const p of a.wasted.paths.slice(0, WASTE_LINES)) out += `  ${bytes(p.bytes).padStart(9)}  ${p.path}  stored by layer ${label(p.storedIn)}, ${p.how} by layer ${label(p.hiddenBy)}\n`;
    const more = a.wasted.paths.length - WASTE_LINES + a.wasted.more;
    if (more > 0) out += `  … and ${more} more (--json lists up to 500)\n`;
  }
  return out;
}

/** An opened image's layers are named "N sha256:…": the number alone is enough beside the digest column. */
const label = (name: string) => (/^\d+ sha256:/.test(name) ? name.slice(0, name.indexOf(' ')) : name);

const oneLine = (s: string) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 80 ? t.slice(0, 79) + '…' : t;
};

// ---------------------------------------------------------------- diff

/** "path#layer" when path is not itself there; a layer by name (projects), index or digest prefix. */
async function side(spec: string, cacheDir: string, progress: Progress, ropts: RegistryOptions): Promise<{ label: string; tree: Tree }> {
  let target = spec;
  let layer: string | undefined;
  const hash = spec.lastIndexOf('#');
  if (!existsSync(spec) && hash > 0) [target, layer] = [spec.slice(0, hash), spec.slice(hash + 1)];
  const s = await show(target, cacheDir, true, progress, ropts);
  if (layer === undefined) return { label: spec, tree: s.states[s.states.length - 1] };
  const i = pickLayer(s, layer);
  if (i === -1) throw new UsageError(`${spec}: no layer "${layer}" (layers: ${s.names.join(', ')}; or a number from 1 or a digest prefix)`);
  return { label: spec, tree: s.states[i] };
}

/** By name, by number from 1 (as inspect numbers an image's layers), or by digest prefix. */
function pickLayer(s: Shown, layer: string): number {
  const byName = s.names.indexOf(layer);
  if (byName !== -1) return byName;
  if (/^\d+$/.test(layer)) return Number(layer) >= 1 && Number(layer) <= s.states.length ? Number(layer) - 1 : -1;
  const hex = layer.replace(/^sha256:/, '');
  return hex.length >= 4 ? s.digests.findIndex((d) => d.replace(/^sha256:/, '').startsWith(hex)) : -1;
}

export async function cmdDiff(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, { filelist: { type: 'boolean' }, json: { type: 'boolean' }, 'exit-code': { type: 'boolean' }, ...REGISTRY_ARGS });
  if (values.help) {
    process.stdout.write(`usage: scratchyard ${INSPECT_USAGE.slice(INSPECT_USAGE.indexOf('diff A B'))}\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`diff: expected two images or projects, got ${positionals.length}`);
  const cacheDir = values.cache ?? defaultCacheDir();
  const progress = new Progress(process.stderr);
  const ropts = { ...registryOptions(values), signal };
  const a = await side(positionals[0], cacheDir, progress, ropts);
  const b = await side(positionals[1], cacheDir, progress, ropts);
  const changes = compareTrees(a.tree, b.tree);
  if (values.filelist) process.stdout.write(fileListDiff(a.tree, b.tree, [a.label, b.label]));
  else if (values.json) process.stdout.write(JSON.stringify({ a: a.label, b: b.label, changes }, null, 2) + '\n');
  else {
    const mark = { added: 'A', removed: 'D', changed: 'M' } as const;
    for (const c of changes) {
      const type = (b.tree.get(c.path as never) ?? a.tree.get(c.path as never))?.type;
      const sz = type !== 'file' ? '' : c.change === 'changed' ? `  ${c.before} → ${c.after} B` : `  ${c.after ?? c.before} B`;
      process.stdout.write(`${mark[c.change]}  ${c.path}${type === 'dir' ? '/' : ''}${sz}\n`);
    }
  }
  const count = (k: string) => changes.filter((c) => c.change === k).length;
  process.stderr.write(`${a.label} → ${b.label}: ${count('added')} added, ${count('removed')} removed, ${count('changed')} changed\n`);
  return values['exit-code'] && changes.length ? 1 : 0;
}
