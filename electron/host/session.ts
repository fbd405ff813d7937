// The engine host: one project, its last build, its terminals, served through
// the contract. The same object answers Electron IPC and the browser-mode
// WebSocket; both validate every message before it gets here.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ImagePath } from '../../shared/brand';
import { packagesReply } from './packages';
import { localImagesReply } from './localImages';
import { requestSchema, responses, type Cmd, type CompareSide, type EngineEvent, type ProjectInfo, type Request, type Response, type TreeRow } from '../../shared/contract';
import { build, type BuildResult } from '../engine/entry/build';
import { layerFileList, layerIndex } from '../engine/graph/layers';
import { diffTrees } from '../engine/model/diff';
import { BlobStore } from '../engine/store/blobs';
import type { OpenedImage } from '../engine/inspect';
import { fileList } from '../engine/model/filelist';
import { indexOf, indexTree } from '../engine/model/index';
import { baseName, imagePath, resolveLinkTarget } from '../engine/model/path';
import type { Entry, Tree } from '../engine/model/tree';
import type { BuildEvent } from '../engine/model/events';
import { RecipeLoadError, parseRecipe, RECIPE_FILE, type RecipeProblem } from '../engine/graph/project';
import { imageOf } from '../engine/entry/run';
import type { BuiltImage, TerminalCommand } from '../engine/run/runner';
import { isElf, parseElf, type ElfInfo } from '../engine/sources/elf/parse';
import { systemDirs } from '../engine/sources/elf/closure';
import { writeFileAtomic } from '../engine/store/atomic';
import { addFiles } from './addFiles';
import { doctor } from '../engine/entry/doctor';
import { traceHostSource } from '../engine/entry/trace';
import { spawnPty, type PtySession } from '../engine/tools/pty';
import { compareRunners, runFlagsOf, terminalCommand } from './runners';
import { initFromImage } from '../engine/entry/init';
import { pushBuilt, pushDestination } from './push';
import { analysis, compareOf, exportLayer, filteredPage, imageName, largestOf, openNamed, ownFileList, replyLayers, saveFile, shownOfBuild, shownOfImage, sideLabel, sizeMapOf, type ExplorerView, type Shown } from './inspect';
import { layerSizes } from '../engine/inspect';

export interface SessionOptions {
  project: string;
  cacheDir: string;
  emit: (e: EngineEvent) => void;
}

/** Views of a build-only stage are asked for as layer "stage:NAME". */
const STAGE = 'stage:';

type View = ExplorerView;

export class EngineSession {
  private projectPath: string;
  private result?: BuildResult;
  /** The final tree of the build before `result`, for "compare two builds". */
  private previous?: Tree;
  /** An opened image: while set, the views show it, read-only. */
  private image?: { file: string; img: OpenedImage; shown: Shown };
  private shownBuild?: Shown;
  private imageStore?: BlobStore;
  /** Images opened only to compare, by path and mtime. */
  private compared = new Map<string, Tree>();
  private views = new Map<string, View>();
  private building?: AbortController;
  private terms = new Map<string, PtySession>();
  private nextTerm = 1;
  /** Requests being answered, awaited (bounded) on close so their temporaries go. */
  private inFlight = new Set<Promise<unknown>>();
  private closing = false;
  /** Aborted on close: runs and terminal builds started by this session stop. */
  private readonly lifetime = new AbortController();

  constructor(private readonly opts: SessionOptions) {
    this.projectPath = opts.project;
  }

  /** Validate and answer one request; invalid input throws a clear error, never crashes the host. */
  async handle(raw: unknown): Promise<unknown> {
    if (this.closing) throw new Error('the engine host is stopping');
    const req = validRequest(raw);
    const work = this.dispatch(req);
    this.inFlight.add(work);
    try {
      return responses[req.cmd].parse(await work);
    } finally {
      this.inFlight.delete(work);
    }
  }

