// Argument parsing shared by the commands: node's parseArgs, strict, with the
// options every command takes; its complaints become usage errors (exit 2).
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pseudoFsRoot } from '../../shared/grammar';

/** Bad arguments: main prints the message and the usage text, and exits 2. */
export class UsageError extends Error {}

const common = { cache: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

let cacheSeen: string | undefined;

/** The --cache a command parsed (undefined: the default), for the entry's code cache. */
export function cacheOption(): string | undefined {
  return cacheSeen;
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    const parsed = parseArgs({ args: 'tls-verify' in options ? withBareTlsVerify(args) : args, options: { ...common, ...options }, allowPositionals: true, strict: true });
    const cache: unknown = (parsed.values as Record<string, unknown>).cache;
    cacheSeen = typeof cache === 'string' ? cache : undefined;
    if (cacheSeen !== undefined) writablePlace('--cache', cacheSeen);
    return parsed;
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError(parseArgsMessage(e as Error & { code?: string }));
  }
}

/**
 * skopeo's --tls-verify is a boolean: alone it means true. parseArgs has no
 * optional values, so a bare one becomes --tls-verify=true, unless the next
 * word is its value ("--tls-verify false").
 */
function withBareTlsVerify(args: string[]): string[] {
  const end = args.indexOf('--');
  return args.map((a, i) => (a === '--tls-verify' && (end < 0 || i < end) && args[i + 1] !== 'true' && args[i + 1] !== 'false' ? '--tls-verify=true' : a));
}

/** node's parseArgs complaints in our words (its unknown-option advice even ends on an unclosed quote). */
function parseArgsMessage(e: Error & { code?: string }): string {
  // "Unknown option '-x'", "Option '-w, --workdir <value>' argument missing": the long name when there is one.
  const quoted = /'(-[^']*)'/.exec(e.message)?.[1];
  const named = quoted && (/--[^\s<=]+/.exec(quoted)?.[0] ?? /-[^\s,<=]+/.exec(quoted)?.[0]);
  if (!named) return e.message;
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${named} (a value that starts with "-" goes after --, as in -- ${named})`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/argument missing/.test(e.message)) return `${named} expects a value`;
    // "-w --cache X": the next word looks like an option, not the value.
    const long = /'(--[^=']+)=-XYZ'/.exec(e.message)?.[1] ?? named;
    if (/ambiguous/.test(e.message)) return `${named} expects a value, and the next word is an option (a value that starts with "-" is written ${long}=VALUE)`;
    return `${named} takes no value`;
  }
  return e.message;
}

/**
 * A folder or file the user names for us to write (--cache, --out, init's folder, sbom -o), refused
 * when it lies under /proc or /sys once symlinks are followed: nothing there is ours to write, and
 * Node's recursive mkdir spins forever on /proc.
 */
export function writablePlace(flag: string, p: string): void {
  const real = nearestReal(p);
  const fs = pseudoFsRoot(real);
  if (fs) throw new UsageError(`${flag} ${p}: is under /${fs}${real !== path.resolve(p) ? ` (${real})` : ''}, the kernel's view of this machine: not a place to write`);
}

/** `p` with its nearest existing ancestor resolved as the kernel would (symlinks followed), the rest as given. */
function nearestReal(p: string): string {
  let at = path.resolve(p);
  let rest = '';
  for (;;) {
    try {
      return path.join(realpathSync.native(at), rest);
    } catch {
      const up = path.dirname(at);
      if (up === at) return path.resolve(p);
      rest = path.join(path.basename(at), rest);
      at = up;
    }
  }
}
