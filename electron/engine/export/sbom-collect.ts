// What is in an image, for its SBOM: the Debian packages of its dpkg database
// and status.d/ (untrusted: read with caps, parsed by the bounded parsers of
// model/dpkg), their licences, the layer holding each; and for a built image,
// which recipe source brought each path, host files grouped under the host
// package that ships them, and the other files with their digests.
import { promises as fs } from 'node:fs';
import type { ImagePath, Sha256 } from '../../../shared/brand';
import { imageReference, type Recipe } from '../../../shared/recipe';
import { debPackage, dep5Licenses, parseParagraphs, type DebPackage } from '../model/dpkg';
import { entryId } from '../model/filelist';
import { imagePath, isUnder } from '../model/path';
import { packageKey, type Sbom, type SbomFile, type SbomLayer, type SbomPackage, type SourceRef } from '../model/sbom';
import type { Entry, Tree } from '../model/tree';
import type { BlobStore } from '../store/blobs';
import { hostFilesByPackage } from '../sources/host-packages';
import { sbomCreated } from './sbom-files';
import { Sha1Cache, type Sha1Want } from './sbom-sha1';

/** Caps on what is read from an image: a hostile dpkg database is refused past these, not read. */
export const SBOM_LIMITS = {
  status: 32 << 20,
  statusD: 1 << 20,
  statusDFiles: 20_000,
  copyright: 1 << 20,
  osRelease: 64 << 10,
  /** Files described one by one: each costs some kilobytes in the two documents' making (400k took 1.3 GB). */
  files: 50_000,
};

export interface SbomInput {
  name: string;
  reference: string;
  manifestDigest?: Sha256;
  architecture: string;
  created: string;
  layers: SbomLayer[];
  /** State after each layer, bottom first. */
  states: Tree[];
  /** A built image: the source that put each path. */
  brought?: Map<ImagePath, SourceRef>;
  store: BlobStore;
}

const STATUS = imagePath('/var/lib/dpkg/status');
const STATUS_D = '/var/lib/dpkg/status.d';
/** Kinds whose files are listed one by one (a Debian base's or a run step's files are its packages'). */
const FILE_KINDS = new Set(['tarball', 'copy', 'file', 'users', 'host', 'libs', 'busybox']);
const HOST_KINDS = new Set(['host', 'libs', 'busybox']);

/** What the graph of a build knows, as the SBOM's input: `build --sbom`, `scratchyard sbom PROJECT` and the app's Packages view read it alike. */
export function builtSbomInput(b: {
  recipe: Recipe;
  manifestDigest: Sha256;
  layers: { name: string; digest: Sha256; diffId?: Sha256 }[];
  states: Tree[];
  brought: Map<ImagePath, SourceRef>;
  store: BlobStore;
}): SbomInput {
  return {
    name: b.recipe.name,
    reference: imageReference(b.recipe).full,
    manifestDigest: b.manifestDigest,
    architecture: b.recipe.architecture,
    created: sbomCreated(b.recipe.epoch),
    layers: b.layers.map((l, index) => ({ index, name: l.name, digest: l.digest, ...(l.diffId ? { diffId: l.diffId } : {}) })),
    states: b.states,
    brought: b.brought,
    store: b.store,
  };
}

/**
 * Any image read from a file or folder, as the SBOM's input: `scratchyard sbom IMAGE` and
 * the app's Packages view of an opened image. The config is the image's own: only
 * well-formed architecture and created values are taken from it.
 */
export function openedSbomInput(img: { layers: { digest: Sha256 }[]; states: Tree[]; config?: unknown }, name: string, reference: string, store: BlobStore): SbomInput {
  const config = (img.config && typeof img.config === 'object' ? img.config : {}) as Record<string, unknown>;
  const arch = config.architecture;
  return {
    name,
    reference,
    architecture: typeof arch === 'string' && arch.length <= 64 && /^[\w.:+-]+$/.test(arch) ? arch : 'unknown',
    created: validTime(config.created) ?? new Date(0).toISOString().replace('.000Z', 'Z'),
    layers: img.layers.map((l, index) => ({ index, name: String(index + 1), digest: l.digest })),
    states: img.states,
    store,
  };
}

function validTime(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length > 40 || !/^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)$/.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().replace('.000Z', 'Z');
}