  private async dispatch(req: Request & { args?: string[] }): Promise<Response<Cmd>> {
    switch (req.cmd) {
      case 'project.open':
        if (req.path) this.projectPath = req.path;
        return this.openProject();
      case 'image.open':
        return this.openImage(req.path);
      case 'image.inspect':
        return analysis(this.shown());
      case 'image.sizeMap':
        return sizeMapOf(this.shown(), req.layer, req.dir, req.depth);
      case 'image.largest':
        return largestOf(this.shown(), req.layer, req.n);
      case 'image.compare':
        return compareOf({ label: sideLabel(req.a), tree: await this.side(req.a) }, { label: sideLabel(req.b), tree: await this.side(req.b) }, req.fileList);
      case 'image.saveFile':
        return saveFile(this.shown(), this.view(req.layer).tree, req.path, req.to);
      case 'image.exportLayer':
        return exportLayer(this.shown(), req.layer, req.to);
      case 'project.fromImage': {
        // A project on the image, pinned by digest (its layers reused as they are, not re-made as tarballs).
        this.projectPath = (await initFromImage({ from: path.resolve(req.image), dir: req.dir, cacheDir: this.opts.cacheDir })).dir;
        return this.openProject();
      }
      case 'image.push':
        this.writable();
        return pushBuilt(this.built(), this.opts.cacheDir, req, this.opts.emit, this.lifetime.signal);
      case 'image.pushDestination':
        return { dest: await pushDestination(this.opts.cacheDir, this.built()) };
      case 'images.local':
        return localImagesReply(this.lifetime.signal);
      case 'packages.list':
        return packagesReply(this.projectPath, { build: this.result, image: this.image && this.imageStore && { img: this.image.img, store: this.imageStore } });
      case 'project.new':
        return this.newProject(req.path);
      case 'project.validate':
        return { problems: this.validate(req.text) };
      case 'project.save':
        this.writable();
        return this.save(req.text);
      case 'build.start':
        this.writable();
        return this.build();
      case 'build.cancel':
        this.building?.abort();
        return { cancelled: !!this.building };
      case 'tree.page':
        return req.filter ? this.filteredTreePage(req.layer, req.dir, req.filter, req.offset, req.limit) : this.treePage(req.layer, req.dir, req.offset, req.limit);
      case 'file.read':
        return this.readFile(req.layer, req.path, req.max);
      case 'filelist.get':
        return { lines: this.fileList(req.layer) };
      case 'diff.layer':
        return this.diffLayer(req.layer);
      case 'run.start':
        this.writable();
        return this.startCommandTerminal(await terminalCommand(await this.builtImage(), req.runner, req.args ?? [], false, runFlagsOf(req.flags)), req.cols, req.rows);
      case 'shell.start':
        this.writable();
        if (req.runner === 'vm') return this.startCommandTerminal(await terminalCommand(await this.builtImage(), 'vm', [], true), req.cols, req.rows);
        return this.startShell(req.cols, req.rows);
      case 'runs.compare':
        this.writable();
        return compareRunners(await this.builtImage(), req.runners, req.args ?? [], this.lifetime.signal, req.flags);
      case 'term.write':
        this.term(req.id).write(req.data);
        return {};
      case 'term.resize':
        this.term(req.id).resize(req.cols, req.rows);
        return {};
      case 'term.close':
        this.term(req.id).kill();
        return {};
      case 'doctor':
        return doctor();
      case 'trace.run':
        this.writable();
        return traceHostSource({ project: this.projectPath, cacheDir: this.opts.cacheDir, layer: req.layer, source: req.source, signal: this.lifetime.signal, log: (line) => this.opts.emit({ event: 'log', line }) });
      case 'project.addFiles':
        this.writable();
        return { added: await addFiles(path.dirname(this.recipeFile()), req.files) };
    }
  }

  private async openProject(): Promise<ProjectInfo> {
    const abs = path.resolve(this.projectPath);
    const st = await fs.stat(abs).catch(() => undefined);
    const file = st?.isDirectory() ? path.join(abs, RECIPE_FILE) : abs;
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    this.image = undefined;
    this.result = undefined;
    this.shownBuild = undefined;
    this.previous = undefined;
    this.views.clear();
    return this.info(file, text);
  }

  /** Refuse what an opened image cannot do: it has no recipe to edit, build or run. */
  private writable(): void {
    if (this.image) throw new Error(`${this.image.file} is opened read-only: "Use as base" makes a project of it, or go back to the project`);
  }

  private async store(): Promise<BlobStore> {
    if (!this.imageStore) {
      const s = new BlobStore(this.opts.cacheDir);
      await s.open();
      this.imageStore = s;
    }
    return this.imageStore;
  }

  /** Open an image read-only: the views answer for it until a project is opened again. */
  private async openImage(file: string): Promise<Response<'image.open'>> {
    const abs = imageName(file);
    const img = await openNamed(await this.store(), abs);
    const shown = shownOfImage(abs, img, await this.store());
    this.image = { file: abs, img, shown };
    this.views.clear();
    const text = JSON.stringify(img.config ?? {}, null, 2) + '\n';
    return {
      dir: path.dirname(abs),
      file: abs,
      text,
      name: img.name || path.basename(abs),
      layers: shown.names.map((name) => ({ name, sources: [] })),
      problems: [],
      readOnly: true,
      image: abs,
      build: { ok: true, layers: replyLayers(shown) },
    };
  }

