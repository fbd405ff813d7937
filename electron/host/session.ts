// The engine host: one project, its last build, its terminals, served through
// the contract. The same object answers Electron IPC and the browser-mode
// WebSocket; both validate every message before it gets here.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ImagePath } from '../../shared/brand';
import { requestSchema, responses, type Cmd, type EngineEvent, type ProjectInfo, type Request, type Response, type TreeRow } from '../../shared/contract';
import { build, type BuildResult } from '../engine/graph/build';
import { baseState, lastWriters, layerChanges, layerFileList, layerIndex } from '../engine/graph/layers';
import { fileList } from '../engine/model/filelist';
import { indexTree, type TreeIndex } from '../engine/model/index';
import { baseName, imagePath, resolveLinkTarget } from '../engine/model/path';
import type { Entry, Tree } from '../engine/model/tree';
import { RecipeLoadError, parseRecipe, RECIPE_FILE, type RecipeProblem } from '../engine/project';
import { asRealRoot, materializeImage, runSpec } from '../engine/run';
import { chrootCommand } from '../engine/run/chroot';
import { removeRoot } from '../engine/run/materialize';
import { isElf, parseElf, type ElfInfo } from '../engine/sources/elf/parse';
import { systemDirs } from '../engine/sources/elf/closure';
import { writeFileAtomic } from '../engine/store/atomic';
import { addFiles } from './addFiles';
import { doctor } from '../engine/tools/doctor';
import { spawnPty, type PtySession } from '../engine/tools/pty';
import { compareRunners, terminalCommand } from './runners';

export interface SessionOptions {
  project: string;
  cacheDir: string;
  emit: (e: EngineEvent) => void;
}

/** Views of a build-only stage are asked for as layer "stage:NAME". */
const STAGE = 'stage:';

interface View {
  tree: Tree;
  index: TreeIndex;
  change?: Map<string, 'added' | 'modified' | 'removed'>;
}

export class EngineSession {
  private projectPath: string;
  private result?: BuildResult;
  private writers = new Map<ImagePath, string>();
  private views = new Map<string, View>();
  private building?: AbortController;
  private terms = new Map<string, PtySession>();
  private nextTerm = 1;

  constructor(private readonly opts: SessionOptions) {
    this.projectPath = opts.project;
  }

  /** Validate and answer one request; invalid input throws a clear error, never crashes the host. */
  async handle(raw: unknown): Promise<unknown> {
    const parsed = requestSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
    const req = parsed.data;
    const result = await this.dispatch(req);
    return responses[req.cmd].parse(result);
  }

  private async dispatch(req: Request & { args?: string[] }): Promise<Response<Cmd>> {
    switch (req.cmd) {
      case 'project.open':
        if (req.path) this.projectPath = req.path;
        return this.openProject();
      case 'project.new':
        return this.newProject(req.path);
      case 'project.validate':
        return { problems: this.validate(req.text) };
      case 'project.save':
        return this.save(req.text);
      case 'build.start':
        return this.build();
      case 'build.cancel':
        this.building?.abort();
        return { cancelled: !!this.building };
      case 'tree.page':
        return this.treePage(req.layer, req.dir, req.offset, req.limit);
      case 'file.read':
        return this.readFile(req.layer, req.path, req.max);
      case 'filelist.get':
        return { lines: this.fileList(req.layer) };
      case 'diff.layer':
        return this.diffLayer(req.layer);
      case 'run.start':
        if (req.runner !== 'chroot') return this.startCommandTerminal(await terminalCommand(this.projectPath, this.opts.cacheDir, req.runner, req.args ?? [], false), req.cols, req.rows);
        return this.startTerminal(req.args ?? [], req.cols, req.rows, false);
      case 'shell.start':
        if (req.runner === 'vm') return this.startCommandTerminal(await terminalCommand(this.projectPath, this.opts.cacheDir, 'vm', [], true), req.cols, req.rows);
        return this.startTerminal(['/bin/sh'], req.cols, req.rows, true);
      case 'runs.compare':
        return compareRunners(this.projectPath, this.opts.cacheDir, req.runners, req.args ?? []);
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
      case 'project.addFiles':
        return { added: await addFiles(path.dirname(this.recipeFile()), req.files) };
    }
  }

