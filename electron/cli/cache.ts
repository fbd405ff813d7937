// `scratchyard cache du|verify|gc`: looking after the cache folder.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { defaultCacheDir } from '../engine/store/cache';
import { gc } from '../engine/store/gc';
import { imageLayoutDir } from '../engine/store/image-layout';
import { humanBytes, parseSize, usage } from '../engine/store/inventory';
import { verifyCache } from '../engine/store/verify';
import { UsageError, parse } from './args';
import { stampsDir } from './stamp';


export async function cmdCache(args: string[], usageOk: () => number): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, { json: { type: 'boolean' }, 'keep-storage': { type: 'string' }, 'dry-run': { type: 'boolean' } });
  if (values.help || sub === undefined || sub === '--help' || sub === '-h') return usageOk();
  if (positionals.length) throw new UsageError(`cache ${sub}: unexpected ${positionals.join(' ')}`);
  if (sub !== 'gc' && (values['keep-storage'] !== undefined || values['dry-run'])) throw new UsageError(`cache ${sub}: --keep-storage and --dry-run are options of cache gc`);
  const dir = path.resolve(values.cache ?? defaultCacheDir());
  const out = (s: string) => process.stdout.write(s + '\n');
  switch (sub) {
    case 'du': {
      const u = await usage(dir);
      if (values.json) out(JSON.stringify(u, null, 2));
      else {
        out(`cache ${dir}`);
        for (const [k, v] of Object.entries(u.kinds)) out(`${k.padEnd(6)} ${String(v.count).padStart(7)}  ${humanBytes(v.bytes).padStart(10)}`);
        out(`${'total'.padEnd(6)} ${''.padStart(7)}  ${humanBytes(u.total).padStart(10)}`);
      }
      return 0;
    }
    case 'verify': {
      const r = await verifyCache(dir);
      if (values.json) out(JSON.stringify(r, null, 2));
      else {
        for (const b of r.bad) out(`bad  ${b.entry}: ${b.why} (removed)`);
        out(`checked ${r.checked.blobs} blobs, ${r.checked.packs} packs (${r.packedContents} contents), ${r.checked.nodes} node results in ${dir}: ${r.bad.length ? `${r.bad.length} bad, removed; the next build recomputes them` : 'all good'}`);
      }
      return r.bad.length ? 1 : 0;
    }
    case 'gc': {
      const keepText = values['keep-storage'];
      const keepStorage = keepText === undefined ? undefined : parseSize(keepText);
      if (keepText !== undefined && keepStorage === undefined) throw new UsageError(`--keep-storage: expected a size like 2GB or 500MB, got "${keepText}"`);
      const r = await gc(dir, { keepStorage, dryRun: values['dry-run'] });
      // No-op stamps are one per command line and environment, and only ever save a no-op's time: all go, the next no-op writes its own again.
      if (!values['dry-run']) await rm(stampsDir(dir), { recursive: true, force: true });
      const freed = r.removed.reduce((n, i) => n + i.bytes, 0);
      const kept = r.kept.reduce((n, i) => n + i.bytes, 0);
      const damaged = 'damaged' in r.images ? r.images.damaged : undefined;
      const damagedRecord = 'damaged' in r.resolved ? r.resolved.damaged : undefined;
      if (values.json) out(JSON.stringify({ dryRun: !!values['dry-run'], removed: r.removed.map(({ kind, name, bytes }) => ({ kind, name, bytes })), freed, kept, projects: r.projects, dropped: r.dropped, images: r.images, resolved: r.resolved }, null, 2));
      else {
        const count = (k: string) => r.removed.filter((i) => i.kind === k).length;
        const images = 'dropped' in r.images && (r.images.dropped.length || count('images')) ? `, ${r.images.dropped.length} fetched images (${count('images')} image blobs)` : '';
        out(`${values['dry-run'] ? 'would remove' : 'removed'} ${count('blobs')} blobs, ${count('packs')} packs, ${count('nodes')} node results${images} (${humanBytes(freed)}) from ${dir}`);
        out(`kept ${humanBytes(kept)} for ${r.projects.length} project(s)${r.projects.length ? ': ' + r.projects.join(', ') : ''}`);
        if (r.dropped.length) out(`let go: ${r.dropped.join(', ')}`);
        if ('dropped' in r.resolved && r.resolved.dropped.length) out(`${values['dry-run'] ? 'would forget' : 'forgot'} what ${r.resolved.dropped.join(', ')} resolved to (image gone from the cache)`);
      }
      // The rest of the cache was collected; the layout was not: say why, and fail.
      if (damaged) process.stderr.write(`scratchyard: cache gc: ${damaged}: the image layout ${imageLayoutDir(dir)} is damaged and was left as it is (nothing removed from it); remove that folder to let the next build fetch its base images again\n`);
      if (damagedRecord) process.stderr.write(`scratchyard: cache gc: ${damagedRecord}: the record of what fetched references resolved to is damaged and was left as it is; remove it (each reference's next fetch records it again)\n`);
      return damaged || damagedRecord ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown cache command "${sub}" (expected du, verify or gc)`);
  }
}
