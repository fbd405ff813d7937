// What the engine host holds between requests, shared by its services: the
// project, its last build (or one restored from the history), an opened image
// and the views worked out of them. Services read and replace it; nothing else does.
import path from 'node:path';
import { eventSchema, type EngineEvent } from '../../../shared/contract';
import type { BuildResult } from '../../engine/entry/build';
import type { OpenedImage } from '../../engine/inspect';
import type { Tree } from '../../engine/model/tree';
import { RECIPE_FILE } from '../../engine/graph/project';
import { BlobStore } from '../../engine/store/blobs';
import type { PtySession } from '../../engine/tools/pty';
import { shownOfBuild, type ExplorerView, type Shown } from '../inspect';
import type { BuildRecord } from './history';

export interface SessionOptions {
  project: string;
  cacheDir: string;
  emit: (e: EngineEvent) => void;
  /** Where recent projects and images are remembered (default: the user's config folder). */
  configDir?: string;
}

/** A view of the explorer: a tree, its index and, in a layer view, what the layer does to each path. */
export type View = ExplorerView;

export class HostState {
  projectPath: string;
  /** The last build of this session. */
  result?: BuildResult;
  /** The last build as the history and out/ hold it, shown (read-only views) until a build of this session. */
  restored?: { record: BuildRecord; img: OpenedImage; shown: Shown };
  /** Reading the restored build's trees: view requests wait for it. */
  restoring?: Promise<void>;
  /** Bumped whenever what is shown is replaced: a restore begun before does not land after. */
  generation = 0;
  /** The final tree of the build before `result`, for "compare two builds". */
  previous?: Tree;
  /** An opened image: while set, the views show it, read-only. */
  image?: { file: string; img: OpenedImage; shown: Shown };
  private shownBuild?: Shown;
  private blobStore?: BlobStore;
  readonly views = new Map<string, View>();
  /** The build running, if any. */
  building?: AbortController;
  readonly terms = new Map<string, PtySession>();
  nextTerm = 1;
  /** Aborted on close: runs and terminal builds started by this session stop. */
  readonly lifetime = new AbortController();

  constructor(readonly opts: SessionOptions) {
    this.projectPath = opts.project;
  }

  get cacheDir(): string {
    return this.opts.cacheDir;
  }

  /** Every event is checked against the contract before it leaves the host. */
  emit(e: EngineEvent): void {
    const ok = eventSchema.safeParse(e);
    if (!ok.success) throw new Error(`the host made an event outside the contract (${e.event}): ${ok.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.opts.emit(ok.data);
  }

  /** Forget what was shown: a new project, an image, a new build. */
  reset(what: { build?: boolean } = {}): void {
    if (what.build) {
      this.generation++;
      this.restoring = undefined;
      this.result = undefined;
      this.previous = undefined;
      this.restored = undefined;
    }
    this.shownBuild = undefined;
    this.views.clear();
  }

  setResult(r: BuildResult): void {
    if (this.result) this.previous = this.result.states[this.result.states.length - 1];
    this.result = r;
    this.restored = undefined;
    this.generation++;
    this.reset();
  }

  async store(): Promise<BlobStore> {
    if (!this.blobStore) {
      const s = new BlobStore(this.opts.cacheDir);
      await s.open();
      this.blobStore = s;
    }
    return this.blobStore;
  }

  /** Refuse what an opened image cannot do: it has no recipe to edit, build or run. */
  writable(): void {
    if (this.image) throw new Error(`${this.image.file} is opened read-only: "Use as base" makes a project of it, or go back to the project`);
  }

  built(): BuildResult {
    if (!this.result) throw new Error('nothing built yet: press Build');
    return this.result;
  }

  /** What the views show: the opened image, else the project's last build (this session's, else the restored one). */
  shown(): Shown {
    if (this.image) return this.image.shown;
    if (!this.result && this.restored) return this.restored.shown;
    this.shownBuild ??= shownOfBuild(this.built());
    return this.shownBuild;
  }

  recipeFile(): string {
    return this.projectPath.endsWith('.yaml') ? path.resolve(this.projectPath) : path.resolve(this.projectPath, RECIPE_FILE);
  }

  /** Stop what runs: the build, runs, terminals (requests in flight then fail fast). */
  stop(): void {
    this.lifetime.abort();
    this.building?.abort();
    for (const t of this.terms.values()) t.kill();
  }

  async close(): Promise<void> {
    this.stop();
    await this.blobStore?.close();
  }
}
