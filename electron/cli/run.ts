// `scratchyard run`: one runner (its program's stdout on stdout, its exit code
// as ours), or `--runner all`: every runner this machine has, and a table.
import { RUNNERS, runImage, type RunnerName } from '../engine/entry/run';
import { allAgree, formatRunTable, isRunnerError, runEverywhere } from '../engine/entry/compare';
import type { Accel } from '../engine/run/vm';
import { defaultCacheDir } from '../engine/store/cache';
import { Progress } from './progress';
import { UsageError, parse } from './args';

export const RUN_USAGE = `run [PROJECT] [--runner chroot|vm|docker|podman|all] [--kernel PATH] [--timeout SECONDS] [--accel auto|kvm|tcg] [--json] [-- CMD ARGS...]`;


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
  });
  if (values.help) {
    process.stdout.write(`usage: scratchyard ${RUN_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected one project, got ${positionals.join(' ')}`);
  const runner = values.runner!;
  if (runner !== 'all' && !(RUNNERS as readonly string[]).includes(runner)) throw new UsageError(`unknown runner "${runner}" (available: ${RUNNERS.join(', ')}, all)`);
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError(`--timeout: expected a number of seconds, got "${values.timeout}"`);
  if (values.accel !== undefined && !['auto', 'kvm', 'tcg'].includes(values.accel)) throw new UsageError(`--accel: expected auto, kvm or tcg, got "${values.accel}"`);
  const common = {
    project: positionals[0] ?? '.',
    cacheDir: values.cache ?? defaultCacheDir(),
    args: command,
    signal,
    vm: { kernel: values.kernel, timeoutMs: timeout === undefined ? undefined : timeout * 1000, accel: values.accel as Accel | 'auto' | undefined },
  };
  const progress = new Progress(process.stderr);

  if (runner === 'all') {
    const rows = await runEverywhere({ ...common, onEvent: (e) => progress.event(e) });
    progress.finish();
    if (values.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else process.stdout.write(formatRunTable(rows));
    const agree = allAgree(rows);
    if (!agree) process.stderr.write('scratchyard: the runners disagree (stdout or exit code differ, or a runner failed)\n');
    return agree ? 0 : 1;
  }

  try {
    const outcome = await runImage({ ...common, runner: runner as RunnerName, onEvent: (e) => progress.event(e), io: { inherit: true, signal } });
    progress.finish();
    if (outcome.signal) process.stderr.write(`scratchyard: the program was killed by ${outcome.signal}\n`);
    if (outcome.accel) process.stderr.write(`scratchyard: vm ran under ${outcome.accel} in ${(outcome.ms / 1000).toFixed(2)} s\n`);
    return outcome.code;
  } catch (e) {
    if (!isRunnerError(e)) throw e;
    progress.finish();
    process.stderr.write(`scratchyard: ${e.message}\n`);
    return 1;
  }
}
