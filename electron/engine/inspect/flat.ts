// Read-only inspection at tar's speed (issue 17): an image's layers as flat
// entries — a kind and a size per entry in typed arrays, paths mapped to entry
// numbers — built from tar headers alone, with the same rules as the trees of
// oci/tar-import.ts and model/apply.ts (folders made for missing parents, a
// non-folder replacing a folder's subtree, hard links only to earlier files,
// nothing under a symlink, whiteouts and opaque markers), and with our figures
// and dive's worked out in the same walk: dive's per layer against the state
// under it as that layer is applied, ours once the final state is known.
// analyze.ts computes the same figures from trees (the app's path); the two
// agree to the byte (test/engine/inspect-flat.test.ts).
import type { Sha256 } from '../../../shared/brand';
import { removed, type PathForm } from '../model/apply';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../model/diff';
import { TreeConflictError } from '../model/tree';
import { scanImageHeaders } from '../oci/read';
import type { HeaderRecord } from '../oci/tar-headers';
import { TarError } from '../oci/tar';
import type { DiveFigures, ImageAnalysis, LayerFigures, WastedPath } from './analyze';
import { layerCommands } from './open';

const FILE = 1;
const DIR = 2;
const SYMLINK = 3;
const KINDS: Record<string, number> = { file: FILE, dir: DIR, symlink: SYMLINK, char: 4, block: 5, fifo: 6 };
const KIND_NAMES = ['', 'file', 'dir', 'symlink', 'char', 'block', 'fifo'];
/** Entry 0: every folder made for a missing parent (identity matters only for files). */
const MADE_DIR = 0;

/**
 * name -> entry number. Names are the tar's clean relative names ("" is the
 * root): an image path without its leading "/", so each entry costs one
 * string, the one its header was decoded into.
 */
type FlatTree = Map<string, number>;
const ROOT = '';

const parentName = (p: string): string => p.slice(0, Math.max(0, p.lastIndexOf('/')));
const TAR_NAMES: PathForm<string> = { root: ROOT, parent: parentName };

/** Every folder above p, nearest to the root first, the root and p left out (model/path.ts ancestors). */
function ancestorNames(p: string): string[] {
  const out: string[] = [];
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) out.push(p.slice(0, i));
  return out;
}

/** model/diff.ts whiteoutName and opaqueName, on names. */
const whiteoutOf = (p: string) => p.slice(0, p.lastIndexOf('/') + 1) + WHITEOUT_PREFIX + p.slice(p.lastIndexOf('/') + 1);
const opaqueIn = (d: string) => `${d}/${OPAQUE_MARKER}`;
/** The path a whiteout named p removes ("" for ".wh." at the root). */
const whitedOut = (p: string, cut: number) => p.slice(0, cut + 1) + p.slice(cut + 1 + WHITEOUT_PREFIX.length);
/** The image path a person reads. */
const imagePathOf = (p: string) => `/${p}`;

/** A layer's own entries as its tar makes them, and what the walk needs to know of them. */
class Layer {
  readonly own: FlatTree = new Map();
  /** Paths named .wh.* (possibly removed again since: check own). */
  readonly whiteouts = new Set<string>();
  /** Holds hard links (so paths may share an inode). */
  links = false;
}

/** An entry with a child other than an opaque marker in its layer: a folder dive does not count as a leaf. */
const HAS_CHILD = 1;

/** Every entry of every layer: kind and size by number; the rare link keys and symlink targets aside. */
class Entries {
  kind = new Uint8Array(1 << 12);
  size = new Float64Array(1 << 12);
  flags = new Uint8Array(1 << 12);
  count = 1;
  /** Hard-link group key (the first path of the inode), as tar-import's Entry.link. */
  readonly link = new Map<number, string>();
  /** Symlink targets, for the message of a conflict. */
  readonly target = new Map<number, string>();

  constructor() {
    this.kind[MADE_DIR] = DIR;
  }

