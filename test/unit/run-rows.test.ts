// Run everywhere's live rows (renderer/src/runRows.ts): a row per runner from
// the click, moved by the host's run.runner events, settled by the reply; a
// skipped runner's reason as one line with the whole text on demand; the
// agreement line says what was compared.
import { describe, expect, it } from 'vitest';
import { eventSchema } from '../../shared/contract';
import { agreementLine, anyRunning, applyRunnerEvent, failRows, pendingRows, reasonOf, rowView, settleRows, type RunnerEvent } from '../../renderer/src/runRows';

const PODMAN = 'podman cannot run containers here: runc: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied';

/** An event as the host sends it: checked against the contract first. */
function ev(e: unknown): RunnerEvent {
  const parsed = eventSchema.parse(e);
  if (parsed.event !== 'run.runner') throw new Error('not a run.runner event');
  return parsed;
}

describe('live rows', () => {
  it('every runner is pending at once, then running with ticking seconds, then its exit and time', () => {
    let rows = pendingRows(['chroot', 'vm', 'docker', 'podman']);
    expect(rows.map((r) => rowView(r, 0).state)).toEqual(['pending', 'pending', 'pending', 'pending']);
    rows = applyRunnerEvent(rows, ev({ event: 'run.runner', run: 'c1', runner: 'chroot', state: 'running' }), 1_000);
    expect(rowView(rows[0], 1_000)).toMatchObject({ state: 'running', elapsed: '0 s' });
    expect(rowView(rows[0], 4_700)).toMatchObject({ state: 'running', elapsed: '3 s' });
    rows = applyRunnerEvent(rows, ev({ event: 'run.runner', run: 'c1', runner: 'chroot', state: 'ended', elapsedMs: 412, row: { runner: 'chroot', code: 0, ms: 30, stdout: 'Hello\n' } }), 5_000);
    expect(rowView(rows[0], 9_000)).toMatchObject({ state: 'exit 0', cls: 'ok', elapsed: '412 ms' });
    expect(rows.slice(1).map((r) => r.phase)).toEqual(['pending', 'pending', 'pending']);
    expect(anyRunning(rows)).toBe(true);
  });

  it('a runner skipped before it starts goes from pending to skipped, with a one-line reason and the details kept', () => {
    const rows = applyRunnerEvent(pendingRows(['podman']), ev({ event: 'run.runner', run: 'c1', runner: 'podman', state: 'ended', elapsedMs: 90, row: { runner: 'podman', skipped: true, error: PODMAN } }), 0);
    const v = rowView(rows[0], 0);
    expect(v).toMatchObject({ state: 'skipped', elapsed: '–', reason: { line: 'podman cannot run containers here', details: PODMAN } });
  });

  it('an ended row is not moved back by a late event; a non-zero exit and a timeout read as such', () => {
    let rows = applyRunnerEvent(pendingRows(['vm']), ev({ event: 'run.runner', run: 'c', runner: 'vm', state: 'ended', elapsedMs: 61_000, row: { runner: 'vm', code: 137, timedOut: true } }), 0);
    rows = applyRunnerEvent(rows, ev({ event: 'run.runner', run: 'c', runner: 'vm', state: 'running' }), 1);
    expect(rowView(rows[0], 5)).toMatchObject({ state: 'exit 137 (timed out)', cls: 'error', elapsed: '61.0 s' });
  });

  it('the reply marks which rows match; a failed comparison ends the rows still open with its message', () => {
    let rows = pendingRows(['chroot', 'docker', 'podman']);
    rows = settleRows(rows, [
      { runner: 'chroot', code: 0, stdout: 'a', matches: true },
      { runner: 'docker', code: 0, stdout: 'b', matches: false },
      { runner: 'podman', skipped: true, error: 'podman not found', matches: false },
    ], 2_000);
    expect(rows.map((r) => rowView(r, 0).verdict)).toEqual(['matches', 'differs', undefined]);
    expect(rows[0].elapsedMs).toBe(2_000);
    expect(anyRunning(rows)).toBe(false);
    const failed = failRows(applyRunnerEvent(pendingRows(['chroot', 'vm']), ev({ event: 'run.runner', run: 'c', runner: 'chroot', state: 'ended', elapsedMs: 5, row: { runner: 'chroot', code: 0 } }), 0), 'the build failed: x', 9);
    expect(failed.map((r) => rowView(r, 0).state)).toEqual(['exit 0', 'failed']);
    expect(rowView(failed[1], 0).reason).toEqual({ line: 'the build failed: x' });
  });

  it('the contract refuses a run.runner event without its row or elapsed time', () => {
    expect(eventSchema.safeParse({ event: 'run.runner', run: 'c', runner: 'vm', state: 'ended' }).success).toBe(false);
    expect(eventSchema.safeParse({ event: 'run.runner', run: 'c', runner: 'lxc', state: 'running' }).success).toBe(false);
  });
});

describe('reasonOf', () => {
  it('keeps a short reason whole, cuts a long one before the tool\'s own words', () => {
    expect(reasonOf('podman not found')).toEqual({ line: 'podman not found' });
    expect(reasonOf('no kernel for the VM runner (no readable /boot/vmlinuz-*). Install one with: apt-get install linux-image-amd64 (or pass --kernel PATH)').line).toBe('no kernel for the VM runner');
    expect(reasonOf('first line\nsecond line')).toEqual({ line: 'first line', details: 'first line\nsecond line' });
    const long = reasonOf('x'.repeat(300));
    expect(long.line).toHaveLength(100);
    expect(long.line.endsWith('…')).toBe(true);
  });
});

describe('agreementLine', () => {
  const done = (rows: Parameters<typeof settleRows>[1]) => settleRows(pendingRows(rows.map((r) => r.runner)), rows, 1);
  it('says what was compared, who differs and who was skipped', () => {
    const skipped = { runner: 'podman' as const, skipped: true, error: 'x', matches: false };
    expect(agreementLine(done([{ runner: 'chroot', code: 0, matches: true }, { runner: 'docker', code: 0, matches: true }, skipped]), true)).toBe('All 2 runners that ran agree (compared: exit code and stdout); podman skipped.');
    expect(agreementLine(done([{ runner: 'chroot', code: 0, matches: true }, { runner: 'vm', code: 0, matches: true }, { runner: 'docker', code: 1, matches: false }]), false)).toBe('The runners disagree (compared: exit code and stdout): docker differs from the others.');
    expect(agreementLine(done([{ runner: 'chroot', code: 0, matches: true }, skipped]), true)).toBe('Only chroot ran: nothing to compare its exit code and stdout with; podman skipped.');
    const probe = { code: 0, attempts: 2, timedOut: false, serviceCode: 143 };
    expect(agreementLine(done([{ runner: 'chroot', code: 0, probe, matches: true }, { runner: 'docker', code: 0, probe, matches: true }]), true)).toMatch(/compared: the probe's exit code and stdout/);
  });
});
