// The app's other runners: every runner on one image for the "Run results"
// table, and the commands a terminal runs for a VM console or a docker run.
import type { Response, RunFlagsRequest, RunnerId } from '../../shared/contract';
import { dockerTerminalCommand, podmanTerminalCommand, vmTerminalCommand, type RunFlags } from '../engine/entry/run';
import { allAgree, runEverywhere } from '../engine/entry/compare';

/** Output beyond this is cut in the table's reply (the CLI has it whole). */
const MAX_OUTPUT = 256 * 1024;

/** The contract's run flags (validated by its schema) as the engine takes them. */
export function runFlagsOf(f: RunFlagsRequest | undefined): RunFlags {
  if (!f) return {};
  const { timeoutS, ...rest } = f;
  return { ...rest, ...(timeoutS !== undefined ? { timeoutMs: timeoutS * 1000 } : {}) };
}

export async function compareRunners(project: string, cacheDir: string, runners: RunnerId[], args: string[], signal?: AbortSignal, flags?: RunFlagsRequest): Promise<Response<'runs.compare'>> {
  const rows = await runEverywhere({ project, cacheDir, args, runners, signal, flags: runFlagsOf(flags) });
  const cut = (s?: string) => (s !== undefined && s.length > MAX_OUTPUT ? s.slice(0, MAX_OUTPUT) + '\n[output cut]\n' : s);
  return { agree: allAgree(rows), rows: rows.map((r) => ({ ...r, stdout: cut(r.stdout), stderr: cut(r.stderr) })) };
}

/** What a terminal runs for `runner`: qemu with the program (or a shell) on the serial console, or docker run -it. */
export async function terminalCommand(project: string, cacheDir: string, runner: 'vm' | 'docker' | 'podman', args: string[], shell: boolean, signal?: AbortSignal, flags: RunFlags = {}): Promise<{ file: string; args: string[] }> {
  if (runner === 'vm') return vmTerminalCommand({ project, cacheDir, args, shell, signal, flags });
  if (runner === 'podman') return podmanTerminalCommand({ project, cacheDir, args, signal, flags });
  return dockerTerminalCommand({ project, cacheDir, args, signal, flags });
}
