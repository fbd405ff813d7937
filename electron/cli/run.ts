// `scratchyard run`: one runner (its program's stdout on stdout, its exit code
// as ours), or `--runner all`: every runner this machine has, and a table.
import { RUNNERS, runImage, type RunFlags, type RunnerName } from '../engine/entry/run';
import { configUserProblem, envNameProblem, imagePathProblem, nulProblem, probeCommandProblem, publishProblem } from '../../shared/grammar';
import { publishConflict } from '../engine/run/docker';
import { DEFAULT_PROBE_TIMEOUT_MS, type ProbeSpec } from '../engine/run/probe';
import { RunnerUnsupportedError, type RunnerOutcome } from '../engine/run/runner';
import { allAgree, formatRunTable, isRunnerError, runEverywhere } from '../engine/entry/compare';
import type { Accel } from '../engine/run/vm';
import { defaultCacheDir } from '../engine/store/cache';
import { Progress } from './progress';
import { UsageError, parse } from './args';
import { RUN_HELP, RUN_USAGE } from './usage';



/** docker run's flags, each value checked here, where it enters. */
export function runFlags(values: { entrypoint?: string; env?: string[]; user?: string; workdir?: string; network?: string; timeout?: string; publish?: string[] }): RunFlags {
  const clean = (flag: string, v: string) => {
    const p = nulProblem(v) ?? (/[\n\r]/.test(v) ? 'contains a line break' : undefined);
    if (p) throw new UsageError(`--${flag}: ${p}`);
    return v;
  };
  const flags: RunFlags = {};
  if (values.entrypoint !== undefined) flags.entrypoint = clean('entrypoint', values.entrypoint);
  for (const kv of values.env ?? []) {
    const eq = clean('env', kv).indexOf('=');
    const name = eq === -1 ? kv : kv.slice(0, eq);
    const p = envNameProblem(name);
    if (p) throw new UsageError(`--env ${JSON.stringify(kv)}: ${p}`);
    // docker's -e NAME without a value passes the caller's own value, when it has one.
    const value = eq === -1 ? process.env[name] : kv.slice(eq + 1);
    if (value !== undefined) flags.env = { ...flags.env, [name]: value };
  }
  if (values.user !== undefined) {
    const p = configUserProblem(values.user);
    if (p) throw new UsageError(`--user ${JSON.stringify(values.user)}: ${p}`);
    flags.user = values.user;
  }
  if (values.workdir !== undefined) {
    const p = imagePathProblem(values.workdir);
    if (p) throw new UsageError(`--workdir ${JSON.stringify(values.workdir)}: ${p}`);
    flags.workdir = values.workdir;
  }
  if (values.network !== undefined) {
    if (values.network !== 'none' && values.network !== 'host') throw new UsageError(`--network: expected none or host, got "${values.network}"`);
    flags.network = values.network;
  }
  if (values.timeout !== undefined) {
    const t = Number(values.timeout);
    if (!(t > 0) || t > 86400 * 7) throw new UsageError(`--timeout: expected a number of seconds above 0, up to 604800 (7 days), got "${values.timeout}"`);
    flags.timeoutMs = t * 1000;
  }
  for (const p of values.publish ?? []) {
    const problem = publishProblem(p);
    if (problem) throw new UsageError(`-p ${JSON.stringify(p)}: ${problem}`);
    flags.ports = [...(flags.ports ?? []), p];
  }
  const conflict = publishConflict(flags);
  if (conflict) throw new UsageError(conflict);
  return flags;
}

/** --probe and --probe-timeout, checked here, where they enter. */
export function probeSpec(values: { probe?: string; 'probe-timeout'?: string }): ProbeSpec | undefined {
  if (values.probe === undefined) {
    if (values['probe-timeout'] !== undefined) throw new UsageError('--probe-timeout: only with --probe');
    return undefined;
  }
  const p = probeCommandProblem(values.probe);
  if (p) throw new UsageError(`--probe: ${p}`);
  let timeoutMs = DEFAULT_PROBE_TIMEOUT_MS;
  if (values['probe-timeout'] !== undefined) {
    const t = Number(values['probe-timeout']);
    if (!(t > 0) || t > 3600) throw new UsageError(`--probe-timeout: expected a number of seconds up to 3600, got "${values['probe-timeout']}"`);
    timeoutMs = t * 1000;
  }
  return { command: values.probe, timeoutMs };
}