  /** What the views show: the opened image, else the project's last build. */
  private shown(): Shown {
    if (this.image) return this.image.shown;
    const r = this.built();
    this.shownBuild ??= shownOfBuild(r);
    return this.shownBuild;
  }

  private async side(side: CompareSide): Promise<Tree> {
    if ('build' in side) {
      if (side.build === 'current') {
        const r = this.built();
        return r.states[r.states.length - 1];
      }
      if (!this.previous) throw new Error('no previous build: build twice to compare two builds of the project');
      return this.previous;
    }
    if ('layer' in side) {
      const s = this.shown();
      const i = s.names.indexOf(side.layer);
      if (i === -1) throw new Error(`no layer named "${side.layer}"`);
      return s.states[i];
    }
    const abs = imageName(side.image);
    if (this.image?.file === abs) return this.image.shown.states[this.image.shown.states.length - 1];
    const st = await fs.stat(abs).catch(() => undefined);
    const key = `${abs}\0${st?.mtimeMs}\0${st?.size}`;
    let t = this.compared.get(key);
    if (!t) {
      const img = await openNamed(await this.store(), abs);
      t = img.states[img.states.length - 1] ?? new Map();
      // A few recent ones are kept: a Debian-sized tree is tens of megabytes.
      if (this.compared.size >= 4) this.compared.delete(this.compared.keys().next().value!);
      this.compared.set(key, t);
    }
    return t;
  }

  /** A starter project: busybox and an /init, in a new (or empty) folder. */
  private async newProject(dir: string): Promise<ProjectInfo> {
    const abs = path.resolve(dir);
    const file = path.join(abs, RECIPE_FILE);
    if (await fs.stat(file).catch(() => undefined)) throw new Error(`${file} already exists: open it instead`);
    await fs.mkdir(abs, { recursive: true });
    const name = path.basename(abs).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'image';
    await writeFileAtomic(file, starterRecipe(name));
    this.projectPath = abs;
    return this.openProject();
  }

  private info(file: string, text: string): ProjectInfo {
    const problems = this.validate(text, file);
    let name: string | null = null;
    let layers: ProjectInfo['layers'] = [];
    if (problems.length === 0) {
      const r = parseRecipe(text, file);
      name = r.name;
      layers = r.layers.map((l) => ({ name: l.name, sources: l.sources.map((s) => ({ kind: s.kind })) }));
    }
    return { dir: path.dirname(file), file, text, name, layers, problems };
  }

  private validate(text: string, file = this.recipeFile()): RecipeProblem[] {
    try {
      parseRecipe(text, file);
      return [];
    } catch (e) {
      if (e instanceof RecipeLoadError) return e.problems;
      throw e;
    }
  }

  private recipeFile(): string {
    return this.projectPath.endsWith('.yaml') ? path.resolve(this.projectPath) : path.resolve(this.projectPath, RECIPE_FILE);
  }

  private async save(text: string): Promise<ProjectInfo> {
    const file = this.recipeFile();
    const info = this.info(file, text);
    if (info.problems.length === 0) await writeFileAtomic(file, text);
    return info;
  }

  private async build(): Promise<Response<'build.start'>> {
    this.building?.abort();
    const ac = new AbortController();
    this.building = ac;
    try {
      const r = await build({
        project: this.projectPath,
        cacheDir: this.opts.cacheDir,
        formats: ['docker', 'oci', 'rootfs'],
        signal: ac.signal,
        onEvent: (e) => this.opts.emit(engineEvent(e)),
      });
      if (this.result) this.previous = this.result.states[this.result.states.length - 1];
      this.result = r;
      this.shownBuild = undefined;
      this.views.clear();
      return {
        ok: true,
        manifestDigest: `sha256:${r.manifestDigest}`,
        layers: replyLayers(shownOfBuild(r), r),
      };
    } catch (e) {
      const message = e instanceof Error ? (ac.signal.aborted ? 'cancelled' : e.message) : String(e);
      this.opts.emit({ event: 'log', line: `build failed: ${message}` });
      return { ok: false, error: message, layers: [] };
    } finally {
      if (this.building === ac) this.building = undefined;
    }
  }

  private built(): BuildResult {
    if (!this.result) throw new Error('nothing built yet: press Build');
    return this.result;
  }

