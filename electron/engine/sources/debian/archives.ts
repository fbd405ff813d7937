// The Debian archives an install reads, as Debian itself builds a system: the
// suite, its -updates and its -security archives. From the recipe's
// `mirror:` (a URL: that archive alone; a list: exactly those), or with
// `auto` from the host's apt configuration (deb822 .sources files and
// one-line .list files), each URI checked by the recipe's grammar because
// it goes to the same tools.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { mirrorProblem } from '../../../../shared/grammar';
import type { SourceOf } from '../../../../shared/recipe';

export interface Archive {
  uri: string;
  suite: string;
  components: string[];
}

/** One `deb` source of the host: a URI and the suites it offers. */
interface AptSource {
  uri: string;
  suites: string[];
  file: string;
}

/** The archives a debian source reads, the main suite first. */
export async function archivesOf(s: SourceOf<'debian'>, aptDir = '/etc/apt'): Promise<Archive[]> {
  const at = (uri: string, suite = s.suite): Archive => ({ uri, suite, components: s.components });
  if (typeof s.mirror === 'string') return s.mirror === 'auto' ? hostArchives(s.suite, s.components, aptDir) : [at(s.mirror)];
  return s.mirror.map((m) => (typeof m === 'string' ? at(m) : at(m.uri, m.suite)));
}

/**
 * From the host's apt sources: the URI offering the suite (or, when the host
 * runs another release, its first Debian mirror), then the ones offering
 * SUITE-updates and SUITE-security when the host has them.
 */
export async function hostArchives(suite: string, components: string[], aptDir = '/etc/apt'): Promise<Archive[]> {
  const listDir = path.join(aptDir, 'sources.list.d');
  const names = (await fs.readdir(listDir).catch(() => [] as string[])).filter((f) => /\.(sources|list)$/.test(f)).sort();
  const sources: AptSource[] = [];
  for (const file of [path.join(aptDir, 'sources.list'), ...names.map((f) => path.join(listDir, f))]) {
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    sources.push(...(file.endsWith('.sources') ? deb822Sources(text, file) : oneLineSources(text, file)));
  }
  const offering = (name: string) => sources.find((x) => x.suites.includes(name));
  const main = offering(suite) ?? sources.find((x) => !x.suites.some((n) => /-security$|\/updates$/.test(n)));
  if (!main) throw new Error(`no Debian mirror in ${path.join(aptDir, 'sources.list')} or ${listDir}: set mirror: in the recipe`);
  const out: Archive[] = [];
  for (const [src, name] of [[main, suite], [offering(`${suite}-updates`), `${suite}-updates`], [offering(`${suite}-security`), `${suite}-security`]] as const) {
    if (!src) continue;
    const problem = src.uri === 'auto' ? 'is not a URL' : mirrorProblem(src.uri);
    if (problem) throw new Error(`the host's apt sources (${src.file}) name the mirror ${JSON.stringify(src.uri)}, which ${problem.startsWith('expected') ? `is refused: ${problem}` : problem}: set mirror: in the recipe`);
    out.push({ uri: src.uri, suite: name, components });
  }
  return out;
}

/** deb822 stanzas: Types, URIs, Suites (Enabled: no skipped; comments dropped). */
export function deb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  for (const stanza of lines.join('\n').split(/\n[ \t]*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(stanza)?.[1].trim().split(/\s+/).filter(Boolean) ?? [];
    if (!field('Types').includes('deb') || field('Enabled')[0]?.toLowerCase() === 'no') continue;
    for (const uri of field('URIs')) out.push({ uri, suites: field('Suites'), file });
  }
  return out;
}

/** `deb [options] URI SUITE COMPONENT…` lines. */
export function oneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const line of text.split('\n')) {
    const m = /^deb[ \t]+(?:\[[^\]\n]*\][ \t]+)?(\S+)[ \t]+(\S+)/.exec(line.trim());
    if (m) out.push({ uri: m[1], suites: [m[2]], file });
  }
  return out;
}

/** An archive as a sources.list line, for mmdebstrap's MIRROR arguments. */
export function sourcesLine(a: Archive): string {
  return `deb ${a.uri} ${a.suite} ${a.components.join(' ')}`;
}

/** apt's name for an archive's lists file, e.g. deb.debian.org_debian_dists_bookworm_InRelease. */
export function listsName(a: Archive, file: 'InRelease' | 'Release'): string {
  const base = a.uri.replace(/^[a-z]+:\/+/, '').replace(/\/+$/, '').replace(/\//g, '_');
  return `${base}_dists_${a.suite.replace(/\//g, '_')}_${file}`;
}