export async function cmdRun(argv: string[], signal: AbortSignal): Promise<number> {
  const dash = argv.indexOf('--');
  const args = dash === -1 ? argv : argv.slice(0, dash);
  const command = dash === -1 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parse(args, {
    runner: { type: 'string', default: 'chroot' },
    kernel: { type: 'string' },
    timeout: { type: 'string' },
    accel: { type: 'string' },
    json: { type: 'boolean' },
    entrypoint: { type: 'string' },
    env: { type: 'string', short: 'e', multiple: true },
    user: { type: 'string', short: 'u' },
    workdir: { type: 'string', short: 'w' },
    network: { type: 'string' },
    publish: { type: 'string', short: 'p', multiple: true },
    probe: { type: 'string' },
    'probe-timeout': { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(`usage: scratchyard ${RUN_USAGE}\n\n${RUN_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected one project, got ${positionals.join(' ')}`);
  const runner = values.runner!;
  if (runner !== 'all' && !(RUNNERS as readonly string[]).includes(runner)) throw new UsageError(`unknown runner "${runner}" (available: ${RUNNERS.join(', ')}, all)`);
  const flags = runFlags(values);
  const probe = probeSpec(values);
  if (values.accel !== undefined && !['auto', 'kvm', 'tcg'].includes(values.accel)) throw new UsageError(`--accel: expected auto, kvm or tcg, got "${values.accel}"`);
  const common = {
    project: positionals[0] ?? '.',
    cacheDir: values.cache ?? defaultCacheDir(),
    args: command,
    flags,
    probe,
    signal,
    vm: { kernel: values.kernel, accel: values.accel as Accel | 'auto' | undefined },
  };
  const progress = new Progress(process.stderr);

  if (runner === 'all') {
    const rows = await runEverywhere({ ...common, onEvent: (e) => progress.event(e) });
    progress.finish();
    if (values.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else process.stdout.write(formatRunTable(rows));
    const agree = allAgree(rows);
    if (!agree) process.stderr.write('scratchyard: the runners disagree (stdout or exit code differ, or a runner failed)\n');
    // All agree: the program's own exit code, as one runner would give it.
    return agree ? (rows.find((r) => !r.skipped)?.code ?? 0) : 1;
  }

  try {
    const json = values.json === true;
    const outcome = await runImage({ ...common, runner: runner as RunnerName, onEvent: (e) => progress.event(e), io: json ? { signal } : { inherit: true, signal } });
    progress.finish();
    if (json) process.stdout.write(JSON.stringify({ runner, code: outcome.code, ms: Math.round(outcome.ms), stdout: outcome.stdout, stderr: outcome.stderr, timedOut: outcome.timedOut ?? false, ...(outcome.accel ? { accel: outcome.accel } : {}), ...(outcome.probe ? { probe: outcome.probe, service: serviceOf(outcome.service) } : {}) }, null, 2) + '\n');
    if (outcome.probe) {
      // The probe's output was collected: its stdout is the run's answer.
      if (!json) process.stdout.write(outcome.stdout);
      const p = outcome.probe;
      process.stderr.write(p.code === 0 ? `scratchyard: the probe succeeded (attempt ${p.attempts}, ${(p.ms / 1000).toFixed(2)} s); the service was stopped\n` : `scratchyard: the probe failed: ${p.error ?? `exit code ${p.code}`}${p.stderr.trim() ? `\n${p.stderr.trim()}` : ''}\n`);
    } else if (outcome.timedOut) process.stderr.write(`scratchyard: the program was stopped at the ${(flags.timeoutMs ?? 0) / 1000} s timeout (exit code 124)\n`);
    else if (outcome.signal) process.stderr.write(`scratchyard: the program was killed by ${outcome.signal}\n`);
    if (outcome.accel) process.stderr.write(`scratchyard: vm ran under ${outcome.accel} in ${(outcome.ms / 1000).toFixed(2)} s\n`);
    return outcome.code;
  } catch (e) {
    if (e instanceof RunnerUnsupportedError) {
      // A usage fault, but one sentence says it all.
      progress.finish();
      process.stderr.write(`scratchyard: ${e.message}\n`);
      return 2;
    }
    if (!isRunnerError(e)) throw e;
    progress.finish();
    process.stderr.write(`scratchyard: ${e.message}\n`);
    return 1;
  }
}

/** The stopped service's part of a probed run's --json. */
function serviceOf(s: RunnerOutcome | undefined) {
  return s && { code: s.code, signal: s.signal, ms: Math.round(s.ms), stdout: s.stdout, stderr: s.stderr, timedOut: s.timedOut ?? false };
}
