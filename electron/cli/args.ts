// Argument parsing shared by the commands: node's parseArgs, strict, with the
// options every command takes; its complaints become usage errors (exit 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad arguments: main prints the message and the usage text, and exits 2. */
export class UsageError extends Error {}

const common = { cache: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...common, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
