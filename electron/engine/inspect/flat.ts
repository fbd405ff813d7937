// Read-only inspection at tar's speed (issue 17): an image's layers as flat
// entries — a kind and a size per entry in typed arrays, a layer's paths mapped
// to entry numbers, every path numbered once with its parent's number, the
// state an entry number per path number — built from tar headers alone, with
// the same rules as the trees of
// oci/tar-import.ts and model/apply.ts (folders made for missing parents, a
// non-folder replacing a folder's subtree, hard links only to earlier files,
// nothing under a symlink, whiteouts and opaque markers), and with our figures
// and dive's worked out in the same walk: dive's per layer against the state
// under it as that layer is applied, ours once the final state is known.
// analyze.ts computes the same figures from trees (the app's path); the two
// agree to the byte (test/engine/inspect-flat.test.ts).
import type { Sha256 } from '../../../shared/brand';
import { fileSystemPathProblem } from '../../../shared/grammar';
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


/** Every folder above p, nearest to the root first, the root and p left out (model/path.ts ancestors). */
function ancestorNames(p: string): string[] {
  const out: string[] = [];
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) out.push(p.slice(0, i));
  return out;
}

/** model/diff.ts whiteoutName and opaqueName, on names. */
const whiteoutOf = (p: string) => p.slice(0, p.lastIndexOf('/') + 1) + WHITEOUT_PREFIX + p.slice(p.lastIndexOf('/') + 1);
/** The path a whiteout named p removes ("" for ".wh." at the root). */
const whitedOut = (p: string, cut: number) => p.slice(0, cut + 1) + p.slice(cut + 1 + WHITEOUT_PREFIX.length);
/** The image path a person reads. */
const imagePathOf = (p: string) => `/${p}`;

/** A layer's own entries as its tar makes them, and what the walk needs to know of them. */
class Layer {
  readonly own: FlatTree = new Map();
  /** Paths named .wh.* put by the layer's entries (possibly removed again since: check own): what apply removes by. */
  readonly whiteouts = new Set<string>();
  /** Every path of the layer named .wh.*, folders made for a missing parent too (possibly removed again since): what dive and the hider count. */
  readonly named = new Set<string>();
  /** Holds hard links (so paths may share an inode). */
  links = false;
  /** Regular-file bytes stored, a hard-linked inode once (model/tree.ts contentBytes), once the layer is applied. */
  bytes = 0;
}

/** An entry with a child other than an opaque marker in its layer: a folder dive does not count as a leaf. */
const HAS_CHILD = 1;
/** A hard link at a path other than its group's key (the inode's first path): its header's size is 0. */
const LINK_COPY = 2;

