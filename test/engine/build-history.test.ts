// Issue 15: the engine host keeps each project's builds in the cache and shows
// the last one when the project opens again, without building (no build
// events, the views answer at once). The history file is the cache's, so
// untrusted: a tampered, oversized or linked file is refused naming it, a
// record pointing elsewhere shows nothing from there, and nothing outside the
// cache is touched.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EngineEvent, Response } from '../../shared/contract';
import { EngineSession } from '../../electron/host/session';
import { historyPath } from '../../electron/host/services/history';
import { writeProject } from '../helpers/projects';
import { arena, outsideState } from '../helpers/hostile';

const a = arena('sy-history-');
const project = writeProject(path.join(a.dir, 'p'), 'name: p\nlayers:\n  - name: app\n    sources:\n      - kind: file\n        path: /hello\n        content: "hi\\n"\n');
const recipe = path.join(project, 'scratchyard.yaml');
const configDir = path.join(a.cache, 'config');
const sessions: EngineSession[] = [];

function open(): { s: EngineSession; events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  const s = new EngineSession({ project, cacheDir: a.cache, configDir, emit: (e) => events.push(e) });
  sessions.push(s);
  return { s, events };
}
const req = <T>(s: EngineSession, r: unknown) => s.handle(r) as Promise<T>;

afterAll(async () => {
  for (const s of sessions) await s.close();
  rmSync(a.dir, { recursive: true, force: true });
});

