// The run dialog's text fields as the contract's run flags, and back: a command
// line split as a POSIX shell would (quotes, backslashes; no expansion), env as
// NAME=value lines, and the contract's own checks, each message at its field.
// Pure: no store, no DOM; tested directly.
import { runFlagsSchema, type RunFlagsRequest } from '../../shared/contract';

/** The dialog's fields, as typed. */
export interface RunForm {
  /** A command line replacing the image's cmd (empty: the image's cmd). */
  args: string;
  entrypoint: string;
  /** NAME=value, one a line. */
  env: string;
  user: string;
  workdir: string;
  /** '' leaves the runner's default (no network). */
  network: '' | 'none' | 'host';
  /** Seconds, as typed. */
  timeout: string;
}
export type RunField = keyof RunForm;

export const EMPTY_FORM: RunForm = { args: '', entrypoint: '', env: '', user: '', workdir: '', network: '', timeout: '' };

/** A command line that cannot be split (an unclosed quote, a trailing backslash). */
export class SplitError extends Error {}

/** Split a command line into argv as sh does without expansion: '…' literal, "…" with \ escapes of \ " $ `, \ outside quotes. */
export function shellSplit(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '\\') {
      if (i + 1 >= line.length) throw new SplitError('ends with a lone backslash');
      cur += line[++i];
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new SplitError(`a ' opened at character ${i + 1} is not closed`);
      cur += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '\\"$`'.includes(line[j + 1])) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new SplitError(`a " opened at character ${i + 1} is not closed`);
      i = j;
    } else cur += c;
  }
  if (inWord) out.push(cur);
  return out;
}

/** argv as one line that shellSplit reads back the same. */
export function shellJoin(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** NAME=value lines (blank lines and # comments skipped; a later NAME wins, as with docker -e). */
export function parseEnvLines(text: string): { env: Record<string, string>; problem?: string } {
  const env: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '');
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { env, problem: `line ${i + 1}: expected NAME=value, got "${line.slice(0, 60)}"` };
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return { env };
}

/** What the form asks for: the args and flags of run.start / runs.compare, or the problems, by field. */
export function requestOfForm(form: RunForm): { args: string[]; flags: RunFlagsRequest; errors: Partial<Record<RunField, string>> } {
  const errors: Partial<Record<RunField, string>> = {};
  let args: string[] = [];
  try {
    args = shellSplit(form.args);
  } catch (e) {
    errors.args = (e as Error).message;
  }
  const { env, problem } = parseEnvLines(form.env);
  if (problem) errors.env = problem;
  const raw: Record<string, unknown> = {};
  if (form.entrypoint.trim()) raw.entrypoint = form.entrypoint.trim();
  if (Object.keys(env).length) raw.env = env;
  if (form.user.trim()) raw.user = form.user.trim();
  if (form.workdir.trim()) raw.workdir = form.workdir.trim();
  if (form.network) raw.network = form.network;
  if (form.timeout.trim()) {
    const n = Number(form.timeout.trim());
    if (!Number.isFinite(n) || n <= 0) errors.timeout = `expected a number of seconds above 0, got "${form.timeout.trim()}"`;
    else raw.timeoutS = n;
  }
  // The contract's own checks, so the dialog says what the engine would refuse, at the field.
  const parsed = runFlagsSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const f = FIELD_OF[String(issue.path[0])];
      if (f && !errors[f]) errors[f] = issue.path.length > 1 ? `${String(issue.path[1])}: ${issue.message}` : issue.message;
    }
  }
  return { args, flags: parsed.success ? parsed.data : {}, errors };
}

const FIELD_OF: Record<string, RunField> = { entrypoint: 'entrypoint', env: 'env', user: 'user', workdir: 'workdir', network: 'network', timeoutS: 'timeout', args: 'args' };

/** An engine refusal ("invalid request: flags.user: expected…") as the field it names, when it names one. */
export function fieldOfRefusal(message: string): { field: RunField; message: string } | undefined {
  const first = message.replace(/^invalid request: /, '').split('; ')[0];
  const m = /^flags\.(\w+)(?:\.([^:]+))?: (.*)$/s.exec(first);
  if (m) return FIELD_OF[m[1]] ? { field: FIELD_OF[m[1]], message: m[2] ? `${m[2]}: ${m[3]}` : m[3] } : undefined;
  const a = /^args(?:\.\d+)?: (.*)$/s.exec(first);
  return a ? { field: 'args', message: a[1] } : undefined;
}

/** A short summary of the flags in docker's words, for the header ("-e A=1 --user 1000"). */
export function flagSummary(args: string[], f: RunFlagsRequest): string {
  const parts: string[] = [];
  if (f.entrypoint !== undefined) parts.push(`--entrypoint ${shellJoin([f.entrypoint])}`);
  for (const [k, v] of Object.entries(f.env ?? {})) parts.push(`-e ${shellJoin([`${k}=${v}`])}`);
  if (f.user !== undefined) parts.push(`--user ${f.user}`);
  if (f.workdir !== undefined) parts.push(`--workdir ${shellJoin([f.workdir])}`);
  if (f.network !== undefined) parts.push(`--network ${f.network}`);
  if (f.timeoutS !== undefined) parts.push(`--timeout ${f.timeoutS}`);
  if (args.length) parts.push('--', shellJoin(args));
  return parts.join(' ');
}
