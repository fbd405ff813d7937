// The live rows of "Run everywhere": every runner has its row from the click
// on (pending), moves to running when its program starts and to its result
// when it ends, as the host's run.runner events say; the comparison's reply
// then marks which rows agree. Pure: no store, no DOM, no clock of its own.
import type { EngineEvent, RunnerId, RunRowReply } from '../../shared/contract';
import { duration } from './format';

/** What a runner gave, before the comparison says whether it matches the others. */
export type RunOutcome = Omit<RunRowReply, 'matches'>;
export type RunnerEvent = Extract<EngineEvent, { event: 'run.runner' }>;

export interface LiveRow {
  runner: RunnerId;
  phase: 'pending' | 'running' | 'ended';
  /** When its program started, on the window's clock (ms). */
  startedAt?: number;
  /** From the click to its end, the runner's preparing included. */
  elapsedMs?: number;
  outcome?: RunOutcome;
  /** Known once every runner has ended: exit code and stdout equal to what most gave. */
  matches?: boolean;
}

export const RUNNER_LABEL: Record<RunnerId, string> = { chroot: 'chroot', vm: 'VM', docker: 'docker', podman: 'podman' };

export function pendingRows(runners: RunnerId[]): LiveRow[] {
  return runners.map((runner) => ({ runner, phase: 'pending' }));
}

/** One runner started or ended (events of another comparison are the caller's to drop). */
export function applyRunnerEvent(rows: LiveRow[], e: RunnerEvent, now: number): LiveRow[] {
  return rows.map((r) => {
    if (r.runner !== e.runner || r.phase === 'ended') return r;
    if (e.state === 'running') return { ...r, phase: 'running', startedAt: now };
    return { ...r, phase: 'ended', elapsedMs: e.elapsedMs, outcome: e.row };
  });
}

/** The comparison's reply: every row ended, marked matching or not (a runner without an event keeps the reply's row). */
export function settleRows(rows: LiveRow[], reply: RunRowReply[], elapsedMs: number): LiveRow[] {
  return rows.map((r) => {
    const got = reply.find((x) => x.runner === r.runner);
    if (!got) return r;
    const { matches, ...outcome } = got;
    return { ...r, phase: 'ended', outcome, matches, elapsedMs: r.elapsedMs ?? elapsedMs };
  });
}

/** The comparison itself failed (the build, the engine): rows that had not ended say so. */
export function failRows(rows: LiveRow[], message: string, elapsedMs: number): LiveRow[] {
  return rows.map((r) => (r.phase === 'ended' ? r : { ...r, phase: 'ended', elapsedMs, outcome: { runner: r.runner, error: message } }));
}

export interface RowView {
  /** pending, running, exit N, skipped, failed. */
  state: string;
  cls: 'muted' | 'running' | 'ok' | 'error';
  elapsed: string;
  /** Why it was skipped or failed: one line, the whole text on demand. */
  reason?: Reason;
  /** The comparison's verdict for a row that ran. */
  verdict?: 'matches' | 'differs';
}

export function rowView(r: LiveRow, now: number): RowView {
  if (r.phase === 'pending') return { state: 'pending', cls: 'muted', elapsed: '–' };
  if (r.phase === 'running') return { state: 'running', cls: 'running', elapsed: `${Math.max(0, Math.floor((now - (r.startedAt ?? now)) / 1000))} s` };
  const o = r.outcome;
  const elapsed = r.elapsedMs === undefined ? '–' : duration(r.elapsedMs);
  if (!o) return { state: 'failed', cls: 'error', elapsed };
  const verdict = r.matches === undefined || o.skipped || o.error !== undefined ? undefined : r.matches ? 'matches' : 'differs';
  if (o.skipped) return { state: 'skipped', cls: 'muted', elapsed: '–', reason: reasonOf(o.error ?? 'not run') };
  if (o.error !== undefined) return { state: 'failed', cls: 'error', elapsed, reason: reasonOf(o.error), verdict };
  return { state: `exit ${o.code ?? '?'}${o.timedOut ? ' (timed out)' : ''}`, cls: o.code === 0 && !o.timedOut ? 'ok' : 'error', elapsed, verdict };
}

export interface Reason {
  line: string;
  /** The whole text, when the line is not all of it. */
  details?: string;
}

const LINE_MAX = 100;

/**
 * A runner's reason as one line: the text itself when it is short, else what
 * comes before the tool's own words (the first ": ", " (" or ". "), the whole
 * text kept for a disclosure. "podman cannot run containers here: runc: …" reads
 * "podman cannot run containers here".
 */
export function reasonOf(text: string): Reason {
  const t = text.trim();
  const first = t.split('\n')[0];
  if (first === t && t.length <= LINE_MAX) return { line: t };
  const cuts = [': ', ' (', '. '].map((c) => first.indexOf(c)).filter((i) => i >= 12);
  const at = cuts.length ? Math.min(...cuts) : -1;
  const line = at !== -1 && at <= LINE_MAX ? first.slice(0, at) : first.length <= LINE_MAX ? first : `${first.slice(0, LINE_MAX - 1).trimEnd()}…`;
  return { line, details: t };
}

function listed(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** What the comparison compared and what it found, in one sentence. */
export function agreementLine(rows: LiveRow[], agree: boolean): string {
  const what = rows.some((r) => r.outcome?.probe) ? "the probe's exit code and stdout" : 'exit code and stdout';
  const ran = rows.filter((r) => r.outcome && !r.outcome.skipped);
  const skipped = rows.filter((r) => r.outcome?.skipped).map((r) => RUNNER_LABEL[r.runner]);
  const tail = skipped.length ? `; ${listed(skipped)} skipped` : '';
  if (!ran.length) return `No runner could run here${tail}.`;
  if (ran.length === 1) return `Only ${RUNNER_LABEL[ran[0].runner]} ran: nothing to compare its ${what} with${tail}.`;
  if (agree) return `All ${ran.length} runners that ran agree (compared: ${what})${tail}.`;
  const off = ran.filter((r) => !r.matches).map((r) => RUNNER_LABEL[r.runner]);
  return `The runners disagree (compared: ${what}): ${listed(off)} ${off.length === 1 ? 'differs from' : 'differ from'} the others${tail}.`;
}

export function anyRunning(rows: LiveRow[]): boolean {
  return rows.some((r) => r.phase !== 'ended');
}
