// The one way the engine starts a process: cancellable, with a typed error
// that carries the command, its exit status and the end of its stderr.
import { spawn, type StdioOptions } from 'node:child_process';

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Uint8Array;
  signal?: AbortSignal;
  /** Live output; when given, the chunks are not also collected. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Pass the parent's stdio straight through (interactive or streaming runs). */
  inherit?: boolean;
  /** Told the child's pid once it runs (a watchdog reads its /proc entries). */
  onSpawn?: (pid: number) => void;
}

export interface ExecResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class ExecError extends Error {
  constructor(
    readonly command: string,
    readonly result: ExecResult,
  ) {
    const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
    super(`${command} failed (${result.signal ? `signal ${result.signal}` : `exit code ${result.code}`})${tail ? `:\n${tail}` : ''}`);
  }
}

export function exec(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = opts.inherit ? ['inherit', 'inherit', 'inherit'] : [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio, signal: opts.signal });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => (opts.onStdout ? opts.onStdout(c) : out.push(c)));
    child.stderr?.on('data', (c: Buffer) => (opts.onStderr ? opts.onStderr(c) : err.push(c)));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code: code ?? 128, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
  });
}

/** Run and throw ExecError on a non-zero exit. */
export async function execOk(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0 || r.signal) throw new ExecError([cmd, ...args].join(' '), r);
  return r;
}
