// The app's Trace action over the contract (trace.run): a real EngineSession
// traces the python example's host source now, even with a current list, and
// reports each kept file with its bytes, each path not taken with why; a
// source that is not a host source with commands is refused naming its field.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { responses, type EngineEvent } from '../../shared/contract';
import { lacks, tempDir } from '../helpers/env';
import { copyExample, writeProject } from '../helpers/projects';
import { sessionBridge } from '../helpers/session';

const work = tempDir('sy-trace-run-');

describe.skipIf(lacks('strace', '/usr/bin/python3'))('trace.run', () => {
  const project = copyExample('python', path.join(work, 'python'));
  const { session, bridge } = sessionBridge(project, path.join(work, 'cache'));
  const logs: string[] = [];
  bridge.onEvent((e: EngineEvent) => e.event === 'log' && logs.push(e.line));
  afterAll(() => session.dispose());

  it('traces the current list again and reports kept files with their bytes, dropped paths with why', async () => {
    const list = path.join(project, 'scratchyard.trace/python3-63845b762164.txt');
    const before = readFileSync(list, 'utf8');
    const r = await bridge.request({ cmd: 'trace.run', layer: 0, source: 0 });
    expect(responses['trace.run'].safeParse(r).success).toBe(true);
    expect(logs).toContainEqual(expect.stringMatching(/^trace: tracing .*\(asked for\)$/));
    const [c] = r.commands;
    expect(c.argv[0]).toBe('/usr/bin/python3');
    expect(c.list).toBe('scratchyard.trace/python3-63845b762164.txt');
    // The same files the build's list names, in its order.
    expect(c.kept.map((k) => k.path)).toEqual(before.split('\n').filter((l) => l && !l.startsWith('#')));
    const json = c.kept.find((k) => /^\/usr\/lib\/python3\.\d+\/json\/__init__\.py$/.test(k.path))!;
    expect(json).toEqual({ path: json.path, type: 'file', bytes: statSync(json.path).size });
    expect(c.kept.some((k) => k.path.endsWith('.pyc') && k.bytes > 0)).toBe(true);
    expect(c.kept.find((k) => k.path === '/usr/bin/python3')).toMatchObject({ type: 'symlink', bytes: 0 });
    expect(c.bytes).toBe(c.kept.reduce((n, k) => n + k.bytes, 0));
    expect(r.bytes).toBe(c.bytes);
    expect(c.dropped).toContainEqual({ path: '/etc/ld.so.cache', reason: expect.stringMatching(/loader cache/) });
    expect(c.dropped.find((d) => d.path === '/usr/lib')?.reason).toMatch(/^a folder/);
    expect(readFileSync(list, 'utf8')).toBe(before);
  });

  it('host state a command opens is dropped with why; missing files too', async () => {
    const p = writeProject(path.join(work, 'state'), `name: s\nlayers:\n  - name: l\n    sources:\n      - kind: host\n        paths: [/usr/bin/python3]\n        trace:\n          - ["/usr/bin/python3", "-S", "-c", "open('/tmp/made', 'w').write('1'); open('/tmp/made').read(); open('/proc/self/status').read(); import os; os.path.exists('/nonexistent-${process.pid}')"]\n`);
    await bridge.request({ cmd: 'project.open', path: p });
    const r = await bridge.request({ cmd: 'trace.run', layer: 0, source: 0 });
    const why = Object.fromEntries(r.commands[0].dropped.map((d) => [d.path, d.reason]));
    expect(why['/tmp/made']).toBe('host state under /tmp');
    expect(why['/proc/self/status']).toBe('host state under /proc');
    expect(r.commands[0].kept.some((k) => k.path.startsWith('/tmp') || k.path.startsWith('/proc'))).toBe(false);
  });

  it('a source without trace commands, or not a host source, is refused naming its field; bad indices by the contract', async () => {
    const p = writeProject(path.join(work, 'plain'), `name: p\nlayers:\n  - name: l\n    sources:\n      - kind: host\n        paths: [/usr/bin/python3]\n      - kind: dir\n        path: /x\n`);
    await bridge.request({ cmd: 'project.open', path: p });
    await expect(bridge.request({ cmd: 'trace.run', layer: 0, source: 0 })).rejects.toThrow(/^layers\[0\]\.sources\[0\]\.trace: no commands to trace/);
    await expect(bridge.request({ cmd: 'trace.run', layer: 0, source: 1 })).rejects.toThrow(/^layers\[0\]\.sources\[1\]: a dir source has nothing to trace/);
    await expect(bridge.request({ cmd: 'trace.run', layer: 3, source: 0 })).rejects.toThrow(/^layers\[3\]\.sources\[0\]: no such source/);
    await expect(bridge.request({ cmd: 'trace.run', layer: -1, source: 0 })).rejects.toThrow(/^invalid request: layer: /);
  });
});