  add(kind: number, size: number): number {
    if (this.count === this.kind.length) {
      // By half again, not double: at a million entries the slack is what the peak is made of.
      const n = Math.ceil(this.count * 1.5);
      const grow = <T extends Uint8Array | Float64Array>(a: T, b: T): T => (b.set(a), b);
      this.kind = grow(this.kind, new Uint8Array(n));
      this.size = grow(this.size, new Float64Array(n));
      this.flags = grow(this.flags, new Uint8Array(n));
    }
    this.kind[this.count] = kind;
    this.size[this.count] = size;
    return this.count++;
  }

  /** The size dive reads from a tar header: a file's, 0 for a hard link after its first path. */
  headerSize(p: string, id: number): number {
    if (this.kind[id] !== FILE) return 0;
    const key = this.link.size ? this.link.get(id) : undefined;
    return key === undefined || key === p ? this.size[id] : 0;
  }

  /** Put the entry at p, as model/tree.ts putEntry: a non-folder over a folder takes its subtree with it. */
  replace(tree: FlatTree, p: string, id: number): number | undefined {
    const old = tree.get(p);
    if (old !== undefined && this.kind[old] === DIR && this.kind[id] !== DIR) {
      tree.delete(p);
      const under = p + '/';
      for (const q of tree.keys()) if (q.startsWith(under)) tree.delete(q);
    }
    tree.set(p, id);
    return old;
  }

  /** model/tree.ts contentBytes: file bytes, a hard-linked inode once. */
  contentBytes(tree: FlatTree): number {
    let n = 0;
    const seen = new Set<string>();
    for (const id of tree.values()) {
      if (this.kind[id] !== FILE) continue;
      const key = this.link.size ? this.link.get(id) : undefined;
      if (key !== undefined) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      n += this.size[id];
    }
    return n;
  }
}

/** Is the name of p (its last "/" at cut) a whiteout, or the opaque marker? */
const isWhiteoutAt = (p: string, cut: number) => p.startsWith(WHITEOUT_PREFIX, cut + 1);
const isOpaqueAt = (p: string, cut: number) => p.length === cut + 1 + OPAQUE_MARKER.length && p.startsWith(OPAQUE_MARKER, cut + 1);

/** dive's tally of one path over every layer: total and smallest occurrence, and how many. */
class Occurrences {
  private readonly slot = new Map<string, number>();
  private cum: number[] = [];
  private min: number[] = [];
  private count: number[] = [];

  /** The sum of occurrences kept out of the map: each its path's only one so far (its min and its total alike). */
  single = 0;

  has(path: string): boolean {
    return this.slot.has(path);
  }

  add(path: string, size: number): void {
    const s = this.slot.get(path);
    if (s === undefined) {
      this.slot.set(path, this.cum.length);
      this.cum.push(size);
      this.min.push(size);
      this.count.push(1);
    } else {
      this.cum[s] += size;
      if (size < this.min[s]) this.min[s] = size;
      this.count[s]++;
    }
  }

  figures(userBytes: number): DiveFigures {
    let min = this.single;
    let cum = this.single;
    let wastedBytes = 0;
    for (let s = 0; s < this.cum.length; s++) {
      min += this.min[s];
      cum += this.cum[s];
      if (this.count[s] > 1) wastedBytes += this.cum[s];
    }
    return { wastedBytes, efficiency: cum === 0 ? 1 : min / cum, userWastedPercent: userBytes === 0 ? 0 : wastedBytes / userBytes };
  }
}

/** The image being read: its layers' own entries, the state they make, dive's tally. */
class FlatImage {
  readonly e = new Entries();
  readonly layers: Layer[] = [];
  readonly state: FlatTree = new Map([[ROOT, MADE_DIR]]);
  readonly dive = new Occurrences();
  /** The folder of the last entry put in a layer: a tar lists a folder's entries together, so its look-up is reused. */
  private lastDir = ROOT;