  private async openProject(): Promise<ProjectInfo> {
    const abs = path.resolve(this.projectPath);
    const st = await fs.stat(abs).catch(() => undefined);
    const file = st?.isDirectory() ? path.join(abs, RECIPE_FILE) : abs;
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    this.result = undefined;
    this.views.clear();
    return this.info(file, text);
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
        onEvent: (e) => this.opts.emit(e.type === 'plan' ? { event: 'build.plan', nodes: e.nodes } : e.type === 'log' ? { event: 'log', line: e.line } : { ...e, event: 'build.node' }),
      });
      this.result = r;
      this.views.clear();
      this.writers = lastWriters(r.recipe, r.states);
      return {
        ok: true,
        manifestDigest: `sha256:${r.manifestDigest}`,
        layers: r.layers.map((l) => ({ name: l.name, digest: `sha256:${l.digest}`, size: l.size, files: l.files, cached: l.cached })),
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
    const r = this.built();
    let v: View;
    if (layer === null) {
      const tree = r.states[r.states.length - 1];
      v = { tree, index: indexTree(tree) };
    } else if (layer.startsWith(STAGE)) {
      const tree = r.stages.get(layer.slice(STAGE.length));
      if (!tree) throw new Error(`no stage named "${layer.slice(STAGE.length)}"`);
      v = { tree, index: indexTree(tree) };
    } else {
      const i = this.layerNumber(layer);
      const ch = layerChanges(r.recipe, r.states, i);
      const base = baseState(r.recipe, r.states, i);
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
      v = { tree, index: indexTree(tree), change };
    }
    this.views.set(key, v);
    return v;
  }

  private layerNumber(layer: string): number {
    const i = layerIndex(this.built().recipe, layer);
    if (i === -1) throw new Error(`no layer named "${layer}"`);
    return i;
  }

  private treePage(layer: string | null, dir: string, offset: number, limit: number): Response<'tree.page'> {
    const v = this.view(layer);
    const kids = v.index.children.get(imagePath(dir)) ?? [];
    const rows: TreeRow[] = kids.slice(offset, offset + limit).map((p) => {
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
        layer: layer?.startsWith(STAGE) ? layer : (this.writers.get(p) ?? this.built().recipe.layers[0].name),
        children: v.index.children.get(p)?.length ?? 0,
        ...(v.change ? { change: v.change.get(p) ?? 'unchanged' } : {}),
      };
    });
    return { rows, total: kids.length };
  }

  private async readFile(layer: string | null, p: string, max: number): Promise<Response<'file.read'>> {
    const v = this.view(layer);
    const e = v.tree.get(imagePath(p));
    if (!e) throw new Error(`${p}: not in the image`);
    if (e.type !== 'file') return { size: 0, base64: '', truncated: false };
    const bytes = await this.built().store.read(e.digest!);
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
      if (e?.type === 'file') return { name, path: p, layer: this.writers.get(p) };
    }
    return { name };
  }

  private fileList(layer: string | null): string[] {
    const r = this.built();
    if (layer === null) return fileList(r.states[r.states.length - 1]);
    if (layer.startsWith(STAGE)) return fileList(this.view(layer).tree);
    return layerFileList(r.recipe, r.states, this.layerNumber(layer));
  }

  private diffLayer(layer: string): Response<'diff.layer'> {
    const r = this.built();
    const i = this.layerNumber(layer);
    const ch = layerChanges(r.recipe, r.states, i);
    const base = baseState(r.recipe, r.states, i);
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

  private async startTerminal(args: string[], cols: number, rows: number, shell: boolean): Promise<{ id: string }> {
    if (!this.result) await this.build();
    const r = this.built();
    // A shell replaces the entrypoint too, as `docker run --entrypoint /bin/sh` would.
    const spec = runSpec(shell ? { ...r.recipe, config: { ...r.recipe.config, entrypoint: [] } } : r.recipe, args);
    const root = await materializeImage(r.states[r.states.length - 1], r.store);
    const cmd = chrootCommand(root, spec, { realRoot: asRealRoot() });
    const id = `t${this.nextTerm++}`;
    const t0 = performance.now();
    const session = await spawnPty({
      ...cmd,
      cols,
      rows,
      onData: (data) => this.opts.emit({ event: 'term.data', id, data }),
      onExit: (code) => {
        this.terms.delete(id);
        void removeRoot(root);
        this.opts.emit({ event: 'term.exit', id, code, ms: Math.round(performance.now() - t0) });
      },
    });
    this.terms.set(id, session);
    return { id };
  }

  /** A terminal running a ready command (a VM console, docker run -it). */
  private async startCommandTerminal(cmd: { file: string; args: string[] }, cols: number, rows: number): Promise<{ id: string }> {
    const id = `t${this.nextTerm++}`;
    const t0 = performance.now();
    const session = await spawnPty({
      ...cmd,
      env: { ...process.env } as Record<string, string>,
      cols,
      rows,
      onData: (data) => this.opts.emit({ event: 'term.data', id, data }),
      onExit: (code) => {
        this.terms.delete(id);
        this.opts.emit({ event: 'term.exit', id, code, ms: Math.round(performance.now() - t0) });
      },
    });
    this.terms.set(id, session);
    return { id };
  }

  private term(id: string): PtySession {
    const t = this.terms.get(id);
    if (!t) throw new Error(`no terminal ${id}`);
    return t;
  }

  dispose(): void {
    this.building?.abort();
    for (const t of this.terms.values()) t.kill();
  }
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
