// The filter and the layer view's sizes as the window asks for them: a real
// EngineSession (issue 15) built from the hello example, no mocks.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Response } from '../../shared/contract';
import { tempDir } from '../helpers/env';
import { copyExample } from '../helpers/projects';
import { sessionBridge } from '../helpers/session';

const work = tempDir('sy-filter-');
const project = path.join(work, 'hello');
copyExample('hello', project);
const { session, bridge } = sessionBridge(project, path.join(work, 'cache'));
type Page = Response<'tree.page'>;
const page = (layer: string | null, filter?: { pattern: string; changesOnly?: boolean }) => bridge.request({ cmd: 'tree.page', layer, dir: '/', offset: 0, limit: 5000, ...(filter ? { filter } : {}) }) as Promise<Page>;

describe('tree.page with a filter', () => {
  beforeAll(async () => {
    await session.handle({ cmd: 'project.open' });
    const b = (await session.handle({ cmd: 'build.start' })) as Response<'build.start'>;
    expect(b.ok, b.error).toBe(true);
    // Our layers are labelled by recipe name and sources.
    expect(b.layers.map((l) => l.label)).toEqual(['libs: libs', 'app: busybox, host, symlink, dir, file']);
  });
  afterAll(() => session.dispose());

  it('finds a library in folders never listed, with the folders leading to it, depth by depth', async () => {
    const r = await page(null, { pattern: 'libtinfo*' });
    expect(r.matches).toBeGreaterThanOrEqual(1);
    const hit = r.rows.find((x) => x.name.startsWith('libtinfo'))!;
    expect(hit.match).toBe(true);
    // Every folder on its way is listed before it, one level up each.
    const parts = hit.path.split('/').slice(1, -1);
    expect(r.rows.slice(0, parts.length).map((x) => [x.path, x.depth])).toEqual(parts.map((_, i) => ['/' + parts.slice(0, i + 1).join('/'), i + 1]));
    expect(hit.depth).toBe(parts.length + 1);
    expect(await page(null, { pattern: 'no-such-thing-at-all' })).toEqual({ rows: [], total: 0, matches: 0 });
  });

  it('changes only: a layer view without the folders it leaves unchanged', async () => {
    const r = await page('app', { pattern: '', changesOnly: true });
    const top = r.rows.filter((x) => x.depth === 1).map((x) => x.name);
    expect(top).toContain('bin');
    expect(top).not.toContain('lib');
    expect(r.rows.every((x) => x.change !== 'unchanged' || x.type === 'dir')).toBe(true);
  });

  it('sizes a folder in a layer view by what that layer stores under it', async () => {
    const merged = await page(null);
    const app = await page('app');
    const size = (p: Page, name: string) => p.rows.find((x) => x.name === name)!.size;
    // /lib holds the libs layer's libraries: nothing of app's.
    expect(size(merged, 'lib')).toBeGreaterThan(0);
    expect(size(app, 'lib')).toBe(0);
    expect(size(app, 'bin')).toBeGreaterThan(0);
  });
});