  /** One header of the layer being read, as tar-import's TreeBuilder takes it. */
  entry(layer: Layer, h: HeaderRecord): void {
    const p = h.name;
    let id: number;
    if (h.type === 'link') {
      const target = h.linkname;
      const t = layer.own.get(target);
      if (t === undefined || this.e.kind[t] !== FILE) throw new TarError(`hard link "${h.name}" points to "${h.linkname}", which is not a file earlier in the archive`);
      let key = this.e.link.get(t);
      if (key === undefined) this.e.link.set(t, (key = target));
      id = this.e.add(FILE, this.e.size[t]);
      this.e.link.set(id, key);
      layer.links = true;
    } else {
      const kind = KINDS[h.type];
      if (kind === undefined) return; // GNU sparse, volume labels…: no place in a rootfs
      id = this.e.add(kind, kind === FILE ? h.size : 0);
      if (kind === SYMLINK) this.e.target.set(id, h.linkname);
    }
    if (p === ROOT) {
      if (this.e.kind[id] === DIR) this.e.replace(layer.own, p, id);
      return;
    }
    try {
      this.putOwn(layer, p, id);
    } catch (err) {
      if (err instanceof TreeConflictError) throw new TarError(`entry "${h.name}": ${err.message}`);
      throw err;
    }
  }

  /** model/tree.ts putEntry into a layer's own entries, marking the parent as having a child. */
  private putOwn(layer: Layer, p: string, id: number): void {
    const own = layer.own;
    const cut = p.lastIndexOf('/');
    const dir = cut === -1 ? ROOT : cut === this.lastDir.length && p.startsWith(this.lastDir) ? this.lastDir : p.slice(0, cut);
    let parent = own.get(dir);
    if (parent === undefined || this.e.kind[parent] !== DIR) {
      this.ensureFolders(own, p, true);
      parent = own.get(dir);
    }
    this.lastDir = dir;
    const old = this.e.replace(own, p, id);
    // A folder over a folder keeps what is under it.
    if (old !== undefined && this.e.kind[old] === DIR && this.e.kind[id] === DIR) this.e.flags[id] |= this.e.flags[old] & HAS_CHILD;
    if (parent !== undefined && !isOpaqueAt(p, cut)) this.e.flags[parent] |= HAS_CHILD;
    if (isWhiteoutAt(p, cut)) layer.whiteouts.add(p);
  }

  /** Missing folders above p made (each a new entry), or a conflict when one is not a folder; `mark`: a layer's own, whose folders learn they have a child. */
  private ensureFolders(tree: FlatTree, p: string, mark: boolean): void {
    let above = tree.get(ROOT);
    for (const a of ancestorNames(p)) {
      let e = tree.get(a);
      if (e === undefined) tree.set(a, (e = this.e.add(DIR, 0)));
      else if (this.e.kind[e] !== DIR) {
        const type = KIND_NAMES[this.e.kind[e]];
        throw new TreeConflictError(`cannot create ${imagePathOf(p)}: ${imagePathOf(a)} is a ${type}${type === 'symlink' ? ` (-> ${this.e.target.get(e)})` : ''}, not a directory`);
      }
      if (mark && above !== undefined) this.e.flags[above] |= HAS_CHILD;
      above = e;
    }
  }

  /**
   * The layer read and verified: dive's occurrences against the state under
   * it, then model/apply.ts's applyLayer. In a layer's own order a folder
   * comes before what it holds (a path's parent exists when it is put, and
   * leaves only with it), so putting the entries in that order makes the
   * state applyLayer's sorted order makes, with no sort and no parent checks
   * (but below a folder named .wh.*, which is not put).
   */
  apply(layer: Layer): void {
    this.tallyDive(layer);
    const gone = new Set<string>();
    const emptied = new Set<string>();
    for (const p of layer.whiteouts) {
      if (!layer.own.has(p)) continue;
      const cut = p.lastIndexOf('/');
      if (isOpaqueAt(p, cut)) emptied.add(parentName(p));
      else gone.add(whitedOut(p, cut));
    }
    if (gone.size || emptied.size) {
      for (const q of [...this.state.keys()]) if (removed(q, gone, emptied, TAR_NAMES)) this.state.delete(q);
    }
    for (const [p, id] of layer.own) {
      const cut = p.lastIndexOf('/');
      if (isWhiteoutAt(p, cut)) continue;
      // Under a folder with a whiteout's name (never put itself), the folders are made as putEntry makes them.
      if (cut > 0 && (p.startsWith(WHITEOUT_PREFIX) || p.lastIndexOf(`/${WHITEOUT_PREFIX}`, cut - 1) !== -1)) this.ensureFolders(this.state, p, false);
      this.e.replace(this.state, p, id);
    }
    this.layers.push(layer);
  }