export async function collectSbom(input: SbomInput): Promise<Sbom> {
  const { states, store } = input;
  const top = states[states.length - 1];
  const writer = (p: ImagePath): number | undefined => layerOf(states, p);
  const packages = new Map<string, SbomPackage>();

  const status = await readCapped(store, top, STATUS, SBOM_LIMITS.status, true);
  for (const p of status ? parseParagraphs(status) : []) {
    const deb = debPackage(p);
    if (!deb || packages.has(packageKey(deb))) continue;
    // deb.name and deb.architecture passed debPackage's grammar: these are clean paths.
    const at = [imagePath(`/var/lib/dpkg/info/${deb.name}:${deb.architecture}.list`), imagePath(`/var/lib/dpkg/info/${deb.name}.list`)].find((l) => top.has(l)) ?? STATUS;
    packages.set(packageKey(deb), await pkgOf(deb, 'dpkg-status', writer(at), input.brought?.get(at), input));
  }
  const statusD = [...top.keys()].filter((p) => isUnder(p, STATUS_D) && !p.slice(STATUS_D.length + 1).includes('/') && !p.endsWith('.md5sums')).sort();
  if (statusD.length > SBOM_LIMITS.statusDFiles) throw new SbomInputError(`${STATUS_D}: ${statusD.length} entries; at most ${SBOM_LIMITS.statusDFiles} are read`);
  for (const p of statusD) {
    const text = await readCapped(store, top, p, SBOM_LIMITS.statusD, true);
    const deb = text ? parseParagraphs(text).map(debPackage).find((d) => d) : undefined;
    if (!deb || packages.has(packageKey(deb))) continue;
    packages.set(packageKey(deb), await pkgOf(deb, 'status.d', writer(p), input.brought?.get(p), input));
  }

  const files: SbomFile[] = [];
  let hostOwned = false;
  const sha1s = new Sha1Cache(store, input.layers);
  if (input.brought) {
    const listed = [...input.brought].filter(([p, r]) => FILE_KINDS.has(r.kind) && top.get(p)?.type === 'file').sort(([a], [b]) => (a < b ? -1 : 1));
    if (listed.length > SBOM_LIMITS.files) throw new SbomInputError(`${listed.length} files to describe one by one; an SBOM lists at most ${SBOM_LIMITS.files} (build with --no-sbom, or sbom: false in the recipe)`);
    // Every listed file's sha1, read in tree order (the packs' order), before any file is described.
    const layers = new Map<ImagePath, number | undefined>(listed.map(([p]) => [p, layerOf(states, p)]));
    await sha1s.fill(inTreeOrder(top, layers));
    const owned = await hostFilesByPackage(
      listed.filter(([, r]) => HOST_KINDS.has(r.kind)).map(([p]) => [p, top.get(p)!] as [ImagePath, Entry]),
      store,
    );
    const inPackage = new Set<ImagePath>();
    hostOwned = owned.size > 0;
    for (const [host, paths] of owned) {
      let pkg = packages.get(packageKey(host));
      if (!pkg || pkg.version !== host.version) {
        const first = paths[0];
        pkg = await pkgOf(host, 'host-dpkg', writer(first), input.brought.get(first), input);
        packages.set(`${packageKey(host)}@host`, pkg);
      } else {
        // Found through the status.d entry the build wrote: the host source is what brought it, the host's copyright its licence.
        if (pkg.brought?.kind === 'status.d') pkg.brought = input.brought.get(paths[0]) ?? pkg.brought;
        if (!pkg.licenses.length) pkg.licenses = dep5Licenses((await hostCopyright(pkg.name)) ?? '') ?? [];
      }
      for (const p of paths) {
        pkg.files.push(fileOf(p, top.get(p)!, layers.get(p), input.brought.get(p), sha1s));
        inPackage.add(p);
      }
    }
    for (const [p, r] of listed) if (!inPackage.has(p)) files.push(fileOf(p, top.get(p)!, layers.get(p), r, sha1s));
  }
  await sha1s.save();

  // An image without its own os-release whose packages are this machine's: the machine's distribution names them.
  // Debian's /etc/os-release is a link to /usr/lib/os-release.
  const osRelease =
    (await readCapped(store, top, imagePath('/etc/os-release'), SBOM_LIMITS.osRelease)) ??
    (await readCapped(store, top, imagePath('/usr/lib/os-release'), SBOM_LIMITS.osRelease)) ??
    (hostOwned ? await fs.readFile('/etc/os-release', 'utf8').catch(() => undefined) : undefined);
  const id = /^ID="?([a-z0-9._-]+)"?$/m.exec(osRelease ?? '')?.[1];
  const version = /^VERSION_ID="?([a-z0-9._-]+)"?$/m.exec(osRelease ?? '')?.[1];
  return {
    name: input.name,
    reference: input.reference,
    ...(input.manifestDigest ? { manifestDigest: input.manifestDigest } : {}),
    architecture: input.architecture,
    created: input.created,
    ...(id && version ? { distro: `${id}-${version}` } : {}),
    layers: input.layers,
    packages: [...packages.values()].sort((a, b) => (packageKey(a) < packageKey(b) ? -1 : packageKey(a) > packageKey(b) ? 1 : a.version < b.version ? -1 : 1)),
    files,
  };
}

