// Desktop drops in browser mode: project.addFiles, answered by the real
// EngineSession, writes dropped files and folders into the project folder,
// never over an existing name and never outside the folder.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineSession } from '../../electron/host/session';
import { ADD_FILES_MAX } from '../../shared/contract';
import { tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function session() {
  const dir = writeProject(path.join(tempDir('sy-add-'), 'p'), 'name: p\nlayers:\n  - name: a\n');
  return { dir, s: new EngineSession({ project: dir, cacheDir: path.join(dir, '..', 'cache'), emit: () => {} }) };
}

describe('project.addFiles', () => {
  it('writes a file and a folder, renames on a clash, and reuses an identical file', async () => {
    const { dir, s } = session();
    const r = await s.handle({
      cmd: 'project.addFiles',
      files: [
        { path: 'hello.txt', base64: b64('hi\n') },
        { path: 'site/index.html', base64: b64('<p>x</p>') },
        { path: 'site/css/a.css', base64: b64('p{}') },
      ],
    });
    expect(r).toEqual({ added: [{ from: 'hello.txt', to: 'hello.txt' }, { from: 'site', to: 'site' }] });
    expect(readFileSync(path.join(dir, 'hello.txt'), 'utf8')).toBe('hi\n');
    expect(readFileSync(path.join(dir, 'site/css/a.css'), 'utf8')).toBe('p{}');
    expect(statSync(path.join(dir, 'hello.txt')).mode & 0o777).toBe(0o644);
    // Same bytes again: the file already there. Other bytes: a new name, the old file untouched.
    expect(await s.handle({ cmd: 'project.addFiles', files: [{ path: 'hello.txt', base64: b64('hi\n') }] })).toEqual({ added: [{ from: 'hello.txt', to: 'hello.txt' }] });
    expect(await s.handle({ cmd: 'project.addFiles', files: [{ path: 'hello.txt', base64: b64('other') }] })).toEqual({ added: [{ from: 'hello.txt', to: 'hello-2.txt' }] });
    expect(await s.handle({ cmd: 'project.addFiles', files: [{ path: 'site/x', base64: b64('') }] })).toEqual({ added: [{ from: 'site', to: 'site-2' }] });
    expect(readFileSync(path.join(dir, 'hello.txt'), 'utf8')).toBe('hi\n');
    // No temporary names left behind.
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses paths that climb out or are absolute, and too much at once, writing nothing', async () => {
    const { dir, s } = session();
    const before = readdirSync(dir).sort();
    for (const bad of ['../evil', 'a/../../evil', '/etc/passwd', 'a//b', './a']) {
      await expect(s.handle({ cmd: 'project.addFiles', files: [{ path: 'ok.txt', base64: b64('x') }, { path: bad, base64: b64('x') }] })).rejects.toThrow(/expected a relative path of plain names/);
    }
    await expect(s.handle({ cmd: 'project.addFiles', files: [{ path: 'x', base64: 'not base64!' }] })).rejects.toThrow(/not base64/);
    await expect(s.handle({ cmd: 'project.addFiles', files: [{ path: 'd', base64: b64('1') }, { path: 'd/e', base64: b64('2') }] })).rejects.toThrow(/both a file and a folder/);
    const chunk = Buffer.alloc(ADD_FILES_MAX / 2 + 1).toString('base64');
    await expect(s.handle({ cmd: 'project.addFiles', files: [{ path: 'a', base64: chunk }, { path: 'b', base64: chunk }] })).rejects.toThrow(/more than 32 MiB/);
    await expect(s.handle({ cmd: 'project.addFiles', files: [] })).rejects.toThrow(/invalid request/);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(existsSync(path.join(dir, '..', 'evil'))).toBe(false);
  });
});
