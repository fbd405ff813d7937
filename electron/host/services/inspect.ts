// Opened images and the inspector: open read-only, analyse, size map, largest
// entries, compare two sides, save a file, export a layer.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CompareSide, Response } from '../../../shared/contract';
import type { Tree } from '../../engine/model/tree';
import { analysis, compareOf, exportLayer, imageName, largestOf, openNamed, replyLayers, saveFile, shownOfImage, sideLabel, sizeMapOf } from '../inspect';
import type { Handlers } from './handler';
import { localImagesReply } from '../localImages';
import { packagesReply } from '../packages';
import { configDirOf } from './project';
import { remember } from './recent';
import type { HostState } from './state';
import { viewOf } from './views';

/** Images opened only to compare, by path and mtime (a Debian-sized tree is tens of megabytes: a few are kept). */
const COMPARED_MAX = 4;
const compared = new WeakMap<HostState, Map<string, Tree>>();

/** Open an image read-only: the views answer for it until a project is opened again. */
async function openImageView(state: HostState, file: string): Promise<Response<'image.open'>> {
  const abs = imageName(file);
  const img = await openNamed(await state.store(), abs);
  const shown = shownOfImage(abs, img, await state.store());
  state.image = { file: abs, img, shown };
  state.reset();
  await remember(configDirOf(state), { image: abs });
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

async function side(state: HostState, s: CompareSide): Promise<Tree> {
  if ('build' in s) {
    if (s.build === 'current') {
      const shown = state.image ? undefined : state.shown();
      if (!shown) throw new Error('an image is open: go back to the project to compare its builds');
      return shown.states[shown.states.length - 1];
    }
    if (!state.previous) throw new Error('no earlier build in this window to compare with: build again, or use History (Compare with previous) for builds kept from before');
    return state.previous;
  }
  if ('layer' in s) {
    const shown = state.shown();
    const i = shown.names.indexOf(s.layer);
    if (i === -1) throw new Error(`no layer named "${s.layer}"`);
    return shown.states[i];
  }
  const abs = imageName(s.image);
  if (state.image?.file === abs) return state.image.shown.states[state.image.shown.states.length - 1];
  const st = await fs.stat(abs).catch(() => undefined);
  const key = `${abs}\0${st?.mtimeMs}\0${st?.size}`;
  let cache = compared.get(state);
  if (!cache) compared.set(state, (cache = new Map()));
  let t = cache.get(key);
  if (!t) {
    const img = await openNamed(await state.store(), abs);
    t = img.states[img.states.length - 1] ?? new Map();
    if (cache.size >= COMPARED_MAX) cache.delete(cache.keys().next().value!);
    cache.set(key, t);
  }
  return t;
}

export const inspectHandlers: Handlers<'image.open' | 'image.inspect' | 'image.sizeMap' | 'image.largest' | 'image.compare' | 'image.saveFile' | 'image.exportLayer' | 'images.local' | 'packages.list'> = {
  'image.open': (req, state) => openImageView(state, req.path),
  'images.local': (_req, state) => localImagesReply(state.lifetime.signal),
  'packages.list': async (_req, state) => {
    const store = await state.store();
    return packagesReply(path.dirname(state.recipeFile()), state.cacheDir, { build: state.result, restored: state.result ? undefined : state.restored && { ...state.restored, store }, image: state.image && { img: state.image.img, store } });
  },
  'image.inspect': (_req, state) => analysis(state.shown()),
  'image.sizeMap': (req, state) => sizeMapOf(state.shown(), req.layer, req.dir, req.depth),
  'image.largest': (req, state) => largestOf(state.shown(), req.layer, req.n),
  'image.compare': async (req, state) => compareOf({ label: sideLabel(req.a), tree: await side(state, req.a) }, { label: sideLabel(req.b), tree: await side(state, req.b) }, req.fileList),
  'image.saveFile': (req, state) => saveFile(state.shown(), viewOf(state, req.layer).tree, req.path, req.to),
  'image.exportLayer': (req, state) => exportLayer(state.shown(), req.layer, req.to),
};
