// The host's live rows of Run everywhere: a runs.compare that names its `run`
// streams each runner's start and end as run.runner events (checked against
// the contract as they leave), in order, before the reply; a runner refused
// before it starts (-p in the chroot) ends skipped without running; a
// comparison without a name streams nothing.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventSchema, type EngineEvent } from '../../shared/contract';
import { lacks, tempDir } from '../helpers/env';
import { helloCopy } from '../helpers/projects';
import { sessionBridge } from '../helpers/session';

const work = tempDir('sy-run-rows-');

describe.skipIf(lacks('bwrap', 'setpriv', '/bin/busybox'))('runs.compare, runner by runner', () => {
  const { session, bridge } = sessionBridge(helloCopy(path.join(work, 'hello'), 'hello:latest'), path.join(work, 'cache'));
  const events: EngineEvent[] = [];
  bridge.onEvent((e) => events.push(e));
  const rowsOf = (run: string) => events.filter((e) => e.event === 'run.runner' && e.run === run);

  afterAll(() => session.close());

  it('chroot: running, then ended with its exit code, stdout and time, before the reply', async () => {
    const r = await bridge.request({ cmd: 'runs.compare', runners: ['chroot'], args: [], run: 'one' });
    const seen = rowsOf('one');
    expect(seen.map((e) => (e.event === 'run.runner' ? e.state : ''))).toEqual(['running', 'ended']);
    for (const e of seen) expect(eventSchema.safeParse(e).success).toBe(true);
    const end = seen[1];
    if (end.event !== 'run.runner' || end.state !== 'ended') throw new Error('no end');
    expect(end.row).toMatchObject({ runner: 'chroot', code: 0, stdout: 'Hello, world!\n' });
    expect(end.elapsedMs).toBeGreaterThanOrEqual(end.row.ms ?? 0);
    expect(r.rows).toEqual([expect.objectContaining({ runner: 'chroot', code: 0, matches: true })]);
  });

  it('a runner that cannot do what is asked ends skipped, with why, without running; no name, no events', async () => {
    await bridge.request({ cmd: 'runs.compare', runners: ['chroot'], args: [], flags: { ports: ['18080:80'] }, run: 'ports' });
    const seen = rowsOf('ports');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ state: 'ended', runner: 'chroot', row: { skipped: true, error: expect.stringMatching(/^-p 18080:80 .*not supported by the chroot runner/) } });
    const before = events.length;
    await bridge.request({ cmd: 'runs.compare', runners: ['chroot'], args: [] });
    expect(events.slice(before).filter((e) => e.event === 'run.runner')).toEqual([]);
  });
});
