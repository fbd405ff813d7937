// `scratchyard init --from REF [DIR]`: a new project on a base image, pinned by digest.
import { defaultCacheDir } from '../engine/store/cache';
import { InitRefError, initFromImage } from '../engine/entry/init';
import { UsageError, parse, writablePlace } from './args';


export async function cmdInit(args: string[], usageOk: () => number): Promise<number> {
  const { values, positionals } = parse(args, { from: { type: 'string' } });
  if (values.help) return usageOk();
  if (values.from === undefined) throw new UsageError('init: --from REF is required (the base image)');
  if (positionals.length > 1) throw new UsageError(`init: expected one folder, got ${positionals.join(' ')}`);
  writablePlace('init', positionals[0] ?? '.');
  try {
    const r = await initFromImage({ from: values.from, dir: positionals[0] ?? '.', cacheDir: values.cache ?? defaultCacheDir() });
    process.stderr.write(`wrote ${r.file}: base ${r.ref} ${r.digest}\n`);
    return 0;
  } catch (e) {
    if (e instanceof InitRefError) throw new UsageError(`init --from: ${e.message}`);
    throw e;
  }
}
