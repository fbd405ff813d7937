// The project: open (with its last build restored), create, validate, save,
// make one from an image, take dropped files; and the recent list.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ProjectInfo } from '../../../shared/contract';
import { initFromImage } from '../../engine/entry/init';
import { RecipeLoadError, parseRecipe, RECIPE_FILE, type RecipeProblem } from '../../engine/graph/project';
import { writeFileAtomic } from '../../engine/store/atomic';
import { addFiles } from '../addFiles';
import { restoreLastBuild } from './build';
import type { Handlers } from './handler';
import { defaultConfigDir, listRecent, remember } from './recent';
import type { HostState } from './state';

export const configDirOf = (state: HostState) => state.opts.configDir ?? defaultConfigDir();

export async function openProject(state: HostState): Promise<ProjectInfo> {
  const abs = path.resolve(state.projectPath);
  const st = await fs.stat(abs).catch(() => undefined);
  const file = st?.isDirectory() ? path.join(abs, RECIPE_FILE) : abs;
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  state.image = undefined;
  state.reset({ build: true });
  const info = infoOf(file, text);
  const lastBuild = text ? await restoreLastBuild(state) : undefined;
  if (text) await remember(configDirOf(state), { project: path.dirname(file), name: info.name ?? path.basename(path.dirname(file)) });
  return { ...info, ...(lastBuild ? { lastBuild } : {}) };
}

/** Throws, naming the path, unless `where` is a recipe file or a folder holding one. */
async function recipeThere(where: string): Promise<void> {
  const abs = path.resolve(where);
  const st = await fs.stat(abs).catch(() => undefined);
  if (!st) throw new Error(`${abs}: no such file or folder`);
  const file = st.isDirectory() ? path.join(abs, RECIPE_FILE) : abs;
  const rst = st.isDirectory() ? await fs.stat(file).catch(() => undefined) : st;
  if (!rst?.isFile()) throw new Error(`${abs}: no ${RECIPE_FILE} there`);
}

function infoOf(file: string, text: string): ProjectInfo {
  const problems = validate(text, file);
  let name: string | null = null;
  let layers: ProjectInfo['layers'] = [];
  if (problems.length === 0) {
    const r = parseRecipe(text, file);
    name = r.name;
    layers = r.layers.map((l) => ({ name: l.name, sources: l.sources.map((s) => ({ kind: s.kind })) }));
  }
  return { dir: path.dirname(file), file, text, name, layers, problems };
}

function validate(text: string, file: string): RecipeProblem[] {
  try {
    parseRecipe(text, file);
    return [];
  } catch (e) {
    if (e instanceof RecipeLoadError) return e.problems;
    throw e;
  }
}

/** A starter project: busybox and an /init, in a new (or empty) folder. */
async function newProject(state: HostState, dir: string): Promise<ProjectInfo> {
  const abs = path.resolve(dir);
  const file = path.join(abs, RECIPE_FILE);
  if (await fs.stat(file).catch(() => undefined)) throw new Error(`${file} already exists: open it instead`);
  await fs.mkdir(abs, { recursive: true });
  const name = path.basename(abs).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'image';
  await writeFileAtomic(file, starterRecipe(name));
  state.projectPath = abs;
  return openProject(state);
}

export const projectHandlers: Handlers<'project.open' | 'project.new' | 'project.validate' | 'project.save' | 'project.fromImage' | 'project.addFiles' | 'recent.list'> = {
  'project.open': async (req, state) => {
    if (req.path) {
      // Another project asked for by name (a recent one, Open…): it must be there, or the one open stays.
      await recipeThere(req.path);
      state.projectPath = req.path;
    }
    return openProject(state);
  },
  'project.new': (req, state) => newProject(state, req.path),
  'project.validate': (req, state) => ({ problems: validate(req.text, state.recipeFile()) }),
  'project.save': async (req, state) => {
    state.writable();
    const file = state.recipeFile();
    const info = infoOf(file, req.text);
    if (info.problems.length === 0) await writeFileAtomic(file, req.text);
    return info;
  },
  'project.fromImage': async (req, state) => {
    // A project on the image, pinned by digest (its layers reused as they are, not re-made as tarballs).
    state.projectPath = (await initFromImage({ from: path.resolve(req.image), dir: req.dir, cacheDir: state.cacheDir })).dir;
    return openProject(state);
  },
  'project.addFiles': async (req, state) => {
    state.writable();
    return { added: await addFiles(path.dirname(state.recipeFile()), req.files) };
  },
  'recent.list': (_req, state) => listRecent(configDirOf(state)),
};

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