  /** The merged image (layer null) or the state after one layer, with what that layer changed. */
  private view(layer: string | null): View {
    const key = layer ?? '';
    const cached = this.views.get(key);
    if (cached) return cached;
    const r = this.shown();
    let v: View;
    if (layer === null) {
      const tree = r.states[r.states.length - 1];
      v = { tree, index: indexOf(tree) };
    } else if (layer.startsWith(STAGE)) {
      const tree = r.stages.get(layer.slice(STAGE.length));
      if (!tree) throw new Error(`no stage named "${layer.slice(STAGE.length)}"`);
      v = { tree, index: indexTree(tree) };
    } else {
      const i = this.layerNumber(layer);
      const base = r.base(i);
      const ch = diffTrees(base, r.states[i]);
      const tree: Tree = new Map(r.states[i]);
      const change = new Map<string, 'added' | 'modified' | 'removed'>();
      for (const p of ch.added) change.set(p, 'added');
      for (const p of ch.modified) change.set(p, 'modified');
      // Removed entries stay visible (struck through), as dive shows them.
      for (const [p, e] of base) {
        if (!tree.has(p)) {
          tree.set(p, e);
          change.set(p, 'removed');
        }
      }
      // Folder sizes are the layer's own bytes below them, not the whole state's (issue 15).
      v = { tree, index: { ...indexTree(tree), sizes: layerSizes(tree, (p) => change.get(p) ?? 'unchanged') }, change };
    }
    this.views.set(key, v);
    return v;
  }

  private layerNumber(layer: string): number {
    const i = this.shown().names.indexOf(layer);
    if (i === -1) throw new Error(`no layer named "${layer}"`);
    return i;
  }

  private treePage(layer: string | null, dir: string, offset: number, limit: number): Response<'tree.page'> {
    const v = this.view(layer);
    const kids = v.index.children.get(imagePath(dir)) ?? [];
    return { rows: kids.slice(offset, offset + limit).map((p) => this.treeRow(v, layer, p)), total: kids.length };
  }

  private filteredTreePage(layer: string | null, dir: string, filter: { pattern: string; changesOnly?: boolean }, offset: number, limit: number): Response<'tree.page'> {
    const v = this.view(layer);
    const page = filteredPage(v, dir, filter, offset, limit);
    return { rows: page.rows.map((r) => ({ ...this.treeRow(v, layer, r.path), depth: r.depth, match: r.match })), total: page.total, matches: page.matches };
  }

  private treeRow(v: View, layer: string | null, p: ImagePath): TreeRow {
      const e = v.tree.get(p)!;
      return {
        path: p,
        name: baseName(p),
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: v.index.sizes.get(p) ?? 0,
        ...(e.target !== undefined ? { target: e.target } : {}),
        layer: layer?.startsWith(STAGE) ? layer : (this.shown().writers.get(p) ?? this.shown().names[0]),
        children: v.index.children.get(p)?.length ?? 0,
        ...(v.change ? { change: v.change.get(p) ?? 'unchanged' } : {}),
      };
  }

  private async readFile(layer: string | null, p: string, max: number): Promise<Response<'file.read'>> {
    const v = this.view(layer);
    const e = v.tree.get(imagePath(p));
    if (!e) throw new Error(`${p}: not in the image`);
    if (e.type !== 'file') return { size: 0, base64: '', truncated: false };
    const bytes = await this.shown().store.read(e.digest!);
    const out: Response<'file.read'> = { size: e.size, base64: bytes.subarray(0, max).toString('base64'), truncated: bytes.length > max };
    if (isElf(bytes)) {
      try {
        const info = parseElf(bytes);
        out.elf = { elfClass: info.elfClass, interp: info.interp, needed: info.needed.map((name) => this.findLib(v.tree, name, info)) };
      } catch {
        // Not a readable ELF: the hex view still shows it.
      }
    }
    return out;
  }

  /** Where a NEEDED library is inside the image, searched as the loader would without a cache. */
  private findLib(tree: Tree, name: string, target: ElfInfo): { name: string; path?: string; layer?: string } {
    for (const dir of [...systemDirs(target), '/lib64', '/usr/lib64']) {
      let p = imagePath(`${dir}/${name}`);
      let e: Entry | undefined = tree.get(p);
      for (let hops = 0; e?.type === 'symlink' && hops < 10; hops++) {
        p = resolveLinkTarget(p, e.target!);
        e = tree.get(p);
      }
      if (e?.type === 'file') return { name, path: p, layer: this.shown().writers.get(p) };
    }
    return { name };
  }

  private fileList(layer: string | null): string[] {
    const r = this.shown();
    if (layer === null) return fileList(r.states[r.states.length - 1]);
    if (layer.startsWith(STAGE)) return fileList(this.view(layer).tree);
    if (this.image) return ownFileList(r, this.layerNumber(layer));
    const b = this.built();
    return layerFileList(b.recipe, b.states, layerIndex(b.recipe, layer));
  }

