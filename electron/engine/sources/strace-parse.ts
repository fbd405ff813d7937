// Reading strace's output (`strace -f -y -o FILE`): the paths each process
// successfully opened, executed, stat'ed, checked or read as a link. Pure: the
// text in, absolute paths out (not yet resolved against the filesystem).

/** Syscalls whose path argument a successful call shows the program used, and where that argument is. */
const PATH_ARG: Record<string, { dirfd: boolean }> = {
  open: { dirfd: false },
  openat: { dirfd: true },
  openat2: { dirfd: true },
  execve: { dirfd: false },
  execveat: { dirfd: true },
  stat: { dirfd: false },
  lstat: { dirfd: false },
  stat64: { dirfd: false },
  lstat64: { dirfd: false },
  newfstatat: { dirfd: true },
  fstatat64: { dirfd: true },
  statx: { dirfd: true },
  access: { dirfd: false },
  faccessat: { dirfd: true },
  faccessat2: { dirfd: true },
  readlink: { dirfd: false },
  readlinkat: { dirfd: true },
};

const CLONES = new Set(['clone', 'clone3', 'fork', 'vfork']);

/** One argument as strace printed it: a string, an fd with its path (`3</usr/lib>`), or anything else. */
type Arg = { kind: 'string'; value: string } | { kind: 'fd'; path: string | undefined } | { kind: 'other'; text: string };

/** A C-style escape body after the backslash at s[i]: the bytes it stands for and where it ends. */
function unescape(s: string, i: number): [number[], number] {
  const c = s[i];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, '\\': 92, '"': 34, "'": 39, '<': 60, '>': 62 };
  if (c === 'x') {
    const hex = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1))![0];
    return [[parseInt(hex, 16)], i + 1 + hex.length];
  }
  const oct = /^[0-7]{1,3}/.exec(s.slice(i));
  if (oct) return [[parseInt(oct[0], 8)], i + oct[0].length];
  if (c in simple) return [[simple[c]], i + 1];
  return [[...Buffer.from(c)], i + 1];
}

/** Read an escaped run up to `end` (exclusive), decoding as UTF-8 bytes. */
function readEscaped(s: string, i: number, end: string): [string, number] {
  const bytes: number[] = [];
  while (i < s.length && s[i] !== end) {
    if (s[i] === '\\') {
      const [b, j] = unescape(s, i + 1);
      bytes.push(...b);
      i = j;
    } else {
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch));
      i += ch.length;
    }
  }
  return [Buffer.from(bytes).toString(), i + 1];
}

/** Split a call's argument text at top-level commas, decoding strings and fd paths. */
export function parseArgs(text: string): Arg[] {
  const args: Arg[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ') i++;
    if (text[i] === '"') {
      const [value, j] = readEscaped(text, i + 1, '"');
      i = j;
      while (i < text.length && text[i] !== ',') i++; // a trailing "..." of a cut string
      args.push({ kind: 'string', value });
    } else {
      const fd = /^(?:-?\d+|AT_FDCWD)(?=<|,|$)/.exec(text.slice(i));
      if (fd && text[i + fd[0].length] === '<') {
        const [p, j] = readEscaped(text, i + fd[0].length + 1, '>');
        i = j;
        args.push({ kind: 'fd', path: p });
      } else if (fd) {
        i += fd[0].length;
        args.push(fd[0] === 'AT_FDCWD' ? { kind: 'fd', path: undefined } : { kind: 'other', text: fd[0] });
      } else {
        // Anything else, with nested brackets and strings skipped whole.
        const start = i;
        let depth = 0;
        while (i < text.length && !(depth === 0 && text[i] === ',')) {
          const ch = text[i];
          if (ch === '"') {
            i = readEscaped(text, i + 1, '"')[1];
            continue;
          }
          if (ch === '[' || ch === '{' || ch === '(') depth++;
          else if (ch === ']' || ch === '}' || ch === ')') depth--;
          i++;
        }
        args.push({ kind: 'other', text: text.slice(start, i).trim() });
      }
    }
    if (text[i] === ',') i++;
  }
  return args;
}

export interface StraceCall {
  pid: number;
  name: string;
  args: string;
  /** The return value, or undefined when strace printed "?" (the process went away). */
  ret: number | undefined;
}

const CALL = /^(\w+)\((.*)\)\s+=\s+(-?\d+|0x[0-9a-fA-F]+|\?)(?:<[^>]*>)?(?:\s.*)?$/s;

/** Whole calls from strace's lines, an `<unfinished ...>` joined with its `<... NAME resumed>`. */
export function straceCalls(text: string): StraceCall[] {
  const pending = new Map<number, string>();
  const calls: StraceCall[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    let body = m[2];
    const resumed = /^<\.\.\. \w+ resumed>\s?(.*)$/s.exec(body);
    if (resumed) {
      body = (pending.get(pid) ?? '') + resumed[1];
      pending.delete(pid);
    }
    const unfinished = / <unfinished \.\.\.>$/.exec(body);
    if (unfinished) {
      pending.set(pid, body.slice(0, unfinished.index));
      continue;
    }
    const c = CALL.exec(body);
    if (!c) continue; // signals, exits, "+++"/"---" lines
    calls.push({ pid, name: c[1], args: c[2], ret: c[3] === '?' ? undefined : Number(c[3]) });
  }
  return calls;
}

function join(base: string, rel: string): string {
  if (rel.startsWith('/')) return rel;
  return base.endsWith('/') ? base + rel : `${base}/${rel}`;
}

/**
 * Every absolute path a successful call of a traced process used, in the
 * order first seen. Relative paths are resolved against the dirfd strace
 * decoded (`-y`), else against the process's cwd as tracked through
 * chdir/fchdir and inherited at clone.
 */
export function tracedPaths(text: string, initialCwd = '/'): string[] {
  const cwd = new Map<number, string>();
  const seen = new Set<string>();
  const cwdOf = (pid: number) => cwd.get(pid) ?? initialCwd;
  for (const call of straceCalls(text)) {
    if (call.ret === undefined || call.ret < 0) {
      // execve that replaced the process prints "?" only when it was killed; nothing to take.
      continue;
    }
    const args = parseArgs(call.args);
    if (CLONES.has(call.name)) {
      if (call.ret > 0) cwd.set(call.ret, cwdOf(call.pid));
      continue;
    }
    if (call.name === 'chdir' && args[0]?.kind === 'string') {
      cwd.set(call.pid, join(cwdOf(call.pid), args[0].value));
      continue;
    }
    if (call.name === 'fchdir' && args[0]?.kind === 'fd' && args[0].path) {
      cwd.set(call.pid, args[0].path);
      continue;
    }
    const where = PATH_ARG[call.name];
    if (!where) continue;
    const dir = where.dirfd ? args[0] : undefined;
    const p = where.dirfd ? args[1] : args[0];
    if (p?.kind !== 'string') continue;
    let base = cwdOf(call.pid);
    if (dir?.kind === 'fd' && dir.path !== undefined) base = dir.path;
    let full: string;
    if (p.value === '') {
      // fstatat(fd, "", AT_EMPTY_PATH): the fd's own file.
      if (dir?.kind !== 'fd' || dir.path === undefined) continue;
      full = dir.path;
    } else full = join(base, p.value);
    if (!full.startsWith('/')) continue;
    seen.add(full);
  }
  return [...seen];
}
