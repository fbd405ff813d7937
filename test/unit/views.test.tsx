// @vitest-environment happy-dom
// The store and views in a DOM, wired to a real EngineSession in this process
// through the same EngineApi the preload exposes: no mock engine, real builds.
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineApi } from '../../shared/contract';
import { sessionBridge } from '../helpers/session';
import { copyExample } from '../helpers/projects';

const work = mkdtempSync(path.join(os.tmpdir(), 'sy-views-'));
const project = path.join(work, 'hello');
copyExample('hello', project);

const { session, bridge } = sessionBridge(project, path.join(work, 'cache'));

// Loaded after the bridge is in place, as the preload would have it.
let store: typeof import('../../renderer/src/store');
let views: typeof import('../../renderer/src/views/Panels');
let explorer: typeof import('../../renderer/src/views/Explorer');
let form: typeof import('../../renderer/src/views/SourceForm');

beforeAll(async () => {
  (window as unknown as { scratchyard: EngineApi }).scratchyard = bridge;
  store = await import('../../renderer/src/store');
  views = await import('../../renderer/src/views/Panels');
  explorer = await import('../../renderer/src/views/Explorer');
  form = await import('../../renderer/src/views/SourceForm');
  await store.useStore.getState().open();
});

afterAll(() => {
  cleanup();
  session.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('store', () => {
  it('opens the project and validates edits through the engine', async () => {
    const s = store.useStore.getState();
    expect(s.project?.name).toBe('hello');
    expect(s.problems).toEqual([]);
    await s.editYaml(s.yaml.replace('name: hello', 'name: Hello World'));
    expect(store.useStore.getState().problems.map((p) => p.field)).toEqual(['name']);
    await s.editYaml(s.yaml);
    expect(store.useStore.getState().problems).toEqual([]);
  });

  it('builds, collects graph nodes and loads the root folder', async () => {
    await store.useStore.getState().runBuild();
    const s = store.useStore.getState();
    expect(s.build?.ok).toBe(true);
    expect(s.nodes.map((n) => n.id)).toEqual(expect.arrayContaining(['layer:libs', 'layer:app', 'export:docker']));
    expect(store.rowsOf(s, '/')?.map((r) => r.name)).toEqual(expect.arrayContaining(['bin', 'lib', 'init']));
  });
});

describe('views', () => {
  it('the layer stack lists layers top first, with their sources', () => {
    render(<views.Layers />);
    const list = screen.getByRole('list', { name: 'Layers' });
    const names = within(list).getAllByRole('button', { pressed: false }).map((b) => b.textContent);
    expect(names.slice(0, 2)).toEqual(['app', 'libs']);
    expect(within(list).getByRole('button', { name: 'Edit busybox source of app' })).toBeTruthy();
    cleanup();
  });

  it('the explorer shows the tree with ls -l modes and the writing layer, and expands folders', async () => {
    render(<explorer.Explorer />);
    const tree = screen.getByRole('tree', { name: 'Image filesystem' });
    const init = within(tree).getByRole('treeitem', { name: /^init/ });
    expect(init.textContent).toContain('-rwxr-xr-x');
    expect(init.textContent).toContain('app');
    await act(async () => {
      fireEvent.click(within(tree).getByRole('treeitem', { name: /^lib\// }));
      await new Promise((r) => setTimeout(r, 50));
    });
    expect(within(tree).getByRole('treeitem', { name: /^x86_64-linux-gnu\// }).textContent).toContain('libs');
    cleanup();
  });

  it('the source form shows an engine error at its field', async () => {
    await act(async () => store.useStore.getState().selectSource(1, 3));
    render(<form.SourceForm />);
    const mode = screen.getByLabelText('Mode (octal)') as HTMLInputElement;
    expect(mode.value).toBe('1777');
    await act(async () => {
      fireEvent.change(mode, { target: { value: 'abc' } });
      await new Promise((r) => setTimeout(r, 50));
    });
    expect(screen.getByRole('alert').textContent).toContain('expected an octal string');
    expect(store.useStore.getState().yaml).toContain('mode: "abc"');
    cleanup();
  });
});
