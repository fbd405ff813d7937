// dpkg's text formats, parsed and written: the status database (and the
// distroless status.d/ files, one paragraph each), md5sums, and the
// machine-readable copyright format (DEP-5). Images are untrusted: the parsers
// are linear, bounded in paragraphs, fields and field size, and skip what
// they cannot read instead of failing.

export const DPKG_LIMITS = {
  /** Paragraphs read from one file (Debian's whole archive has ~65,000 binary packages). */
  paragraphs: 100_000,
  /** Fields kept in one paragraph. */
  fields: 64,
  /** Characters kept of one field's value (a Description or Conffiles list is a few KiB). */
  value: 64 << 10,
};

export type Paragraph = Map<string, string>;

const FIELD = /^([!-9;-~][!-9;-~]*):[ \t]*(.*)$/;

/** deb822 paragraphs: "Field: value" lines, continuation lines start with a space or tab, blank lines separate. */
export function parseParagraphs(text: string, limits = DPKG_LIMITS): Paragraph[] {
  const out: Paragraph[] = [];
  let cur: Paragraph | undefined;
  let field: string | undefined;
  let start = 0;
  while (start <= text.length && out.length < limits.paragraphs) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    if (line.trim() === '') {
      if (cur?.size) out.push(cur);
      cur = undefined;
      field = undefined;
      if (end === text.length) break;
      continue;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (cur && field !== undefined) {
        const v = cur.get(field)!;
        if (v.length < limits.value) cur.set(field, (v + '\n' + line.slice(1)).slice(0, limits.value));
      }
      continue;
    }
    const m = FIELD.exec(line);
    if (!m) {
      field = undefined;
      continue;
    }
    cur ??= new Map();
    if (cur.size >= limits.fields && !cur.has(m[1])) {
      field = undefined;
      continue;
    }
    field = m[1];
    cur.set(field, m[2].slice(0, limits.value));
  }
  if (cur?.size && out.length < limits.paragraphs) out.push(cur);
  return out;
}

export interface DebPackage {
  name: string;
  version: string;
  architecture: string;
  /** The source package, without its version: "Source: glibc (2.36-9)" -> "glibc". */
  source?: string;
  /** Installed-Size, in bytes (dpkg records KiB). */
  installedSize?: number;
}

const NAME = /^[a-z0-9][a-z0-9+.-]*$/;
const VERSION = /^[A-Za-z0-9.+~:-]+$/;
const ARCH = /^[a-z0-9-]+$/;

/** A paragraph that names an installed package by well-formed name, version and architecture; others are skipped. */
export function debPackage(p: Paragraph): DebPackage | undefined {
  const name = p.get('Package')?.trim();
  const version = p.get('Version')?.trim();
  const architecture = p.get('Architecture')?.trim() ?? '';
  if (!name || !version || !NAME.test(name) || name.length > 128 || !VERSION.test(version) || version.length > 128) return undefined;
  if (architecture && !ARCH.test(architecture)) return undefined;
  // status: only "installed"; status.d (distroless) paragraphs carry no Status field.
  const status = p.get('Status');
  if (status !== undefined && !/\binstalled$/.test(status.trim())) return undefined;
  const source = /^([a-z0-9][a-z0-9+.-]*)/.exec(p.get('Source')?.trim() ?? '')?.[1];
  const kib = /^\d{1,9}$/.exec(p.get('Installed-Size')?.trim() ?? '')?.[0];
  return { name, version, architecture, ...(source && source !== name ? { source } : {}), ...(kib ? { installedSize: Number(kib) * 1024 } : {}) };
}

/** One paragraph as dpkg writes it (fields in the given order, continuation lines indented). */
export function formatParagraph(p: Paragraph): string {
  let s = '';
  for (const [k, v] of p) s += `${k}: ${v.split('\n').join('\n ')}\n`;
  return s;
}

/** md5sums lines "<md5>  <path without leading slash>", keyed by absolute path. */
export function parseMd5sums(text: string, maxLines = 200_000): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n', maxLines)) {
    const m = /^([0-9a-f]{32}) [ *](.+)$/.exec(line);
    if (m) out.set('/' + m[2].replace(/^\/+/, ''), m[1]);
  }
  return out;
}

export const DEP5_FORMAT = /^Format:\s*https?:\/\/(www\.)?debian\.org\/doc\/packaging-manuals\/copyright-format\//;

/**
 * The licence short names of a machine-readable copyright file (every
 * `License:` field's first line, split on "or"/"and"/","), sorted; undefined
 * when the file is not in that format.
 */
export function dep5Licenses(text: string): string[] | undefined {
  if (!DEP5_FORMAT.test(text.slice(0, 512))) return undefined;
  const names = new Set<string>();
  for (const p of parseParagraphs(text)) {
    const v = p.get('License');
    if (v === undefined) continue;
    for (const part of v.split('\n')[0].split(/\s+(?:or|and)\s+|,|\|/i)) {
      const name = part.trim().replace(/\s+with\s+.*$/i, '');
      if (/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/.test(name)) names.add(name);
    }
  }
  return [...names].sort();
}

/** Debian's licence short names that have an exact SPDX identifier. */
const SPDX_OF: Record<string, string> = {
  'GPL-1': 'GPL-1.0-only', 'GPL-1+': 'GPL-1.0-or-later', 'GPL-2': 'GPL-2.0-only', 'GPL-2+': 'GPL-2.0-or-later', 'GPL-3': 'GPL-3.0-only', 'GPL-3+': 'GPL-3.0-or-later',
  'LGPL-2': 'LGPL-2.0-only', 'LGPL-2+': 'LGPL-2.0-or-later', 'LGPL-2.1': 'LGPL-2.1-only', 'LGPL-2.1+': 'LGPL-2.1-or-later', 'LGPL-3': 'LGPL-3.0-only', 'LGPL-3+': 'LGPL-3.0-or-later',
  'AGPL-3': 'AGPL-3.0-only', 'AGPL-3+': 'AGPL-3.0-or-later', 'GFDL-1.2+': 'GFDL-1.2-or-later', 'GFDL-1.3+': 'GFDL-1.3-or-later',
  'Apache-2.0': 'Apache-2.0', 'Artistic-2.0': 'Artistic-2.0', 'BSD-2-clause': 'BSD-2-Clause', 'BSD-3-clause': 'BSD-3-Clause', 'BSD-4-clause': 'BSD-4-Clause',
  Expat: 'MIT', MIT: 'MIT', ISC: 'ISC', Zlib: 'Zlib', 'MPL-2.0': 'MPL-2.0', 'CC0-1.0': 'CC0-1.0', 'BSL-1.0': 'BSL-1.0', curl: 'curl', 'OpenSSL': 'OpenSSL', 'X11': 'X11', Unicode: 'Unicode-DFS-2016',
};

/** The SPDX identifier of a Debian licence name, when there is an exact one. */
export function spdxLicense(name: string): string | undefined {
  return SPDX_OF[name];
}

/**
 * A path as dpkg lists it on a merged-/usr system: /bin, /sbin and /lib* are
 * links into /usr, and dpkg knows a file by either name. Lookups use this key.
 */
export function usrKey(p: string): string {
  const m = /^\/usr(\/(?:bin|sbin|lib|lib32|lib64|libx32)(?:\/.*)?)$/.exec(p);
  return m ? m[1] : p;
}