  /** dive's occurrences of one layer: its leaves, a whiteout sized by the bytes it removes from the state under it. */
  private tallyDive(layer: Layer): void {
    const first = this.layers.length === 0;
    // The first layer's occurrences stay out of dive's map until a second occurrence of their path turns up.
    const tally = first && !layer.whiteouts.size ? (_: string, size: number) => (this.dive.single += size) : (path: string, size: number) => this.occurrence(path, size, first ? layer.own : undefined);
    let under: Map<string, number> | undefined;
    for (const [p, id] of layer.own) {
      if (p === ROOT || this.e.flags[id] & HAS_CHILD) continue;
      const cut = p.lastIndexOf('/');
      if (!isWhiteoutAt(p, cut)) {
        tally(p, this.e.headerSize(p, id));
        continue;
      }
      if (isOpaqueAt(p, cut)) continue;
      const path = whitedOut(p, cut);
      const below = this.state.get(path);
      let size = 0;
      if (below !== undefined && this.e.kind[below] === DIR) size = (under ??= this.subtreeSizes()).get(path) ?? 0;
      tally(path, size);
    }
  }

  /**
   * One occurrence of a path for dive. `first`: the first layer's own entries
   * while it is tallied (an occurrence goes to the map only when the layer
   * holds the path twice: itself and its whiteout). Above it, a path new to
   * the map takes its first layer's occurrence out of the single sum first.
   */
  private occurrence(path: string, size: number, first: FlatTree | undefined): void {
    if (first) {
      if (this.firstLayerSizes(path, first).length === 2) this.dive.add(path, size);
      else this.dive.single += size;
      return;
    }
    if (!this.dive.has(path)) {
      const before = this.firstLayerSizes(path, this.layers[0].own);
      if (before.length === 1) {
        this.dive.single -= before[0];
        this.dive.add(path, before[0]);
      }
    }
    this.dive.add(path, size);
  }

  /** The sizes dive counted for path in the first layer: its own leaf, its whiteout (0: nothing lies under the first layer). */
  private firstLayerSizes(path: string, own: FlatTree): number[] {
    const out: number[] = [];
    const id = own.get(path);
    if (id !== undefined && this.isLeaf(path, id) && !isWhiteoutAt(path, path.lastIndexOf('/'))) out.push(this.e.headerSize(path, id));
    const w = whiteoutOf(path);
    const wid = own.get(w);
    if (wid !== undefined && this.isLeaf(w, wid)) out.push(0);
    return out;
  }

  /** Does dive count p (entry id) of a layer: not the root, no child, not an opaque marker. */
  private isLeaf(p: string, id: number): boolean {
    return p !== ROOT && !(this.e.flags[id] & HAS_CHILD) && !isOpaqueAt(p, p.lastIndexOf('/'));
  }

  /** Header bytes under each folder of the state. */
  private subtreeSizes(): Map<string, number> {
    const sums = new Map<string, number>();
    for (const [q, id] of this.state) {
      const size = this.e.headerSize(q, id);
      if (size === 0 || q === ROOT) continue;
      for (let d = parentName(q); ; d = parentName(d)) {
        sums.set(d, (sums.get(d) ?? 0) + size);
        if (d === ROOT) break;
      }
    }
    return sums;
  }

