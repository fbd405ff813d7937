// Build progress on stderr: a redrawn status line with a bar on a terminal,
// one line per finished node otherwise (logs, CI).
import type { BuildEvent, HostWarning } from '../engine/model/events';

export class Progress {
  private total = 0;
  private finished = 0;
  private readonly tty: boolean;
  /** Warnings of this build, in the order the engine sent them (sorted per layer stack). */
  readonly warnings: HostWarning[] = [];

  constructor(private readonly out: NodeJS.WriteStream) {
    this.tty = !!out.isTTY;
  }

  event(e: BuildEvent): void {
    if (e.type === 'plan') {
      this.total = e.nodes;
      return;
    }
    if (e.type === 'log') {
      this.clear();
      this.out.write(`${e.line}\n`);
      return;
    }
    if (e.type === 'warning') {
      const { type: _, ...w } = e;
      this.warnings.push(w);
      this.clear();
      this.out.write(`${warningLine(w)}\n`);
      return;
    }
    if (e.state === 'running') {
      if (this.tty) this.draw(`${e.label}…${e.progress !== undefined ? ` ${Math.round(e.progress * 100)}%` : ''}`);
      return;
    }
    this.finished++;
    const line = `${e.state === 'failed' ? '✗' : e.state === 'cached' ? '=' : '✓'} ${e.label} ${e.state}${e.ms !== undefined ? ` ${e.ms} ms` : ''}${e.detail ? ` ${e.detail}` : ''}`;
    if (this.tty) this.draw(line);
    // Sources are many and quick; their own sub-nodes (debian's download and install) are worth a line.
    else if (!e.id.startsWith('source:') || e.id.split(':').length > 3 || e.state === 'failed') this.out.write(line + '\n');
  }

  finish(message?: string): void {
    this.clear();
    // After a long build log, the count by kind is what says whether to scroll back.
    if (this.warnings.length) {
      const kinds = new Map<string, number>();
      for (const w of this.warnings) kinds.set(w.kind, (kinds.get(w.kind) ?? 0) + 1);
      this.out.write(`${this.warnings.length} warning(s) from host sources: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}\n`);
    }
    if (message) this.out.write(message + '\n');
  }

  private draw(text: string): void {
    const width = 20;
    const done = this.total ? Math.min(width, Math.round((this.finished / this.total) * width)) : 0;
    const cols = this.out.columns || 80;
    this.out.write(`\r\x1b[K[${'#'.repeat(done)}${' '.repeat(width - done)}] ${text}`.slice(0, cols + 6));
  }

  private clear(): void {
    if (this.tty) this.out.write('\r\x1b[K');
  }
}

/** "warning: IMAGE: REASON (host HOST, FIELD)": what, why, where from, and which source. */
export function warningLine(w: HostWarning): string {
  return `warning: ${w.image}: ${w.kind}: ${w.reason} (host ${w.host}, ${w.field})`;
}
