// @vitest-environment happy-dom
// The compose store against a real EngineSession in this process: every text
// change is one undoable step whoever made it (a field typed letter by letter
// is one), Save writes and rebuilds, and opening another project starts a
// fresh history.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineApi } from '../../shared/contract';
import { sessionBridge } from '../helpers/session';
import { writeProject } from '../helpers/projects';

const work = mkdtempSync(path.join(os.tmpdir(), 'sy-compose-store-'));
const yaml = '# keep\nname: c\nlayers:\n  - name: a # first\n    sources:\n      - kind: dir\n        path: /srv\n  - name: b\n';
const project = writeProject(path.join(work, 'c'), yaml);
const other = writeProject(path.join(work, 'd'), 'name: d\nlayers:\n  - name: x\n');
const { session, bridge } = sessionBridge(project, path.join(work, 'cache'));

let store: typeof import('../../renderer/src/store');
let compose: typeof import('../../renderer/src/compose');
let edits: typeof import('../../renderer/src/recipeEdits');
let text: typeof import('../../renderer/src/recipeText');

beforeAll(async () => {
  (window as unknown as { scratchyard: EngineApi }).scratchyard = bridge;
  store = await import('../../renderer/src/store');
  compose = await import('../../renderer/src/compose');
  edits = await import('../../renderer/src/recipeEdits');
  text = await import('../../renderer/src/recipeText');
  await store.useStore.getState().open();
});

afterAll(() => {
  session.dispose();
  rmSync(work, { recursive: true, force: true });
});

const names = () => text.layersOf(store.useStore.getState().yaml)!.map((l) => l.name);

describe('compose store', () => {
  it('records palette, stack and form edits alike, and undo / redo walk them', async () => {
    const c = compose.useCompose.getState();
    expect(compose.canUndo(c.history)).toBe(false);
    c.dropPalette('busybox', 1);
    expect(text.layersOf(store.useStore.getState().yaml)![1].sources).toEqual([{ kind: 'busybox' }]);
    expect(store.useStore.getState().selectedSource).toEqual([1, 0]);
    c.apply((t) => edits.moveLayer(t, 1, 0));
    expect(names()).toEqual(['b', 'a']);
    // A form's edit goes straight to the main store; it is a step all the same.
    await store.useStore.getState().editYaml(text.setField(store.useStore.getState().yaml, ['layers', 1, 'sources', 0, 'path'], '/data'));
    expect(compose.useCompose.getState().history.past).toHaveLength(3);
    expect(compose.isDirty()).toBe(true);
    c.undo();
    c.undo();
    expect(names()).toEqual(['a', 'b']);
    c.redo();
    expect(names()).toEqual(['b', 'a']);
    c.undo();
    c.undo();
    expect(store.useStore.getState().yaml).toBe(yaml);
    expect(compose.isDirty()).toBe(false);
  });

  it('an edit that cannot apply leaves the text and says why', () => {
    const before = store.useStore.getState().yaml;
    compose.useCompose.getState().apply((t) => edits.renameLayer(t, 0, 'b'));
    expect(store.useStore.getState().yaml).toBe(before);
    expect(compose.useCompose.getState().notice).toMatch(/already named "b"/);
  });

  it('Save writes the file with the comments and rebuilds', async () => {
    const c = compose.useCompose.getState();
    c.apply((t) => edits.moveLayer(t, 1, 0));
    await c.save();
    const saved = readFileSync(path.join(project, 'scratchyard.yaml'), 'utf8');
    expect(saved).toBe('# keep\nname: c\nlayers:\n  - name: b\n  - name: a # first\n    sources:\n      - kind: dir\n        path: /srv\n');
    const s = store.useStore.getState();
    expect(s.build?.ok).toBe(true);
    expect(s.build?.layers.map((l) => l.name)).toEqual(['b', 'a']);
    expect(compose.isDirty()).toBe(false);
    // Undo after a save: the text differs from the file again.
    c.undo();
    expect(compose.isDirty()).toBe(true);
  });

  it('opening another project starts a fresh history', async () => {
    await store.useStore.getState().open(other);
    const h = compose.useCompose.getState().history;
    expect(h.past).toEqual([]);
    expect(h.present).toBe(store.useStore.getState().yaml);
  });

  it('a field typed letter by letter is one undo step, a second field the next, the same field after it lost focus another', () => {
    const c = compose.useCompose.getState();
    const start = store.useStore.getState().yaml;
    const type = (path: (string | number)[], word: string) => {
      for (let i = 1; i <= word.length; i++) c.edit(text.setField(store.useStore.getState().yaml, path, word.slice(0, i)), text.fieldName(path));
    };
    type(['layers', 0, 'name'], 'server');
    type(['name'], 'demo');
    expect(store.useStore.getState().yaml).toBe('name: demo\nlayers:\n  - name: server\n');
    expect(compose.useCompose.getState().history.past).toHaveLength(2);
    c.seal();
    type(['name'], 'demo2');
    expect(compose.useCompose.getState().history.past).toHaveLength(3);
    c.undo();
    c.undo();
    expect(store.useStore.getState().yaml).toBe('name: d\nlayers:\n  - name: server\n');
    c.undo();
    expect(store.useStore.getState().yaml).toBe(start);
  });
});
