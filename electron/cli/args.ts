// Argument parsing shared by the commands: node's parseArgs, strict, with the
// options every command takes; its complaints become usage errors (exit 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';

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
    const parsed = parseArgs({ args, options: { ...common, ...options }, allowPositionals: true, strict: true });
    const cache: unknown = (parsed.values as Record<string, unknown>).cache;
    cacheSeen = typeof cache === 'string' ? cache : undefined;
    return parsed;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
