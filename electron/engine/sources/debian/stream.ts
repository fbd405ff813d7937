// Run a Debian bootstrap tool with its output streamed line by line to its
// full log file and the progress bar; the build log gets the lines that start
// a phase and apt's warnings and errors, not the thousand lines of a run. The
// end of the output is kept for error messages.
import type { WriteStream } from 'node:fs';
import { exec } from '../../tools/exec';
import type { SourceContext } from '../types';
import type { DebianProgress } from './progress';

export interface StreamResult {
  code: number;
  /** The last few KiB of output, for the error message. */
  tail: string;
}

export async function streamTool(cmd: string, args: string[], env: NodeJS.ProcessEnv, ctx: SourceContext, progress: DebianProgress, onProgress: (f: number) => void, full?: WriteStream): Promise<StreamResult> {
  let tail = '';
  const partial = { out: '', err: '' };
  const take = (which: 'out' | 'err') => (chunk: Buffer) => {
    const text = partial[which] + String(chunk);
    const lines = text.split('\n');
    partial[which] = lines.pop() ?? '';
    for (const line of lines) emit(line);
  };
  const emit = (raw: string) => {
    const line = raw.replace(/\r/g, '');
    if (!line.trim()) return;
    tail = (tail + line + '\n').slice(-4000);
    full?.write(line + '\n');
    const f = progress.feed(line);
    if (!full || progress.startedPhase || /^(E|W): /.test(line)) ctx.log(line);
    if (f !== undefined) onProgress(f);
  };
  const r = await exec(cmd, args, { env, onStdout: take('out'), onStderr: take('err') });
  emit(partial.out);
  emit(partial.err);
  return { code: r.code, tail };
}

export function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}

export const OFFLINE = /Could not resolve|Temporary failure|Failed to fetch|Unable to connect|Network is unreachable|Couldn't download|Failed getting release file/;
