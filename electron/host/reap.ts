// The processes a server leaves behind when it stops: every descendant (PTY
// shells, sandboxed steps, qemu, docker clients), found through /proc since
// they may sit in their own sessions and process groups, or below a parent
// that dies first. They get SIGTERM, then SIGKILL after a grace period.
import { readFileSync, readdirSync } from 'node:fs';

/** pid → parent pid of every process we can see. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      map.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

/** Every living descendant of `root`, but not `spare` nor anything below it. */
export function descendants(root: number, spare: ReadonlySet<number> = new Set()): number[] {
  const kids = new Map<number, number[]>();
  for (const [pid, ppid] of parents()) kids.set(ppid, [...(kids.get(ppid) ?? []), pid]);
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const k of kids.get(pid) ?? []) {
      if (spare.has(k)) continue;
      out.push(k);
      walk(k);
    }
  };
  walk(root);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited already
  }
}

/**
 * End every descendant of this process but `spare`: SIGTERM, then SIGKILL for
 * whatever still lives after `graceMs` (a PID namespace's init ignores SIGTERM).
 * The first snapshot is kept: a child whose parent died is reparented away
 * from our tree but must still go.
 */
export async function reapDescendants(spare: ReadonlySet<number> = new Set(), graceMs = 2000): Promise<void> {
  const seen = new Set(descendants(process.pid, spare));
  for (const pid of seen) signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    for (const pid of descendants(process.pid, spare)) seen.add(pid);
    if (![...seen].some(alive)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const pid of descendants(process.pid, spare)) seen.add(pid);
  for (const pid of seen) if (alive(pid)) signal(pid, 'SIGKILL');
}
