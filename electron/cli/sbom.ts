// `scratchyard sbom`: an image's or a project's SBOM on stdout or in a file.
import { promises as fs } from 'node:fs';
import { sbomDocs } from '../engine/export/sbom';
import { sbomOf } from '../engine/entry/sbom';
import { defaultCacheDir } from '../engine/store/cache';
import { writeFileAtomic } from '../engine/store/atomic';
import { UsageError, parse } from './args';
import { Progress } from './progress';


export async function cmdSbom(args: string[], usage: () => number): Promise<number> {
  const { values, positionals } = parse(args, { format: { type: 'string' }, output: { type: 'string', short: 'o' } });
  if (values.help) return usage();
  if (positionals.length > 1) throw new UsageError(`expected one image or project, got ${positionals.join(' ')}`);
  const format = values.format ?? 'cyclonedx';
  if (format !== 'cyclonedx' && format !== 'spdx') throw new UsageError(`--format: expected cyclonedx or spdx, got "${format}"`);
  const progress = new Progress(process.stderr);
  const sbom = await sbomOf(positionals[0] ?? '.', values.cache ?? defaultCacheDir(), (e) => progress.event(e));
  progress.finish();
  const text = sbomDocs(sbom)[format];
  if (values.output) {
    await fs.stat(values.output).then((st) => {
      if (st.isDirectory()) throw new UsageError(`-o ${values.output}: is a folder; name a file`);
    }, () => {});
    await writeFileAtomic(values.output, text);
  } else process.stdout.write(text);
  return 0;
}