async function pkgOf(deb: DebPackage, foundIn: SbomPackage['foundIn'], layer: number | undefined, brought: SourceRef | undefined, input: SbomInput): Promise<SbomPackage> {
  // Host packages' copyright files are the host's (the image may not hold them).
  const copyright = foundIn === 'host-dpkg' ? await hostCopyright(deb.name) : await readCapped(input.store, input.states[input.states.length - 1], imagePath(`/usr/share/doc/${deb.name}/copyright`), SBOM_LIMITS.copyright);
  return {
    ...deb,
    licenses: (copyright && dep5Licenses(copyright)) || [],
    ...(layer !== undefined ? { layer } : {}),
    foundIn,
    files: [],
    ...(brought ? { brought } : {}),
  };
}

async function hostCopyright(name: string): Promise<string | undefined> {
  const file = `/usr/share/doc/${name}/copyright`;
  const st = await fs.stat(file).catch(() => undefined);
  if (!st?.isFile() || st.size > SBOM_LIMITS.copyright) return undefined;
  return fs.readFile(file, 'utf8').catch(() => undefined);
}

function fileOf(p: ImagePath, e: Entry, layer: number | undefined, brought: SourceRef | undefined, sha1s: Sha1Cache): SbomFile {
  // Members assigned rather than spread in (a copy of a literal each, for thousands of files); the same order.
  const f: SbomFile = { path: p, sha256: e.digest!, sha1: sha1s.sha1(e.digest!), size: e.size };
  if (layer !== undefined) f.layer = layer;
  if (brought) f.brought = brought;
  return f;
}

/** The contents of the files `layers` names, in the tree's order (an import's, which is its pack's). */
function inTreeOrder(top: Tree, layers: Map<ImagePath, number | undefined>): Sha1Want[] {
  const wanted: Sha1Want[] = [];
  for (const [p, e] of top) if (layers.has(p)) wanted.push({ digest: e.digest!, size: e.size, layer: layers.get(p) });
  return wanted;
}

/** The highest layer whose state differs from the one below at `p`: the layer an image's reader finds it in. */
function layerOf(states: Tree[], p: ImagePath): number | undefined {
  for (let i = states.length - 1; i >= 0; i--) {
    const here = states[i].get(p);
    const below = i > 0 ? states[i - 1].get(p) : undefined;
    if (here && (!below || (here !== below && entryId(here) !== entryId(below)))) return i;
  }
  return undefined;
}

/** An image's dpkg database that is not read (too big, too many entries), naming the file. */
export class SbomInputError extends Error {}

/**
 * A regular file's text when it is at most `cap` bytes; undefined when absent
 * or not a file; too big: undefined, or (`required`) an SbomInputError.
 */
async function readCapped(store: BlobStore, tree: Tree, p: ImagePath, cap: number, required = false): Promise<string | undefined> {
  const e = tree.get(p);
  if (e?.type !== 'file' || !e.digest) return undefined;
  if (e.size > cap) {
    if (required) throw new SbomInputError(`${p}: ${e.size} bytes; at most ${cap} are read`);
    return undefined;
  }
  return (await store.read(e.digest)).toString('utf8');
}
