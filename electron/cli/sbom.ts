// `scratchyard sbom`: an image's or a project's SBOM on stdout or in a file.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sbomDocs } from '../engine/export/sbom';
import { sbomOf } from '../engine/entry/sbom';
import { defaultCacheDir } from '../engine/store/cache';
import { writeFileAtomic } from '../engine/store/atomic';
import { UsageError, parse, writablePlace } from './args';
import { Progress } from './progress';


export async function cmdSbom(args: string[], usage: () => number): Promise<number> {
  const { values, positionals } = parse(args, { format: { type: 'string' }, output: { type: 'string', short: 'o' } });
  if (values.help) return usage();
  if (positionals.length > 1) throw new UsageError(`expected one image or project, got ${positionals.join(' ')}`);
  const format = values.format ?? 'cyclonedx';
  if (format !== 'cyclonedx' && format !== 'spdx') throw new UsageError(`--format: expected cyclonedx or spdx, got "${format}"`);
  if (values.output) {
    // Checked before the work: a place we may not write, a folder, or a file in a folder that is not there.
    writablePlace('-o', values.output);
    const folder = path.dirname(path.resolve(values.output));
    if (!(await fs.stat(folder).then((st) => st.isDirectory(), () => false))) throw new UsageError(`-o ${values.output}: the folder ${folder} does not exist`);
    if (await fs.stat(values.output).then((st) => st.isDirectory(), () => false)) throw new UsageError(`-o ${values.output}: is a folder; name a file`);
  }
  const progress = new Progress(process.stderr);
  const sbom = await sbomOf(positionals[0] ?? '.', values.cache ?? defaultCacheDir(), (e) => progress.event(e));
  progress.finish();
  const text = sbomDocs(sbom)[format];
  if (values.output) await writeFileAtomic(values.output, text);
  else process.stdout.write(text);
  return 0;
}