describe('build history and the restored build', () => {
  it('a build is recorded; the next open shows it from the history and out/ without building', async () => {
    const first = open();
    await req(first.s, { cmd: 'project.open' });
    const built = await req<Response<'build.start'>>(first.s, { cmd: 'build.start' });
    expect(built.ok).toBe(true);
    expect(built.record).toMatchObject({ ok: true, layers: [{ name: 'app' }], cacheHits: 0 });
    expect(built.record!.outputs.oci).toBe(path.join(project, 'out', 'p.oci'));

    const again = open();
    const t0 = performance.now();
    const info = await req<Response<'project.open'>>(again.s, { cmd: 'project.open' });
    console.log(`project.open with the restored build: ${Math.round(performance.now() - t0)} ms`);
    expect(info.lastBuild).toMatchObject({ ok: true, restored: true, manifestDigest: built.manifestDigest });
    const page = await req<Response<'tree.page'>>(again.s, { cmd: 'tree.page', layer: null, dir: '/', offset: 0, limit: 10 });
    expect(page.rows.map((r) => [r.path, r.layer])).toEqual([['/hello', 'app']]);
    const lines = await req<Response<'filelist.get'>>(again.s, { cmd: 'filelist.get', layer: 'app' });
    expect(lines.lines.join('\n')).toContain('./hello');
    expect(again.events.filter((e) => e.event.startsWith('build.'))).toEqual([]);
    // The graph is kept with the record, so the restored build draws as it ran.
    expect(info.lastBuild!.record!.graph!.map((n) => n.id)).toEqual(built.record!.graph!.map((n) => n.id));
    expect(info.lastBuild!.record!.graph!.map((n) => n.id)).toContain('image');
    expect(new Set(info.lastBuild!.record!.nodes!.map((n) => n.state))).toEqual(new Set(['done']));
    const recent = await req<Response<'recent.list'>>(again.s, { cmd: 'recent.list' });
    expect(recent.projects[0]).toMatchObject({ path: project, name: 'p' });
    // The lock as the build found it, kept with the record: the restored build says the same, and its packages list.
    expect(built.record!.lock?.state).toBe('locked');
    expect(built.lock).toEqual(built.record!.lock);
    expect(info.lastBuild!.lock).toEqual(built.record!.lock);
    const packages = await req<Response<'packages.list'>>(again.s, { cmd: 'packages.list' });
    expect(packages).toMatchObject({ of: 'build', lock: { state: 'locked' } });
  });

  it('a folder both layers hold is named for the same layer after a reload as right after the build', async () => {
    const two = writeProject(path.join(a.dir, 'two'), 'name: two\nlayers:\n  - name: low\n    sources:\n      - kind: file\n        path: /var/low\n        content: "1\\n"\n  - name: high\n    sources:\n      - kind: file\n        path: /var/high\n        content: "2\\n"\n');
    const rows = async (s: EngineSession) => (await req<Response<'tree.page'>>(s, { cmd: 'tree.page', layer: null, dir: '/var', offset: 0, limit: 10 })).rows.map((r) => [r.path, r.layer]);
    const first = open();
    await req(first.s, { cmd: 'project.open', path: two });
    expect((await req<Response<'build.start'>>(first.s, { cmd: 'build.start' })).ok).toBe(true);
    const root = async (s: EngineSession) => (await req<Response<'tree.page'>>(s, { cmd: 'tree.page', layer: null, dir: '/', offset: 0, limit: 10 })).rows.map((r) => [r.path, r.layer]);
    const built = { root: await root(first.s), var: await rows(first.s) };
    expect(built).toEqual({ root: [['/var', 'low']], var: [['/var/high', 'high'], ['/var/low', 'low']] });
    const again = open();
    await req(again.s, { cmd: 'project.open', path: two });
    expect({ root: await root(again.s), var: await rows(again.s) }).toEqual(built);
  });

  it('a recent project that is gone is not offered, and opening it names it and keeps the project open', async () => {
    const gone = path.join(a.dir, 'gone');
    writeProject(gone, 'name: gone\nlayers: []\n');
    const { s } = open();
    await req(s, { cmd: 'project.open', path: gone });
    await req(s, { cmd: 'project.open', path: project });
    expect((await req<Response<'recent.list'>>(s, { cmd: 'recent.list' })).projects.map((p) => p.path)).toContain(gone);
    rmSync(gone, { recursive: true });
    expect((await req<Response<'recent.list'>>(s, { cmd: 'recent.list' })).projects.map((p) => p.path)).not.toContain(gone);
    await expect(req(s, { cmd: 'project.open', path: gone })).rejects.toThrow(`${gone}: no such file or folder`);
    mkdirSync(gone);
    await expect(req(s, { cmd: 'project.open', path: gone })).rejects.toThrow(`${gone}: no scratchyard.yaml there`);
    // Still the project it had open: its tree answers.
    const page = await req<Response<'tree.page'>>(s, { cmd: 'tree.page', layer: null, dir: '/', offset: 0, limit: 10 });
    expect(page.rows.map((r) => r.path)).toEqual(['/hello']);
  });

  it('refuses a tampered history naming the file and the record, and touches nothing outside the cache', async () => {
    const file = historyPath(a.cache, recipe);
    const good = JSON.parse(readFileSync(file, 'utf8')) as { project: string; records: Record<string, unknown>[] };
    const cases: [string, () => void, RegExp][] = [
      ['not JSON', () => writeFileSync(file, '{'), /is not JSON/],
      ['a forged digest and a field too many', () => writeFileSync(file, JSON.stringify({ ...good, records: [{ ...good.records[0], manifestDigest: 'sha256:../../canary', extra: 1 }] })), /record 0: .*manifestDigest/],
      ['a graph node too long', () => writeFileSync(file, JSON.stringify({ ...good, records: [{ ...good.records[0], graph: [{ id: 'x'.repeat(1025), label: 'x', kind: 'image', deps: [] }] }] })), /record 0: graph\.0\.id/],
      ['another project', () => writeFileSync(file, JSON.stringify({ ...good, project: '/elsewhere/scratchyard.yaml' })), /the history of \/elsewhere/],
      ['oversized', () => writeFileSync(file, ' '.repeat((1 << 20) + 1)), /bytes \(at most/],
      [
        'a symbolic link',
        () => {
          rmSync(file, { force: true });
          symlinkSync(path.join(a.canary, 'keep'), file);
        },
        /symbolic link/,
      ],
    ];
    for (const [what, tamper, says] of cases) {
      rmSync(file, { force: true });
      tamper();
      const before = outsideState(a);
      const { s, events } = open();
      const info = await req<Response<'project.open'>>(s, { cmd: 'project.open' });
      expect(info.lastBuild, what).toBeUndefined();
      const log = events.filter((e) => e.event === 'log').map((e) => (e as { line: string }).line);
      expect(log.join('\n'), what).toMatch(says);
      expect(log.join('\n'), what).toContain(file);
      expect(outsideState(a), what).toEqual(before);
    }
    expect(readFileSync(path.join(a.canary, 'keep'), 'utf8')).toBe('canary\n');
  });

  it('a record whose output is elsewhere or changed shows the record but no views from it', async () => {
    const file = historyPath(a.cache, recipe);
    mkdirSync(path.dirname(file), { recursive: true });
    rmSync(file, { force: true });
    const { s: builder } = open();
    await req(builder, { cmd: 'project.open' });
    const built = await req<Response<'build.start'>>(builder, { cmd: 'build.start' });
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { project: string; records: Record<string, unknown>[] };
    // The record names the canary as its OCI layout: not an image, and not the recorded layers.
    writeFileSync(file, JSON.stringify({ ...doc, records: [{ ...doc.records[0], outputs: { oci: a.canary } }] }));
    const before = outsideState(a);
    const { s } = open();
    const info = await req<Response<'project.open'>>(s, { cmd: 'project.open' });
    expect(info.lastBuild).toMatchObject({ ok: false, restored: true, manifestDigest: built.manifestDigest });
    expect(info.lastBuild!.error).toContain(a.canary);
    await expect(req(s, { cmd: 'tree.page', layer: null, dir: '/', offset: 0, limit: 10 })).rejects.toThrow(/nothing built yet/);
    expect(outsideState(a)).toEqual(before);
    expect(existsSync(path.join(a.canary, 'keep'))).toBe(true);
  });
});
