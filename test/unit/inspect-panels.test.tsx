// @vitest-environment happy-dom
// The Inspect and Compare views in a DOM against a real EngineSession in this
// process: the empty states (nothing built, nothing wasted, no previous build)
// and the read-only switch when an image is opened.
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineApi } from '../../shared/contract';
import { sessionBridge } from '../helpers/session';
import { writeProject } from '../helpers/projects';

const work = mkdtempSync(path.join(os.tmpdir(), 'sy-inspect-views-'));
const project = writeProject(
  path.join(work, 'tidy'),
  `name: tidy
layers:
  - name: one
    sources:
      - kind: file
        path: /etc/motd
        content: "hello\\n"
  - name: two
    sources:
      - kind: file
        path: /srv/data.txt
        content: "0123456789"
`,
);

const { session, bridge } = sessionBridge(project, path.join(work, 'cache'));

let store: typeof import('../../renderer/src/store');
let inspect: typeof import('../../renderer/src/views/Inspect');
const settle = () => act(() => new Promise((r) => setTimeout(r, 80)));

beforeAll(async () => {
  (window as unknown as { scratchyard: EngineApi }).scratchyard = bridge;
  store = await import('../../renderer/src/store');
  inspect = await import('../../renderer/src/views/Inspect');
  await store.useStore.getState().open();
});

afterAll(() => {
  cleanup();
  session.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('Inspect', () => {
  it('says what to do before a build', () => {
    render(<inspect.Inspect />);
    expect(screen.getByText(/Nothing built yet/).textContent).toContain('Open image…');
    cleanup();
  });

  it('a build with nothing overwritten or removed: 0 wasted, 100 % efficient, and it says so', async () => {
    await store.useStore.getState().runBuild();
    render(<inspect.Inspect />);
    await settle();
    const wasted = screen.getByLabelText('Wasted space');
    expect(wasted.textContent).toContain('0 bytes stored in layers');
    expect(screen.getByRole('figure', { name: 'Efficiency' }).textContent).toContain('100.0 %');
    expect(screen.getByText(/Nothing wasted/)).toBeTruthy();
    expect(screen.queryByRole('table', { name: 'Wasteful paths' })).toBeNull();
    const rows = within(screen.getByRole('table', { name: 'Layers of the image' })).getAllByRole('row');
    expect(rows.map((r) => r.textContent)).toEqual([expect.stringContaining('Layer'), expect.stringContaining('one'), expect.stringContaining('two')]);
    // Largest file of the image: the ten-byte one, written by layer two.
    const largest = within(screen.getByRole('table', { name: 'Largest files' })).getAllByRole('row');
    expect(largest[1].textContent).toMatch(/^\/srv\/data\.txttwo: file10 B$/);
    cleanup();
  });
});

describe('Compare', () => {
  it('one build only: comparing builds says to build again, or where older builds are', async () => {
    render(<inspect.Compare />);
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Compare' })));
    await settle();
    expect(screen.getByRole('alert').textContent).toMatch(/no earlier build in this window.*build again.*History/);
    cleanup();
  });

  it('two layers: the added file, in the added colour', async () => {
    render(<inspect.Compare />);
    fireEvent.change(screen.getByRole('combobox', { name: 'A: what' }), { target: { value: 'layer' } });
    fireEvent.change(screen.getByRole('combobox', { name: 'B: what' }), { target: { value: 'layer' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Compare' })));
    await settle();
    const rows = within(screen.getByRole('table', { name: 'Changed paths' })).getAllByRole('row').slice(1);
    expect(rows.map((r) => [r.className, [...r.children].map((c) => c.textContent)])).toEqual([
      ['added', ['added', '/srv/', '']],
      ['added', ['added', '/srv/data.txt', '10 B']],
    ]);
    // Sortable: by size, largest first.
    fireEvent.click(screen.getByRole('button', { name: 'Size' }));
    expect(within(screen.getByRole('table', { name: 'Changed paths' })).getAllByRole('row')[1].textContent).toContain('/srv/data.txt');
    expect(screen.getByRole('columnheader', { name: /Size/ }).getAttribute('aria-sort')).toBe('descending');
    cleanup();
  });
});

describe('an opened image', () => {
  it('is read-only: the session refuses builds and saves, and project.open returns to the project', async () => {
    await store.useStore.getState().openImage(path.join(project, 'out/tidy.docker.tar'));
    const s = store.useStore.getState();
    expect(s.project?.readOnly).toBe(true);
    expect(s.project?.layers.map((l) => l.name)).toEqual([expect.stringMatching(/^1 sha256:[0-9a-f]{12}$/), expect.stringMatching(/^2 sha256:[0-9a-f]{12}$/)]);
    expect(s.tab).toBe('inspect');
    await expect(bridge.request({ cmd: 'build.start' })).rejects.toThrow(/read-only/);
    await expect(bridge.request({ cmd: 'project.save', text: 'name: x\n' })).rejects.toThrow(/read-only/);
    // The explorer's requests answer for the image: its top layer's diff adds /srv/data.txt.
    const diff = await bridge.request({ cmd: 'diff.layer', layer: s.project!.layers[1].name });
    expect(diff.paths.filter((p) => p.change === 'added').map((p) => p.path)).toEqual(['/srv', '/srv/data.txt']);
    await store.useStore.getState().open();
    expect(store.useStore.getState().project?.readOnly).toBeUndefined();
    expect(store.useStore.getState().project?.name).toBe('tidy');
  });
});
