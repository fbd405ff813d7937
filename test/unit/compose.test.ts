// Composing edits of scratchyard.yaml and their history: each edit gives a
// recipe the engine's own schema accepts, keeps the user's comments, and
// undo/redo walk back and forth through exactly the texts seen.
import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../electron/engine/graph/project';
import { canRedo, canUndo, record, redo, startHistory, undo } from '../../renderer/src/history';
import { addLayer, addStage, defaultSource, deleteLayer, deleteSource, freeName, insertSource, insideProject, moveLayer, moveSource, NEW_STAGE, PALETTE, renameLayer } from '../../renderer/src/recipeEdits';
import { layersOf, stagesOf } from '../../renderer/src/recipeText';
import { sourceSchema } from '../../shared/recipe';

const text = `# my image, keep this
name: x
layers:
  # the base, keep me too
  - name: base
    sources:
      - kind: busybox # the shell
  - name: app
    sources:
      - kind: file
        path: /init
        content: "hi"
      - kind: dir
        path: /srv
  - name: extra
    diffbase: app
    sources:
      - kind: libs
        from: [app]
`;
const names = (t: string) => layersOf(t)!.map((l) => l.name);
const valid = (t: string) => parseRecipe(t, 'scratchyard.yaml');

describe('palette defaults', () => {
  it('every palette item adds a source the recipe schema accepts, with the dropped-on folder as its destination', () => {
    for (const k of PALETTE) {
      const s = defaultSource(k.id, '/srv', 'tools');
      expect(sourceSchema.safeParse(s).success, `${k.id}: ${JSON.stringify(s)}`).toBe(true);
    }
    expect(defaultSource('copy', '/srv')).toMatchObject({ kind: 'copy', dest: '/srv' });
    // The Image item goes first in the first layer, the one place the schema takes it; anywhere else it refuses.
    const based = insertSource(text, 0, defaultSource('image'), 0);
    expect(based).toMatch(/^ {6}- kind: image\n {8}ref: docker:\/\//m);
    expect(valid(based).layers[0].sources[0]).toMatchObject({ kind: 'image' });
    expect(() => valid(insertSource(text, 0, defaultSource('image')))).toThrow(/first source of the first layer/);
    expect(defaultSource('file', '/srv')).toMatchObject({ path: '/srv/new-file' });
    expect(defaultSource('file', '/')).toMatchObject({ path: '/new-file' });
    expect(defaultSource('copy-stage', '/opt', 'tools')).toMatchObject({ from: 'tools', dest: '/opt/' });
    expect(defaultSource('run-mount', '/', 'tools')).toMatchObject({ kind: 'run', mounts: [{ stage: 'tools', at: '/.tools' }] });
    expect(() => defaultSource('nope')).toThrow(/unknown palette item "nope"/);
    expect(NEW_STAGE).toBe('stage');
  });

  it('a stage-related source with a new stage validates as a whole recipe', () => {
    const withStage = addStage(text);
    expect(withStage.name).toBe('tools');
    expect(stagesOf(withStage.text)).toEqual(['tools']);
    const t = insertSource(withStage.text, 1, defaultSource('copy-stage', '/srv', 'tools'));
    const r = valid(t);
    expect(r.stages.map((s) => s.name)).toEqual(['tools']);
    expect(r.layers[1].sources[2]).toMatchObject({ kind: 'copy', from: 'tools' });
    // Stages are written before the layers, and a second one gets a free name.
    expect(t.indexOf('stages:')).toBeLessThan(t.indexOf('layers:'));
    expect(addStage(t).name).toBe('tools-2');
  });
});

describe('layer and source edits', () => {
  it('insertSource appends, or inserts at a position, and keeps comments', () => {
    const t = insertSource(text, 0, { kind: 'dir', path: '/tmp', mode: '1777' });
    expect(layersOf(t)![0].sources.map((s) => s.kind)).toEqual(['busybox', 'dir']);
    expect(t).toContain('# my image, keep this');
    expect(t).toContain('# the shell');
    const t2 = insertSource(text, 1, { kind: 'busybox' }, 0);
    expect(layersOf(t2)![1].sources.map((s) => s.kind)).toEqual(['busybox', 'file', 'dir']);
    valid(t2);
  });

  it('moveLayer reorders and carries the comment of the moved layer', () => {
    const t = moveLayer(text, 0, 1);
    expect(names(t)).toEqual(['app', 'base', 'extra']);
    expect(t.indexOf('# the base, keep me too')).toBeLessThan(t.indexOf('- name: base'));
    expect(t.indexOf('# the base, keep me too')).toBeGreaterThan(t.indexOf('- name: app'));
    expect(moveLayer(text, 1, 1)).toBe(text);
    expect(() => moveLayer(text, 0, 9)).toThrow(/no layer there/);
  });

  it('moveSource moves a source between layers, with its comment', () => {
    const t = moveSource(text, [0, 0], 1);
    const ls = layersOf(t)!;
    expect(ls[0].sources).toEqual([]);
    expect(ls[1].sources.map((s) => s.kind)).toEqual(['file', 'dir', 'busybox']);
    expect(t).toContain('kind: busybox # the shell');
    valid(t);
  });

  it('addLayer picks a free name; renameLayer follows diffbase and libs.from; deleteLayer removes', () => {
    const a = addLayer(text);
    expect(a.name).toBe('layer');
    expect(addLayer(a.text).name).toBe('layer-2');
    expect(names(a.text)).toEqual(['base', 'app', 'extra', 'layer']);
    // Sources added to a new (or emptied) layer are written as a block list, like the rest.
    expect(insertSource(a.text, 3, { kind: 'busybox' })).toMatch(/- name: layer\n {4}sources:\n {6}- kind: busybox\n$/);
    const emptied = moveSource(text, [0, 0], 1);
    expect(emptied).toContain('sources: []');
    expect(moveSource(emptied, [1, 2], 0)).toMatch(/- name: base # the folders|sources:\n {6}- kind: busybox # the shell/);
    expect(insertSource(emptied, 0, { kind: 'dir', path: '/x' })).toMatch(/- name: base\n {4}sources:\n {6}- kind: dir\n {8}path: \/x\n/);
    valid(a.text);
    const r = renameLayer(text, 1, 'web');
    expect(names(r)).toEqual(['base', 'web', 'extra']);
    expect(r).toContain('diffbase: web');
    expect(r).toMatch(/from: \[ web \]|from: \[web\]/);
    valid(r);
    expect(() => renameLayer(text, 1, 'base')).toThrow(/already named "base"/);
    const d = deleteLayer(text, 0);
    expect(names(d)).toEqual(['app', 'extra']);
    expect(layersOf(deleteSource(text, 1, 0))![1].sources.map((s) => s.kind)).toEqual(['dir']);
  });

  it('refuses to edit a text that does not parse, saying so', () => {
    expect(() => moveLayer('layers: [', 0, 1)).toThrow(/does not parse/);
  });

  it('freeName', () => {
    expect(freeName(['a', 'a-2'], 'a')).toBe('a-3');
  });

  it('insideProject tells a project path from an outside one', () => {
    expect(insideProject('/p/proj', '/p/proj/files/a.txt')).toBe('files/a.txt');
    expect(insideProject('/p/proj/', '/p/proj')).toBe('.');
    expect(insideProject('/p/proj', '/p/project2/a')).toBeUndefined();
  });
});

describe('history', () => {
  it('records, undoes and redoes; a new edit drops the redo branch', () => {
    let h = startHistory('a');
    expect(canUndo(h)).toBe(false);
    h = record(h, 'b');
    h = record(h, 'c');
    expect(record(h, 'c')).toBe(h);
    h = undo(h);
    expect(h.present).toBe('b');
    expect(canRedo(h)).toBe(true);
    h = undo(h);
    expect(h.present).toBe('a');
    expect(undo(h)).toBe(h);
    h = redo(h);
    expect(h.present).toBe('b');
    h = record(h, 'd');
    expect(canRedo(h)).toBe(false);
    expect(h.past).toEqual(['a', 'b']);
  });

  it('keeps at most the limit of steps', () => {
    let h = startHistory('0');
    for (let i = 1; i <= 10; i++) h = record(h, String(i), 3);
    expect(h.past).toEqual(['7', '8', '9']);
  });

  it('undo of a layer move restores the exact text', () => {
    let h = startHistory(text);
    h = record(h, moveLayer(text, 0, 1));
    expect(names(h.present)).toEqual(['app', 'base', 'extra']);
    expect(undo(h).present).toBe(text);
  });
});
