// The run dialog's text fields as the contract's run flags, and back: a command
// line split as a POSIX shell would (quotes, backslashes; no expansion), env as
// NAME=value lines, -p entries, a probe, and the contract's own checks, each
// message at its field.
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
  /** -p HOST:CONTAINER entries, separated by blanks or commas ("-p" itself may be typed too). */
  ports: string;
  /** A host command line beside the service, in its network (empty: no probe). */
  probe: string;
  /** Seconds the probe is retried for, as typed (empty: the engine's default). */
  probeTimeout: string;
}
export type RunField = keyof RunForm;

export const EMPTY_FORM: RunForm = { args: '', entrypoint: '', env: '', user: '', workdir: '', network: '', timeout: '', ports: '', probe: '', probeTimeout: '' };

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
  const seconds = (field: 'timeout' | 'probeTimeout') => {
    const t = form[field].trim();
    if (!t) return undefined;
    const n = Number(t);
    if (Number.isFinite(n) && n > 0) return n;
    errors[field] = `expected a number of seconds above 0, got "${t}"`;
    return undefined;
  };
  const timeoutS = seconds('timeout');
  if (timeoutS !== undefined) raw.timeoutS = timeoutS;
  const ports = portsOf(form.ports);
  if (ports.length) raw.ports = ports;
  const probeTimeoutS = seconds('probeTimeout');
  if (form.probe.trim()) raw.probe = { command: form.probe.trim(), ...(probeTimeoutS !== undefined ? { timeoutS: probeTimeoutS } : {}) };
  else if (form.probeTimeout.trim() && !errors.probeTimeout) errors.probeTimeout = 'only with a probe command';
  // The contract's own checks, so the dialog says what the engine would refuse, at the field.
  const parsed = runFlagsSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const at = fieldAt(issue.path.map(String));
      if (!at || errors[at.field]) continue;
      // A port is named as typed ("80:abc"), an env variable by its name.
      const which = at.field === 'ports' && at.sub !== undefined ? `"${ports[Number(at.sub)] ?? at.sub}"` : at.sub;
      errors[at.field] = which !== undefined ? `${which}: ${issue.message}` : issue.message;
    }
  }
  return { args, flags: parsed.success ? parsed.data : {}, errors };
}

const FIELD_OF: Record<string, RunField> = { entrypoint: 'entrypoint', env: 'env', user: 'user', workdir: 'workdir', network: 'network', timeoutS: 'timeout', args: 'args', ports: 'ports' };

/** The field a contract path ("probe","timeoutS" / "ports","0" / "env","A") is about, and what inside it. */
function fieldAt(path: string[]): { field: RunField; sub?: string } | undefined {
  if (path[0] === 'probe') return path[1] === 'timeoutS' ? { field: 'probeTimeout' } : { field: 'probe' };
  const field = FIELD_OF[path[0]];
  return field ? { field, ...(path.length > 1 ? { sub: path[1] } : {}) } : undefined;
}

/** The ports field's entries: blanks or commas between them, a typed "-p"/"--publish" ignored. */
export function portsOf(text: string): string[] {
  return text.split(/[\s,]+/).filter((p) => p && p !== '-p' && p !== '--publish');
}

/** An engine refusal ("invalid request: flags.user: expected…") as the field it names, when it names one. */
export function fieldOfRefusal(message: string): { field: RunField; message: string } | undefined {
  const first = message.replace(/^invalid request: /, '').split('; ')[0];
  const m = /^flags\.(\w+)(?:\.([^:]+))?: (.*)$/s.exec(first);
  if (m) {
    const at = fieldAt(m[2] !== undefined ? [m[1], m[2]] : [m[1]]);
    if (!at) return undefined;
    const sub = at.field === 'ports' && at.sub !== undefined ? `entry ${Number(at.sub) + 1}` : at.sub;
    return { field: at.field, message: sub !== undefined ? `${sub}: ${m[3]}` : m[3] };
  }
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
  for (const p of f.ports ?? []) parts.push(`-p ${p}`);
  if (f.probe) parts.push(`--probe ${shellJoin([f.probe.command])}`, ...(f.probe.timeoutS !== undefined ? [`--probe-timeout ${f.probe.timeoutS}`] : []));
  if (args.length) parts.push('--', shellJoin(args));
  return parts.join(' ');
}
