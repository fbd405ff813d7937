// build --locked when the cache's pool lacks locked .debs: ask the archives
// for exactly NAME:ARCH=VERSION with `apt-get download` (the suite's main
// archive often still serves the version its -security or -updates archive
// superseded). apt runs with a private state (its own sources.list, lists
// and cache in the work folder; the host's keys and apt.conf), verifies each
// .deb against the signed indices, and each one is then checked against the
// lock's sha256. Lock values reach apt-get only after "--", each checked
// again by the grammars of shared/grammar.ts.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { debianPackageProblem, debianVersionProblem, debianWordProblem } from '../../../../shared/grammar';
import type { LockPackage } from '../../../../shared/lock';
import type { Sha256 } from '../../../../shared/brand';
import { exec } from '../../tools/exec';
import { requireTool } from '../../tools/registry';
import type { SourceContext } from '../types';
import { sourcesLine, type Archive } from './archives';
import { debFileName } from './installed';
import { adoptDeb } from './pool';
import { OFFLINE, lastLines } from './stream';

export interface Fetched {
  /** Pool entries for the .debs fetched and found as locked. */
  debs: [string, Sha256][];
  /** One line per locked package neither the pool nor the archives have as locked. */
  problems: string[];
}

const specOf = (p: LockPackage) => `${p.name}:${p.arch}=${p.version}`;

function checkedSpec(p: LockPackage): string {
  const problem = debianPackageProblem(p.name) ?? debianVersionProblem(p.version) ?? debianWordProblem(p.arch, 'component');
  if (problem) throw new Error(`locked package ${JSON.stringify(p.name)} ${JSON.stringify(p.version)}: ${problem}`);
  return specOf(p);
}

export async function fetchLocked(packages: LockPackage[], archives: Archive[], work: string, ctx: SourceContext): Promise<Fetched> {
  const aptGet = requireTool('aptGet');
  const [lists, cache, parts, debs] = ['lists', 'cache', 'parts', 'debs'].map((d) => path.join(work, d));
  await Promise.all([path.join(lists, 'partial'), path.join(cache, 'archives', 'partial'), parts, debs].map((d) => fs.mkdir(d, { recursive: true })));
  const sourceList = path.join(work, 'sources.list');
  await fs.writeFile(sourceList, archives.map((a) => sourcesLine(a) + '\n').join(''));
  const options = [
    '-q',
    ...[`Dir::Etc::SourceList=${sourceList}`, `Dir::Etc::SourceParts=${parts}`, `Dir::State::Lists=${lists}`, `Dir::Cache=${cache}`, 'Dir::State::status=/dev/null', 'Debug::NoLocking=1', 'APT::Sandbox::User=root', 'Acquire::Languages=none'].flatMap((o) => ['-o', o]),
  ];
  const where = archives.map((a) => `${a.uri} ${a.suite}`).join(', ');
  const update = await exec(aptGet, [...options, 'update']);
  const updateOut = update.stdout + update.stderr;
  if (update.code !== 0 || /^(E|W): Failed to fetch/m.test(updateOut)) {
    throw new Error(`apt-get update of ${where} failed${OFFLINE.test(updateOut) ? ' (cannot reach the mirror)' : ''}: ${lastLines(updateOut)}`);
  }
  // apt-get download fetches nothing when one request is unknown: drop those it names and ask again.
  let wanted = packages.map((p) => ({ p, spec: checkedSpec(p) }));
  const unknown = new Set<LockPackage>();
  for (let round = 0; wanted.length && round < 3; round++) {
    const r = await exec(aptGet, [...options, 'download', '--', ...wanted.map((w) => w.spec)], { cwd: debs });
    if (r.code === 0) break;
    const missing = new Set<string>();
    for (const m of r.stderr.matchAll(/^E: Version '([^']+)' for '([^':]+)(?::[^']*)?' was not found$/gm)) missing.add(`${m[2]}=${m[1]}`);
    for (const m of r.stderr.matchAll(/^E: Unable to locate package ([^\s:]+)/gm)) missing.add(m[1]);
    const before = wanted.length;
    wanted = wanted.filter((w) => {
      const gone = missing.has(`${w.p.name}=${w.p.version}`) || missing.has(w.p.name);
      if (gone) unknown.add(w.p);
      return !gone;
    });
    if (wanted.length === before) throw new Error(`apt-get download from ${where} failed (exit ${r.code}): ${lastLines(r.stderr || r.stdout)}`);
  }
  const out: Fetched = { debs: [], problems: [] };
  for (const p of packages) {
    const file = path.join(debs, debFileName(p));
    const here = !unknown.has(p) && (await fs.access(file).then(() => true, () => false));
    if (!here) {
      out.problems.push(`${p.name}=${p.version} (${p.arch}): not in the cache's .deb pool, nor in the archives (${where})`);
      continue;
    }
    const digest = await adoptDeb(ctx.store, file);
    if (digest !== p.sha256) out.problems.push(`${p.name}=${p.version} (${p.arch}): the archives' .deb has sha256 ${digest.slice(0, 12)}, the lock ${p.sha256.slice(0, 12)}`);
    else out.debs.push([debFileName(p), digest]);
  }
  ctx.log(`debian: fetched ${out.debs.length} locked .deb(s) from ${where}`);
  return out;
}