  analysis(digests: readonly string[], commands: readonly (string | undefined)[]): ImageAnalysis {
    const layers: LayerFigures[] = this.layers.map(({ own }, index) => ({
      index,
      digest: digests[index],
      bytes: this.e.contentBytes(own),
      files: own.size - (own.has(ROOT) ? 1 : 0),
      ...(commands[index] !== undefined ? { command: commands[index] } : {}),
    }));
    const stored = layers.reduce((n, f) => n + f.bytes, 0);
    const paths = this.wastedPaths();
    const wastedBytes = paths.reduce((n, w) => n + w.bytes, 0);
    return {
      layers,
      stored,
      final: this.e.contentBytes(this.state),
      files: this.state.size - 1,
      wasted: { bytes: wastedBytes, paths },
      efficiency: stored === 0 ? 1 : 1 - wastedBytes / stored,
      dive: this.dive.figures(layers.slice(1).reduce((n, f) => n + f.bytes, 0)),
    };
  }

  /**
   * analyze.ts's wasted copies: an inode a layer stores that no path of it
   * shows in the final state. A path shows layer i's copy exactly when the
   * final state still holds layer i's entry for it (no layer above wrote it,
   * nothing removed it), so the state's entry numbers answer without a map
   * of last writers.
   */
  private wastedPaths(): WastedPath[] {
    const out: WastedPath[] = [];
    this.layers.forEach(({ own, links }, i) => {
      const groups = new Map<string, { paths: string[]; size: number; visible: boolean }>();
      const wasted = (p: string, size: number) => {
        const hid = this.hider(i, p);
        out.push({ path: imagePathOf(p), bytes: size, storedIn: i, hiddenBy: hid.layer, how: hid.how });
      };
      // A group per stored inode, keyed by its link key or its path (analyze.ts's grouping). A
      // path can share its key with a link group only when the layer has hard links: without
      // any, each file is its own group and needs no map.
      for (const [p, id] of own) {
        if (this.e.kind[id] !== FILE || isWhiteoutAt(p, p.lastIndexOf('/'))) continue;
        const visible = this.state.get(p) === id;
        if (!links) {
          if (!visible && this.e.size[id] !== 0) wasted(p, this.e.size[id]);
          continue;
        }
        const key = this.e.link.get(id) ?? p;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { paths: [], size: this.e.size[id], visible: false }));
        g.paths.push(p);
        g.visible ||= visible;
      }
      for (const g of groups.values()) if (!g.visible && g.size !== 0) wasted(g.paths.sort()[0], g.size);
    });
    return out.sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : a.storedIn - b.storedIn));
  }

  /** The first layer above `i` that hides path p, and how (analyze.ts's hider, on entry numbers). */
  private hider(i: number, p: string): { layer: number; how: WastedPath['how'] } {
    const above = ancestorNames(p);
    for (let j = i + 1; j < this.layers.length; j++) {
      const t = this.layers[j].own;
      for (const a of above) {
        if (t.has(whiteoutOf(a)) || t.has(opaqueIn(a))) return { layer: j, how: 'removed' };
        const e = t.get(a);
        if (e !== undefined && this.e.kind[e] !== DIR) return { layer: j, how: 'overwritten' };
      }
      if (t.has(whiteoutOf(p))) return { layer: j, how: 'removed' };
      if (t.has(p)) return { layer: j, how: 'overwritten' };
    }
    return { layer: -1, how: 'removed' };
  }
}

export interface InspectedImage {
  layers: { digest: Sha256; command?: string }[];
  analysis: ImageAnalysis;
}

/**
 * An image file or folder's figures from its layers' tar headers, every
 * layer's bytes hashed in the same pass and checked against its digests.
 * Errors are readImage's, word for word.
 */
export async function inspectImageFile(file: string, opts: { tag?: string } = {}): Promise<InspectedImage> {
  const img = new FlatImage();
  const { config, digests } = await scanImageHeaders(file, opts, () => {
    const layer = new Layer();
    return { entry: (h) => img.entry(layer, h), end: () => img.apply(layer) };
  });
  const commands = layerCommands(config, digests.length);
  return {
    layers: digests.map((digest, i) => ({ digest, ...(commands[i] !== undefined ? { command: commands[i] } : {}) })),
    analysis: img.analysis(digests, commands),
  };
}
