// Native tools in a pseudo-terminal, so their colours and progress lines reach
// the app's terminals as they draw them. Output is batched (about 16 ms or
// 200 KB, Hyper's numbers) so a chatty tool does not flood the window.
import type { IPty } from 'node-pty';

export interface PtySession {
  write(data: string): void;
  resize(cols: number, rows: number): void;
  kill(): void;
}

export interface PtyOptions {
  file: string;
  args: string[];
  env: Record<string, string>;
  cols: number;
  rows: number;
  onData: (data: string) => void;
  onExit: (code: number) => void;
}

const FLUSH_MS = 16;
const FLUSH_BYTES = 200 * 1024;

export async function spawnPty(o: PtyOptions): Promise<PtySession> {
  // Loaded on first use: the CLI never needs the native module.
  const pty = await import('node-pty');
  const child: IPty = pty.spawn(o.file, o.args, { name: 'xterm-256color', cols: o.cols, rows: o.rows, env: { TERM: 'xterm-256color', ...o.env } });
  let buf = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (buf) o.onData(buf);
    buf = '';
  };
  child.onData((d) => {
    buf += d;
    if (buf.length >= FLUSH_BYTES) flush();
    else timer ??= setTimeout(flush, FLUSH_MS);
  });
  child.onExit(({ exitCode, signal }) => {
    flush();
    o.onExit(signal ? 128 + signal : exitCode);
  });
  return { write: (d) => child.write(d), resize: (c, r) => child.resize(c, r), kill: () => child.kill() };
}
