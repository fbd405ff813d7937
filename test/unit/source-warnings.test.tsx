// @vitest-environment happy-dom
// Host-source warnings on the source itself: a real EngineSession builds two
// host sources, one bringing a dangling link; the layer stack marks that
// source (and only it) and its form lists the warning.
import { act, cleanup, render, screen, within } from '@testing-library/react';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineApi } from '../../shared/contract';
import { sessionBridge } from '../helpers/session';
import { writeProject } from '../helpers/projects';

const work = mkdtempSync(path.join(os.tmpdir(), 'sy-source-warnings-'));
const conf = path.join(work, 'host/conf');
const clean = path.join(work, 'host/clean');
mkdirSync(conf, { recursive: true });
mkdirSync(clean, { recursive: true });
writeFileSync(path.join(conf, 'app.conf'), 'x\n');
writeFileSync(path.join(clean, 'ok.txt'), 'ok\n');
symlinkSync('/nonexistent/target', path.join(conf, 'dangling'));
const project = writeProject(path.join(work, 'p'), `name: w\nlayers:\n  - name: base\n    sources:\n      - kind: host\n        paths: [${clean}]\n      - kind: host\n        paths: [${conf}]\n`);
const { session, bridge } = sessionBridge(project, path.join(work, 'cache'));

let store: typeof import('../../renderer/src/store');
let stack: typeof import('../../renderer/src/views/LayerStack');
let form: typeof import('../../renderer/src/views/SourceForm');

beforeAll(async () => {
  (window as unknown as { scratchyard: EngineApi }).scratchyard = bridge;
  store = await import('../../renderer/src/store');
  stack = await import('../../renderer/src/views/LayerStack');
  form = await import('../../renderer/src/views/SourceForm');
  await store.useStore.getState().open();
});

afterAll(() => {
  cleanup();
  session.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('host-source warnings on the source', () => {
  it('the layer stack marks the source that brought a dangling link, and its form lists it', async () => {
    render(<stack.LayerStack />);
    await act(() => store.useStore.getState().runBuild());
    expect(store.useStore.getState().build?.ok).toBe(true);
    const sources = screen.getAllByRole('button', { name: /^Edit host source of base/ });
    expect(sources).toHaveLength(2);
    expect(within(sources[0]).queryByRole('img')).toBeNull();
    expect(within(sources[1]).getByRole('img', { name: '1 warning' }).textContent).toBe('⚠ 1');

    act(() => store.useStore.getState().selectSource(0, 1));
    render(<form.SourceForm />);
    const region = screen.getByRole('region', { name: 'Warnings of this source' });
    expect(region.textContent).toContain(`dangling-symlink ${conf}/dangling`);
    expect(region.textContent).toContain('/nonexistent does not exist');
  });

  it('the clean source has no warnings in its form, and a build without the link clears the mark', async () => {
    act(() => store.useStore.getState().selectSource(0, 0));
    expect(screen.queryByRole('region', { name: 'Warnings of this source' })).toBeNull();
    rmSync(path.join(conf, 'dangling'));
    await act(() => store.useStore.getState().runBuild());
    expect(screen.queryByRole('img', { name: /warning/ })).toBeNull();
  });
});
