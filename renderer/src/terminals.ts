// Terminal output goes straight into xterm through this registry, never
// through the state store (Hyper's habit): bytes do not belong in zustand.
import { api } from './api';

type Writer = (data: string) => void;
const writers = new Map<string, Writer>();
const backlog = new Map<string, string[]>();

export function attachTerminal(id: string, write: Writer): () => void {
  writers.set(id, write);
  for (const chunk of backlog.get(id) ?? []) write(chunk);
  backlog.delete(id);
  return () => writers.delete(id);
}

export function writeTerminal(id: string, data: string): void {
  const w = writers.get(id);
  if (w) w(data);
  else backlog.set(id, [...(backlog.get(id) ?? []), data]);
}

api.onEvent((e) => {
  if (e.event === 'term.data') writeTerminal(e.id, e.data);
  if (e.event === 'log') writeTerminal('build', e.line.replace(/\n/g, '\r\n') + '\r\n');
  // Yellow, apart from the green and red of the nodes: a warning never fails the build.
  if (e.event === 'build.warning') writeTerminal('build', `\x1b[33mwarning:\x1b[0m ${e.image}: ${e.kind}: ${e.reason} \x1b[2m(host ${e.host}, ${e.field})\x1b[0m\r\n`);
  if (e.event === 'build.node' && e.state !== 'running') {
    const mark = e.state === 'failed' ? '\x1b[31m✗\x1b[0m' : e.state === 'cached' ? '\x1b[36m=\x1b[0m' : '\x1b[32m✓\x1b[0m';
    writeTerminal('build', `${mark} ${e.label} ${e.state}${e.ms !== undefined ? ` ${e.ms} ms` : ''}${e.detail ? ` ${e.detail}` : ''}\r\n`);
  }
});
