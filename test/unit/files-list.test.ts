// The file browser's host side (files.list, issue 15 point 8) through a real
// EngineSession: what it refuses (a relative path, a NUL, a missing folder, a
// file) with a message naming the path, and what a listing holds (folders
// first, dot-files on request, projects and OCI layouts marked, sizes, links,
// a cap with the rest counted, the places).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FILES_LIST_MAX, type Response } from '../../shared/contract';
import { tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';
import { sessionBridge } from '../helpers/session';

const work = tempDir('sy-files-');
const project = writeProject(path.join(work, 'proj'), 'name: p\nlayers:\n  - name: one\n    sources:\n      - kind: busybox\n');
const box = path.join(work, 'box');
mkdirSync(path.join(box, 'b-folder'), { recursive: true });
mkdirSync(path.join(box, 'layout'));
writeFileSync(path.join(box, 'layout', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
writeProject(path.join(box, 'Another'), 'name: a\nlayers: []\n');
writeFileSync(path.join(box, 'a-file.tar'), Buffer.alloc(1234));
writeFileSync(path.join(box, '.hidden'), 'x');
symlinkSync(path.join(box, 'b-folder'), path.join(box, 'z-link-to-folder'));
symlinkSync(path.join(box, 'a-file.tar'), path.join(box, 'c-link-to-file'));
symlinkSync(path.join(box, 'nowhere'), path.join(box, 'dangling'));
const { session, bridge } = sessionBridge(project, path.join(work, 'cache'));
afterAll(() => session.dispose());
type Listing = Response<'files.list'>;
const list = (dir?: string, hidden?: boolean) => bridge.request({ cmd: 'files.list', ...(dir !== undefined ? { dir } : {}), ...(hidden ? { hidden } : {}) }) as Promise<Listing>;

describe('files.list refuses, naming the path', () => {
  it('a relative path', async () => {
    await expect(list('proj/sub')).rejects.toThrow(/invalid request: dir: "proj\/sub" is relative: give an absolute path/);
  });
  it('a path with a NUL byte', async () => {
    await expect(list(`${box}\0/etc`)).rejects.toThrow(/dir: ".*box\\u0000\/etc" contains a NUL byte/);
  });
  it('a folder that does not exist', async () => {
    const missing = path.join(work, 'no', 'such');
    await expect(list(missing)).rejects.toThrow(`${missing}: no such file or folder`);
  });
  it('a file', async () => {
    await expect(list(path.join(box, 'a-file.tar'))).rejects.toThrow(`${path.join(box, 'a-file.tar')}: not a folder`);
  });
  it('a request with a field the contract does not have', async () => {
    await expect(bridge.request({ cmd: 'files.list', dir: box, read: true } as never)).rejects.toThrow(/invalid request: .*read/);
  });
});

describe('files.list lists', () => {
  it('folders first (links to folders among them), then files, by name; dot-files left out but counted', async () => {
    const r = await list(box);
    expect(r.dir).toBe(box);
    expect(r.parent).toBe(work);
    expect(r.entries.map((e) => [e.name, e.kind])).toEqual([
      ['Another', 'dir'],
      ['b-folder', 'dir'],
      ['layout', 'dir'],
      ['z-link-to-folder', 'symlink-dir'],
      ['a-file.tar', 'file'],
      ['c-link-to-file', 'file'],
      ['dangling', 'other'],
    ]);
    expect(r.entries.find((e) => e.name === 'a-file.tar')?.size).toBe(1234);
    expect(r.entries.find((e) => e.name === 'c-link-to-file')).toMatchObject({ size: 1234, link: true });
    expect(r.entries.find((e) => e.name === 'Another')?.mark).toBe('project');
    expect(r.entries.find((e) => e.name === 'layout')?.mark).toBe('oci');
    expect(r.hiddenCount).toBe(1);
    expect(r.more).toBe(0);
    const all = await list(box, true);
    expect(all.entries.map((e) => e.name)).toContain('.hidden');
    expect(all.hiddenCount).toBe(0);
  });

  it('with no folder asked: the project folder, and the places (home, the project, recent)', async () => {
    await session.handle({ cmd: 'project.open', path: path.join(box, 'Another') });
    await session.handle({ cmd: 'project.open', path: project });
    const r = await list();
    expect(r.dir).toBe(project);
    expect(r.entries.map((e) => e.name)).toEqual(['scratchyard.yaml']);
    expect(r.places.map((p) => p.kind)).toEqual(['home', 'project', 'recent']);
    expect(r.places[1].path).toBe(project);
    expect(r.places[2]).toEqual({ kind: 'recent', label: 'Another', path: path.join(box, 'Another') });
    expect((await list('/')).parent).toBeNull();
  });

  it(`at most ${FILES_LIST_MAX} entries, the rest counted`, async () => {
    const big = path.join(work, 'big');
    mkdirSync(big);
    for (let i = 0; i < FILES_LIST_MAX + 7; i++) writeFileSync(path.join(big, `f${i}`), '');
    const r = await list(big);
    expect(r.entries).toHaveLength(FILES_LIST_MAX);
    expect(r.more).toBe(7);
    // Numbers in names sort as numbers.
    expect(r.entries.slice(0, 3).map((e) => e.name)).toEqual(['f0', 'f1', 'f2']);
    expect(r.entries[10].name).toBe('f10');
  });
});