  private diffLayer(layer: string): Response<'diff.layer'> {
    const r = this.shown();
    const i = this.layerNumber(layer);
    const base = r.base(i);
    const ch = diffTrees(base, r.states[i]);
    const size = (t: Tree, p: string) => t.get(p as ImagePath)?.size ?? 0;
    const sum = (ps: string[], t: Tree) => ps.reduce((n, p) => n + size(t, p), 0);
    const removedAll = [...base.keys()].filter((p) => !r.states[i].has(p));
    return {
      added: { count: ch.added.length, bytes: sum(ch.added, r.states[i]) },
      modified: { count: ch.modified.length, bytes: sum(ch.modified, r.states[i]) },
      removed: { count: removedAll.length, bytes: sum(removedAll, base) },
      paths: [
        ...ch.added.map((p) => ({ path: p, change: 'added' as const, size: size(r.states[i], p) })),
        ...ch.modified.map((p) => ({ path: p, change: 'modified' as const, size: size(r.states[i], p) })),
        ...removedAll.map((p) => ({ path: p, change: 'removed' as const, size: size(base, p) })),
      ].sort((a, b) => (a.path < b.path ? -1 : 1)),
    };
  }

  /** The last build as the runners take it (built first when there is none). */
  private async builtImage(): Promise<BuiltImage> {
    if (!this.result) await this.build();
    return imageOf(this.built(), this.opts.cacheDir);
  }

  /**
   * A shell in the chroot: it replaces the entrypoint too, as `docker run
   * --entrypoint /bin/sh` would, and stays root to look around.
   */
  private async startShell(cols: number, rows: number): Promise<{ id: string }> {
    return this.startCommandTerminal(await terminalCommand(await this.builtImage(), 'chroot', ['/bin/sh'], false, { entrypoint: '', user: '0' }), cols, rows);
  }

  /** A terminal running a ready command (a VM console, docker run -it). */
  private async startCommandTerminal(t: { command: TerminalCommand; release: () => Promise<void> }, cols: number, rows: number): Promise<{ id: string }> {
    const id = `t${this.nextTerm++}`;
    const t0 = performance.now();
    // Whatever fails before the terminal exists (no PTY) releases what was prepared (the chroot's folder).
    const session = await spawnPty({
      ...t.command,
      env: t.command.env ?? ({ ...process.env } as Record<string, string>),
      cols,
      rows,
      onData: (data) => this.opts.emit({ event: 'term.data', id, data }),
      onExit: (code) => {
        this.terms.delete(id);
        void t.release();
        this.opts.emit({ event: 'term.exit', id, code, ms: Math.round(performance.now() - t0) });
      },
    }).catch(async (e: unknown) => {
      await t.release();
      throw e;
    });
    this.terms.set(id, session);
    return { id };
  }

  private term(id: string): PtySession {
    const t = this.terms.get(id);
    if (!t) throw new Error(`no terminal ${id}`);
    return t;
  }

  /**
   * Stop: cancel the build and runs, end the terminals, and wait (at most
   * `graceMs`) for requests in flight to settle so they remove their temporaries.
   */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    this.lifetime.abort();
    this.building?.abort();
    for (const t of this.terms.values()) t.kill();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.imageStore?.close();
  }

  dispose(): void {
    void this.close();
  }
}

/** The request a message carries, checked against the contract; the error names the field at fault. */
function validRequest(raw: unknown): Request & { args?: string[] } {
  const cmd = (raw as { cmd?: unknown } | null)?.cmd;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && typeof cmd === 'string' && !requestSchema.options.some((o) => o.shape.cmd.value === cmd)) {
    throw new Error(`invalid request: unknown command ${JSON.stringify(cmd.slice(0, 100))}`);
  }
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

function starterRecipe(name: string): string {
  return `# A new Scratchyard project: busybox and an /init that greets.
name: ${name}
config:
  entrypoint: ["/init"]
  env:
    PATH: /bin:/usr/bin:/sbin:/usr/sbin
layers:
  - name: app
    sources:
      - kind: busybox
      - kind: file
        path: /init
        mode: "0755"
        content: |
          #!/bin/sh
          echo "Hello from ${name}"
`;
}

/** A build event as the window receives it. */
function engineEvent(e: BuildEvent): EngineEvent {
  if (e.type === 'plan') return { event: 'build.plan', nodes: e.nodes };
  if (e.type === 'log') return { event: 'log', line: e.line };
  if (e.type === 'warning') return { event: 'build.warning', kind: e.kind, image: e.image, host: e.host, reason: e.reason, field: e.field };
  return { ...e, event: 'build.node' };
}
