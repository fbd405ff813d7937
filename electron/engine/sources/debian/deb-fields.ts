// One set of packages makes one root, whichever way it was installed.
//
// apt writes its auto marks (/var/lib/apt/extended_states) in the order of
// its package cache, which follows the archive's index (a locked install's
// local repository orders it otherwise), and keeps the marks of packages the
// recipe's `exclude` purged with dpkg behind its back; so the marks are kept
// for installed packages only, sorted by name and architecture (apt reads
// them into a map, and writes them anew at its next change).
//
// debootstrap copies the archive's Packages index into dpkg's `available`,
// and dpkg then records the archive's Priority and Section overrides in its
// status; apt (mmdebstrap) and a locked install (a local repository indexed
// from the .debs themselves) record the .debs' own. A debootstrap root's
// status therefore takes each package's Priority and Section from its .deb
// (and `available`, a copy of the archive index as fetched, is emptied by
// normalization), so a locked rebuild gives the unlocked build's digest.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { imagePath } from '../../model/path';
import type { Tree } from '../../model/tree';
import { execOk } from '../../tools/exec';
import { requireTool } from '../../tools/registry';
import type { SourceContext } from '../types';
import { debFileName, markedFor, stanzaField, type Installed } from './installed';

/** The fields dpkg's status may take from the archive instead of the .deb. */
const OVERRIDDEN = ['Priority', 'Section'] as const;
type Fields = Partial<Record<(typeof OVERRIDDEN)[number], string>>;

const keyOf = (stanza: string) => `${stanzaField(stanza, 'Package')} ${stanzaField(stanza, 'Version')} ${stanzaField(stanza, 'Architecture')}`;

/**
 * Each installed package's Priority and Section as its .deb declares them:
 * read from `index` (dpkg-scanpackages' output over the .debs, as a locked
 * install's local repository already has), or scanned from the .debs in
 * `debDir` (one run over links to just the installed ones, in `scratch`).
 */
async function debFields(installed: Installed[], index: string | DebDir): Promise<Map<string, Fields>> {
  let text: string;
  if (typeof index === 'string') text = index;
  else {
    await fs.mkdir(index.scratch);
    for (const p of installed) await fs.link(path.join(index.debDir, debFileName(p)), path.join(index.scratch, debFileName(p)));
    text = (await execOk(requireTool('dpkgScanpackages'), ['--multiversion', '.', '/dev/null'], { cwd: index.scratch })).stdout;
  }
  const out = new Map<string, Fields>();
  for (const stanza of text.split(/\n\n+/)) {
    const fields: Fields = {};
    for (const f of OVERRIDDEN) {
      const v = stanzaField(stanza, f);
      if (v !== undefined) fields[f] = v;
    }
    out.set(keyOf(stanza), fields);
  }
  return out;
}

/** `status` with each stanza's Priority and Section as its package's .deb declares them (a field either lacks is left as it is). */
export function withDebFields(status: string, fields: Map<string, Fields>): string {
  return status
    .split('\n\n')
    .map((stanza) => {
      const deb = fields.get(keyOf(stanza));
      if (!deb) return stanza;
      let out = stanza;
      for (const f of OVERRIDDEN) if (deb[f] !== undefined) out = out.replace(new RegExp(`^${f}: .*$`, 'm'), () => `${f}: ${deb[f]}`);
      return out;
    })
    .join('\n\n');
}

/** The folder the tool's .debs are in, and an empty folder's path to link the installed ones into. */
export interface DebDir {
  debDir: string;
  scratch: string;
}

/** Rewrite a debootstrap root's /var/lib/dpkg/status in `raw` as above; `index` as debFields takes it. */
export async function debootstrapStatus(raw: Tree, installed: Installed[], index: string | DebDir, ctx: SourceContext): Promise<void> {
  const fields = await debFields(installed, index);
  await rewriteText(raw, '/var/lib/dpkg/status', ctx, (status) => withDebFields(status, fields));
}

/** `extendedStates` with only the stanzas of installed packages, sorted by package and architecture. */
export function withInstalledMarks(extendedStates: string, installed: Installed[]): string {
  const isInstalled = (stanza: string) => installed.some((p) => markedFor(p, stanzaField(stanza, 'Package'), stanzaField(stanza, 'Architecture')));
  const key = (stanza: string) => `${stanzaField(stanza, 'Package')}\0${stanzaField(stanza, 'Architecture') ?? ''}`;
  const stanzas = extendedStates
    .split(/\n\n+/)
    .map((x) => x.trim())
    .filter((x) => x && isInstalled(x))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return stanzas.map((x) => `${x}\n\n`).join('');
}

/** Rewrite a root's /var/lib/apt/extended_states in `raw` as above. */
export function installedMarks(raw: Tree, installed: Installed[], ctx: SourceContext): Promise<void> {
  return rewriteText(raw, '/var/lib/apt/extended_states', ctx, (text) => withInstalledMarks(text, installed));
}

/** A file of `raw` (when it is one) with its text made by `edit`, its contents put in the store. */
export async function rewriteText(raw: Tree, at: string, ctx: SourceContext, edit: (text: string) => string): Promise<void> {
  const file = imagePath(at);
  const e = raw.get(file);
  if (e?.type !== 'file') return;
  const before = e.digest ? String(await ctx.store.read(e.digest)) : '';
  const after = edit(before);
  if (after === before) return;
  const blob = await ctx.store.putBytes(after);
  raw.set(file, { ...e, digest: blob.digest, size: blob.size });
}
