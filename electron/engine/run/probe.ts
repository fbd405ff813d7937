// A service test-run: the image's process is started, a probe command runs
// beside it in its network namespace (retried until it succeeds or the probe
// time is up), then the service is stopped. The probe runs the HOST's tools
// (minimal images have none) in the sandbox with this machine's root
// read-only, joined to the service's network.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DEFAULT_PATH, TIMEOUT_CODE } from '../model/runspec';
import { asRealRoot, hostRoot, identityFor, runSandboxed } from '../tools/sandbox';
import { makeWorkDir, removeWorkDir } from '../tools/workdir';
import type { Prepared, RunIo, RunNetwork, RunnerOutcome } from './runner';

export interface ProbeSpec {
  /** A shell command line (checked by probeCommandProblem where it entered), run as `sh -c`. */
  command: string;
  timeoutMs: number;
}

export interface ProbeResult {
  /** The last attempt's exit code (0: the service answered). */
  code: number;
  stdout: string;
  stderr: string;
  attempts: number;
  ms: number;
  /** No attempt succeeded within the probe time. */
  timedOut: boolean;
  /** Why it failed, in words, when it did. */
  error?: string;
}

export const PROBE_INTERVAL_MS = 200;
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run `prepared`'s process as a service and `probe` beside it; the service is always stopped before this returns. */
export async function runWithProbe(prepared: Prepared, probe: ProbeSpec, io: RunIo): Promise<RunnerOutcome & { probe: ProbeResult }> {
  const service = prepared.start({ signal: io.signal });
  let ended = false;
  void service.done.then(() => (ended = true), () => (ended = true));
  const t0 = performance.now();
  const deadline = t0 + probe.timeoutMs;
  let result: ProbeResult = { code: 1, stdout: '', stderr: '', attempts: 0, ms: 0, timedOut: false };
  let endedFirst = false;
  const work = await makeWorkDir('run');
  try {
    const net = await service.network();
    const scratch = path.join(work, 'scratch');
    await fs.mkdir(scratch);
    while (net && !ended && !io.signal?.aborted) {
      const left = deadline - performance.now();
      const r = await probeOnce(net, probe.command, scratch, work, Math.max(left, 1), io.signal);
      result = { ...r, attempts: result.attempts + 1, ms: performance.now() - t0, timedOut: false };
      if (r.code === 0) break;
      if (performance.now() + PROBE_INTERVAL_MS >= deadline) {
        result = { ...result, timedOut: true, code: r.code === 0 ? TIMEOUT_CODE : r.code, error: `the probe did not succeed within ${probe.timeoutMs / 1000} s (${result.attempts} attempts; last exit code ${r.code})` };
        break;
      }
      await sleep(PROBE_INTERVAL_MS);
    }
    endedFirst = ended && result.code !== 0 && !result.timedOut;
  } finally {
    service.stop();
  }
  const outcome = await service.done.finally(() => removeWorkDir(work));
  if (endedFirst) {
    result = { ...result, ms: performance.now() - t0, error: `the service ended (exit code ${outcome.code}) before the probe succeeded${outcome.stderr.trim() ? `: ${outcome.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}` : ''}` };
  }
  return { ...outcome, probe: result };
}

async function probeOnce(net: RunNetwork, command: string, scratch: string, work: string, timeoutMs: number, signal?: AbortSignal) {
  const joinNetOf = net.kind === 'pid' ? { pid: net.pid, userns: !asRealRoot() && (await otherUserns(net.pid)) } : undefined;
  const r = await runSandboxed(
    {
      prepared: hostRoot(scratch),
      work,
      identity: await identityFor(),
      network: net.kind === 'host',
      joinNetOf,
      process: { argv: ['/bin/sh', '-c', command], env: { PATH: DEFAULT_PATH, HOME: '/root', LANG: 'C.UTF-8' }, workdir: '/' },
    },
    { signal, timeoutMs },
  );
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

async function otherUserns(pid: number): Promise<boolean> {
  const [mine, theirs] = await Promise.all([fs.readlink('/proc/self/ns/user'), fs.readlink(`/proc/${pid}/ns/user`).catch(() => '')]);
  return mine !== theirs;
}