/** Every entry of every layer: kind and size by number; the rare link keys and symlink targets aside. */
class Entries {
  kind = new Uint8Array(1 << 12);
  size = new Float64Array(1 << 12);
  flags = new Uint8Array(1 << 12);
  /** The path number of the entry (Paths), once put in a layer. */
  pathOf = new Int32Array(1 << 12);
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
      const grow = <T extends Uint8Array | Int32Array | Float64Array>(a: T, b: T): T => (b.set(a), b);
      this.kind = grow(this.kind, new Uint8Array(n));
      this.size = grow(this.size, new Float64Array(n));
      this.flags = grow(this.flags, new Uint8Array(n));
      this.pathOf = grow(this.pathOf, new Int32Array(n));
    }
    this.kind[this.count] = kind;
    this.size[this.count] = size;
    return this.count++;
  }

  /** The size dive reads from a tar header: a file's, 0 for a hard link after its first path. */
  headerSize(id: number): number {
    return this.kind[id] === FILE && !(this.flags[id] & LINK_COPY) ? this.size[id] : 0;
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

  /** model/tree.ts contentBytes of the entries given (negative numbers: none): file bytes, a hard-linked inode once. */
  contentBytes(ids: Int32Array): number {
    let n = 0;
    const seen = new Set<string>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 0 || this.kind[id] !== FILE) continue;
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

/**
 * Every path any layer holds, numbered once in the order the layers first
 * make them: a folder before what it holds (its parent is always in the layer
 * when a path is put), so a path's number is above its parent's. The state is
 * then an entry number per path, and walks up or down the tree are integer
 * steps: no parent name is ever built.
 */
class Paths {
  readonly number = new Map<string, number>([[ROOT, 0]]);
  parent = new Int32Array(1 << 12);
  count = 1;

  /** p's number, made (under `parent`'s) if p is new. */
  of(p: string, parent: number): number {
    let n = this.number.get(p);
    if (n !== undefined) return n;
    if (this.count === this.parent.length) {
      const grown = new Int32Array(Math.ceil(this.count * 1.5));
      grown.set(this.parent);
      this.parent = grown;
    }
    n = this.count++;
    this.parent[n] = parent;
    this.number.set(p, n);
    return n;
  }

  /** Is path d a folder above path q (a proper ancestor)? Parents are numbered below their children. */
  above(d: number, q: number): boolean {
    let a = this.parent[q];
    while (a > d) a = this.parent[a];
    return a === d && q !== d;
  }
}

/** No entry at a path of the state. */
const NONE = -1;

/** The state the layers make: an entry number per path number (NONE: no entry), grown as paths are. */
class State {
  at = new Int32Array(1 << 12).fill(NONE);
  /** Entries in the state, the root included. */
  size = 1;

  constructor() {
    this.at[0] = MADE_DIR;
  }

  get(n: number): number {
    return n < this.at.length ? this.at[n] : NONE;
  }

  set(n: number, id: number): void {
    if (n >= this.at.length) {
      const grown = new Int32Array(Math.max(n + 1, Math.ceil(this.at.length * 1.5))).fill(NONE);
      grown.set(this.at);
      this.at = grown;
    }
    if (this.at[n] === NONE) this.size++;
    this.at[n] = id;
  }

  delete(n: number): void {
    if (n < this.at.length && this.at[n] !== NONE) {
      this.at[n] = NONE;
      this.size--;
    }
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

/** What a layer above hides, by path number: paths it whites out (a .wh.* name of it), folders it makes opaque. */
interface Hides {
  whitedOut: Set<number>;
  opaque: Set<number>;
}

/** Marks of apply's removal walk, by path number. */
const GONE = 1;
const EMPTIED = 2;
const UNDER = 4;

/** The image being read: its layers' own entries, the state they make, dive's tally. */
class FlatImage {
  readonly e = new Entries();
  readonly paths = new Paths();
  readonly layers: Layer[] = [];
  readonly state = new State();
  readonly dive = new Occurrences();
  /** What each layer hides, worked out when the first wasted copy below it asks. */
  private readonly hides = new Map<Layer, Hides>();
  /** The folder of the last entry put in a layer and its entry: a tar lists a folder's entries together, so its look-up is reused. */
  private lastDir = ROOT;
  private lastParent: number | undefined;

  /** One header of the layer being read, as tar-import's TreeBuilder takes it. */
  entry(layer: Layer, h: HeaderRecord): void {
    const p = h.name;
    // tar-import's limits on a layer's paths (no short path can reach them: no string is made for one).
    if (p.length > 80) {
      const why = fileSystemPathProblem(imagePathOf(p), true);
      if (why) throw new TarError(`entry "${p.length > 200 ? p.slice(0, 200) + '…' : p}": the path ${why}`);
    }
    let id: number;
    if (h.type === 'link') {
      const target = h.linkname;
      const t = layer.own.get(target);
      if (t === undefined || this.e.kind[t] !== FILE) throw new TarError(`hard link "${h.name}" points to "${h.linkname}", which is not a file earlier in the archive`);
      let key = this.e.link.get(t);
      if (key === undefined) this.e.link.set(t, (key = target));
      id = this.e.add(FILE, this.e.size[t]);
      this.e.link.set(id, key);
      if (key !== p) this.e.flags[id] |= LINK_COPY;
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
    const same = cut !== -1 && cut === this.lastDir.length && p.startsWith(this.lastDir);
    const dir = cut === -1 ? ROOT : same ? this.lastDir : p.slice(0, cut);
    let parent = same && this.lastParent !== undefined ? this.lastParent : own.get(dir);
    if (parent === undefined || this.e.kind[parent] !== DIR) {
      this.ownFolders(layer, p);
      parent = own.get(dir);
    }
    this.lastDir = dir;
    this.lastParent = parent;
    const old = this.e.replace(own, p, id);
    // A path put again may take a subtree, the folder remembered perhaps with it.
    if (old !== undefined) this.lastParent = undefined;
    // The root's number is 0, as is the path number of a layer's own root entry.
    this.e.pathOf[id] = old !== undefined ? this.e.pathOf[old] : this.paths.of(p, parent === undefined ? 0 : this.e.pathOf[parent]);
    // A folder over a folder keeps what is under it.
    if (old !== undefined && this.e.kind[old] === DIR && this.e.kind[id] === DIR) this.e.flags[id] |= this.e.flags[old] & HAS_CHILD;
    if (parent !== undefined && !isOpaqueAt(p, cut)) this.e.flags[parent] |= HAS_CHILD;
    if (isWhiteoutAt(p, cut)) {
      layer.whiteouts.add(p);
      layer.named.add(p);
    }
  }

  /** Missing folders above p made in a layer's own entries (each a new entry, learning it has a child), or a conflict when one is not a folder. */
  private ownFolders(layer: Layer, p: string): void {
    const own = layer.own;
    let above = own.get(ROOT);
    let n = 0;
    for (const a of ancestorNames(p)) {
      let e = own.get(a);
      if (e === undefined) {
        own.set(a, (e = this.e.add(DIR, 0)));
        this.e.pathOf[e] = this.paths.of(a, n);
        if (isWhiteoutAt(a, a.lastIndexOf('/'))) layer.named.add(a);
      } else if (this.e.kind[e] !== DIR) throw this.conflict(p, a, e);
      if (above !== undefined) this.e.flags[above] |= HAS_CHILD;
      above = e;
      n = this.e.pathOf[e];
    }
  }

  /** Missing folders above p (path number n) made in the state, as putEntry makes them, or a conflict. */
  private stateFolders(p: string, n: number): void {
    const up: number[] = [];
    for (let a = this.paths.parent[n]; a !== 0; a = this.paths.parent[a]) up.push(a);
    for (let i = up.length - 1; i >= 0; i--) {
      const a = up[i];
      const e = this.state.get(a);
      if (e === NONE) {
        const made = this.e.add(DIR, 0);
        this.e.pathOf[made] = a;
        this.state.set(a, made);
      } else if (this.e.kind[e] !== DIR) throw this.conflict(p, ancestorNames(p)[up.length - 1 - i], e);
    }
  }

  private conflict(p: string, a: string, e: number): TreeConflictError {
    const type = KIND_NAMES[this.e.kind[e]];
    return new TreeConflictError(`cannot create ${imagePathOf(p)}: ${imagePathOf(a)} is a ${type}${type === 'symlink' ? ` (-> ${this.e.target.get(e)})` : ''}, not a directory`);
  }

  /** Put entry id at path number n of the state, as model/tree.ts putEntry: a non-folder over a folder takes its subtree with it. */
  private putState(n: number, id: number): void {
    const old = this.state.get(n);
    if (old !== NONE && this.e.kind[old] === DIR && this.e.kind[id] !== DIR) {
      // What lies under n is numbered above it.
      const at = this.state.at;
      for (let q = n + 1; q < at.length; q++) if (at[q] !== NONE && this.paths.above(n, q)) this.state.delete(q);
    }
    this.state.set(n, id);
  }

  /**
   * The layer read and verified: dive's occurrences against the state under
   * it, then model/apply.ts's applyLayer, in one walk of the layer's entries
   * but for its whiteouts (sized against the state before they remove). In
   * a layer's own order a folder comes before what it holds (a path's parent
   * exists when it is put, and leaves only with it), so putting the entries
   * in that order makes the state applyLayer's sorted order makes, with no
   * sort and no parent checks (but below a folder named .wh.*, which is not
   * put). The order dive's occurrences are counted in changes none of its sums.
   */
  apply(layer: Layer): void {
    this.lastParent = undefined;
    const first = this.layers.length === 0;
    // The first layer's occurrences stay out of dive's map until a second occurrence of their path turns up.
    const tally = first && !layer.whiteouts.size ? (_: string, size: number) => (this.dive.single += size) : (path: string, size: number) => this.occurrence(path, size, first ? layer.own : undefined);
    this.tallyWhiteouts(layer, tally);
    const gone: number[] = [];
    const emptied: number[] = [];
    for (const p of layer.whiteouts) {
      const w = layer.own.get(p);
      if (w === undefined) continue;
      const cut = p.lastIndexOf('/');
      if (isOpaqueAt(p, cut)) emptied.push(this.paths.parent[this.e.pathOf[w]]);
      else {
        // A path never numbered is in no layer, so nothing of the state lies at or under it.
        const n = this.paths.number.get(whitedOut(p, cut));
        if (n !== undefined) gone.push(n);
      }
    }
    if (gone.length || emptied.length) this.remove(gone, emptied);
    const e = this.e;
    // The layer's own bytes with it: contentBytes of its entries.
    const seen = layer.links ? new Set<string>() : undefined;
    let bytes = 0;
    // forEach, not for-of: no [key, value] array per entry.
    layer.own.forEach((id, p) => {
      if (e.kind[id] === FILE) {
        const key = seen ? e.link.get(id) : undefined;
        if (key === undefined || !seen) bytes += e.size[id];
        else if (!seen.has(key)) {
          seen.add(key);
          bytes += e.size[id];
        }
      }
      const cut = p.lastIndexOf('/');
      if (isWhiteoutAt(p, cut)) return;
      if (p !== ROOT && !(e.flags[id] & HAS_CHILD)) tally(p, e.headerSize(id));
      const n = e.pathOf[id];
      // Under a folder with a whiteout's name (never put itself), the folders are made as putEntry makes them.
      if (cut > 0 && (p.startsWith(WHITEOUT_PREFIX) || p.lastIndexOf(`/${WHITEOUT_PREFIX}`, cut - 1) !== -1)) this.stateFolders(p, n);
      this.putState(n, id);
    });
    layer.bytes = bytes;
    this.layers.push(layer);
  }

  /**
   * model/apply.ts's removed() over the whole state in one walk by number (a
   * parent before its children): a path whited out, under one, or under an
   * opaque folder leaves the state; the root never does.
   */
  private remove(gone: readonly number[], emptied: readonly number[]): void {
    const n = Math.min(this.paths.count, this.state.at.length);
    const mark = new Uint8Array(n);
    for (const g of gone) if (g < n) mark[g] |= GONE;
    for (const d of emptied) if (d < n) mark[d] |= EMPTIED;
    for (let q = 1; q < n; q++) {
      const under = mark[this.paths.parent[q]] !== 0;
      if (under) mark[q] |= UNDER;
      if (under || mark[q] & GONE) this.state.delete(q);
    }
  }

  /** dive's occurrences of a layer's whiteouts (its leaves named .wh.*, opaque markers aside): each sized by the bytes it removes from the state under the layer. */
  private tallyWhiteouts(layer: Layer, tally: (path: string, size: number) => void): void {
    let under: Float64Array | undefined;
    for (const p of layer.named) {
      const id = layer.own.get(p);
      if (id === undefined || this.e.flags[id] & HAS_CHILD) continue;
      const cut = p.lastIndexOf('/');
      if (isOpaqueAt(p, cut)) continue;
      const path = whitedOut(p, cut);
      const n = this.paths.number.get(path);
      let size = 0;
      if (n !== undefined) {
        const below = this.state.get(n);
        if (below !== NONE && this.e.kind[below] === DIR) size = (under ??= this.subtreeSizes())[n];
      }
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
    if (id !== undefined && this.isLeaf(path, id) && !isWhiteoutAt(path, path.lastIndexOf('/'))) out.push(this.e.headerSize(id));
    const w = whiteoutOf(path);
    const wid = own.get(w);
    if (wid !== undefined && this.isLeaf(w, wid)) out.push(0);
    return out;
  }

  /** Does dive count p (entry id) of a layer: not the root, no child, not an opaque marker. */
  private isLeaf(p: string, id: number): boolean {
    return p !== ROOT && !(this.e.flags[id] & HAS_CHILD) && !isOpaqueAt(p, p.lastIndexOf('/'));
  }

  /** Header bytes under each path of the state, by number: one walk from the last number down, each adding itself to its parent. */
  private subtreeSizes(): Float64Array {
    const n = Math.min(this.paths.count, this.state.at.length);
    const sums = new Float64Array(this.paths.count);
    const at = this.state.at;
    for (let q = n - 1; q > 0; q--) {
      // A folder's own header size is 0: its sum is what lies under it.
      if (at[q] !== NONE) sums[q] += this.e.headerSize(at[q]);
      sums[this.paths.parent[q]] += sums[q];
    }
    return sums;
  }

  analysis(digests: readonly string[], commands: readonly (string | undefined)[]): ImageAnalysis {
    const layers: LayerFigures[] = this.layers.map(({ own }, index) => ({
      index,
      digest: digests[index],
      bytes: this.layers[index].bytes,
      files: own.size - (own.has(ROOT) ? 1 : 0),
      ...(commands[index] !== undefined ? { command: commands[index] } : {}),
    }));
    const stored = layers.reduce((n, f) => n + f.bytes, 0);
    const paths = this.wastedPaths();
    const wastedBytes = paths.reduce((n, w) => n + w.bytes, 0);
    return {
      layers,
      stored,
      final: this.e.contentBytes(this.state.at),
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
      const groups = new Map<string, { first: string; id: number; size: number; visible: boolean }>();
      const wasted = (p: string, id: number, size: number) => {
        const hid = this.hider(i, p, this.e.pathOf[id]);
        out.push({ path: imagePathOf(p), bytes: size, storedIn: i, hiddenBy: hid.layer, how: hid.how });
      };
      // A group per stored inode, keyed by its link key or its path (analyze.ts's grouping), shown
      // by its least path. A path can share its key with a link group only when the layer has
      // hard links: without any, each file is its own group and needs no map.
      own.forEach((id, p) => {
        if (this.e.kind[id] !== FILE || isWhiteoutAt(p, p.lastIndexOf('/'))) return;
        const visible = this.state.get(this.e.pathOf[id]) === id;
        if (!links) {
          if (!visible && this.e.size[id] !== 0) wasted(p, id, this.e.size[id]);
          return;
        }
        const key = this.e.link.get(id) ?? p;
        const g = groups.get(key);
        if (!g) groups.set(key, { first: p, id, size: this.e.size[id], visible });
        else {
          if (p < g.first) [g.first, g.id] = [p, id];
          g.visible ||= visible;
        }
      });
      for (const g of groups.values()) if (!g.visible && g.size !== 0) wasted(g.first, g.id, g.size);
    });
    return out.sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : a.storedIn - b.storedIn));
  }

  /** The first layer above `i` that hides path p (number n), and how (analyze.ts's hider, whiteouts by number). */
  private hider(i: number, p: string, n: number): { layer: number; how: WastedPath['how'] } {
    // The folders above p, the root left out, nearest to the root last; by name, nearest first.
    const up: number[] = [];
    for (let a = this.paths.parent[n]; a !== 0; a = this.paths.parent[a]) up.push(a);
    const names = ancestorNames(p);
    for (let j = i + 1; j < this.layers.length; j++) {
      const t = this.layers[j].own;
      const hides = this.hidesOf(this.layers[j]);
      for (let k = up.length - 1; k >= 0; k--) {
        const a = up[k];
        if (hides.whitedOut.has(a) || hides.opaque.has(a)) return { layer: j, how: 'removed' };
        const e = t.get(names[up.length - 1 - k]);
        if (e !== undefined && this.e.kind[e] !== DIR) return { layer: j, how: 'overwritten' };
      }
      if (hides.whitedOut.has(n)) return { layer: j, how: 'removed' };
      if (t.has(p)) return { layer: j, how: 'overwritten' };
    }
    return { layer: -1, how: 'removed' };
  }

  /**
   * What a layer's own entries named .wh.* hide: every one (folders made for
   * a missing parent too, and opaque markers, which whiteoutOf of a path
   * named .wh..opq spells), by the number of the path it names.
   */
  private hidesOf(layer: Layer): Hides {
    let h = this.hides.get(layer);
    if (h) return h;
    h = { whitedOut: new Set(), opaque: new Set() };
    for (const p of layer.named) {
      const id = layer.own.get(p);
      if (id === undefined) continue;
      const cut = p.lastIndexOf('/');
      const n = this.paths.number.get(whitedOut(p, cut));
      if (n !== undefined) h.whitedOut.add(n);
      if (isOpaqueAt(p, cut)) h.opaque.add(this.paths.parent[this.e.pathOf[id]]);
    }
    this.hides.set(layer, h);
    return h;
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
