// @vitest-environment happy-dom
// Host-source warnings in the app: a real EngineSession builds a host source
// with a dangling link; the event it sends passes the contract and the build
// panel lists it apart from the graph.
import { act, cleanup, render, screen, within } from '@testing-library/react';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchema, type EngineApi, type EngineEvent } from '../../shared/contract';
import { sessionBridge } from '../helpers/session';
import { writeProject } from '../helpers/projects';

const work = mkdtempSync(path.join(os.tmpdir(), 'sy-build-warnings-'));
const conf = path.join(work, 'host/conf');
mkdirSync(conf, { recursive: true });
writeFileSync(path.join(conf, 'app.conf'), 'x\n');
symlinkSync('/nonexistent/target', path.join(conf, 'dangling'));
const project = writeProject(path.join(work, 'p'), `name: w\nlayers:\n  - name: base\n    sources:\n      - kind: host\n        paths: [${conf}]\n`);
const { session, bridge } = sessionBridge(project, path.join(work, 'cache'));
const events: EngineEvent[] = [];
bridge.onEvent((e) => events.push(e));

let store: typeof import('../../renderer/src/store');
let views: typeof import('../../renderer/src/views/Panels');

beforeAll(async () => {
  (window as unknown as { scratchyard: EngineApi }).scratchyard = bridge;
  store = await import('../../renderer/src/store');
  views = await import('../../renderer/src/views/Panels');
  await store.useStore.getState().open();
});

afterAll(() => {
  cleanup();
  session.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('build warnings in the app', () => {
  it('the session sends a contract-valid build.warning, and the build panel lists it', async () => {
    render(<views.BuildPanel />);
    await act(() => store.useStore.getState().runBuild());
    expect(store.useStore.getState().build?.ok).toBe(true);
    const warnings = events.filter((e) => e.event === 'build.warning');
    expect(warnings).toEqual([expect.objectContaining({ kind: 'dangling-symlink', image: `${conf}/dangling`, host: `${conf}/dangling`, field: 'layers[0].sources[0]' })]);
    for (const e of events) expect(eventSchema.safeParse(e).success).toBe(true);
    const list = screen.getByRole('list', { name: 'Build warnings' });
    const items = within(list).getAllByRole('listitem');
    expect(items).toHaveLength(1);
    expect(items[0].textContent).toContain(`dangling-symlink ${conf}/dangling`);
    expect(items[0].textContent).toContain('/nonexistent does not exist');
  });

  it('a new build starts with no warnings of the last one', async () => {
    rmSync(path.join(conf, 'dangling'));
    await act(() => store.useStore.getState().runBuild());
    expect(store.useStore.getState().warnings).toEqual([]);
    expect(screen.queryByRole('list', { name: 'Build warnings' })).toBeNull();
  });
});
