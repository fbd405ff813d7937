// Grammars of the strings a recipe hands to the engine and, through it, to
// native tools (mmdebstrap, debootstrap, dpkg, docker, unshare) and to the
// image's own databases (/etc/passwd). Each check says in words what is wrong,
// or returns undefined; the recipe schema turns that into an issue at the field.
// Nothing here may start with "-" where a tool could read it as an option.

/** Largest uid or gid: 2³²−1 is (uid_t)-1, "no id" to the kernel and to chown. */
export const MAX_ID = 4294967294;

/** C0 controls, DEL and C1 controls: never in a path, a name or a database field. */
const CONTROLS = '\\u0000-\\u001f\\u007f-\\u009f';
const CONTROL = new RegExp(`[${CONTROLS}]`);
const CONTROL_ALL = new RegExp(`[${CONTROLS}]`, 'g');
const CONTROL_OR_BACKSLASH_ALL = new RegExp(`[\\\\${CONTROLS}]`, 'g');

export function controlProblem(s: string): string | undefined {
  const m = CONTROL.exec(s);
  if (!m) return undefined;
  const c = m[0].charCodeAt(0);
  const what = c === 0 ? 'a NUL byte' : c === 10 ? 'a newline' : c === 13 ? 'a carriage return' : c === 9 ? 'a tab' : `the control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return `contains ${what} (character ${m.index + 1})`;
}

/**
 * `s` as a terminal or a line-based list may show it: each control character as \xHH
 * (a newline cannot end the line, an escape sequence cannot drive the terminal); with
 * `backslash`, a backslash doubled too, so no two strings show alike.
 */
export function escapeControls(s: string, backslash = false): string {
  return s.replace(backslash ? CONTROL_OR_BACKSLASH_ALL : CONTROL_ALL, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** Raw bytes (read as latin1) shown safely: printable ASCII as it is, every other byte as \xHH (a name that is not UTF-8 text). */
export function escapeBytes(latin1: string): string {
  return latin1.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function nulProblem(s: string): string | undefined {
  const i = s.indexOf('\0');
  return i < 0 ? undefined : `contains a NUL byte (character ${i + 1})`;
}

/** An absolute path inside the image; `..` may not appear at all. */
export function imagePathProblem(p: string): string | undefined {
  if (p === '') return 'is empty: expected an absolute path inside the image';
  const c = controlProblem(p);
  if (c) return c;
  if (!p.startsWith('/')) return 'expected an absolute path inside the image, starting with "/"';
  if (p.split('/').includes('..')) return 'a path inside the image may not contain ".."';
  return fileSystemPathProblem(p);
}

/** PATH_MAX less its NUL: docker, podman and tar extract no longer path. */
export const MAX_PATH_BYTES = 4095;
/** NAME_MAX: no file system here holds a longer name. */
export const MAX_NAME_BYTES = 255;
/** Far deeper than any real tree; deeper ones cost the tree work superlinear time. */
export const MAX_PATH_DEPTH = 512;

/** Bytes of `s` in UTF-8 (shared code has no TextEncoder in its types): a surrogate pair is 4, counted 2 for each half. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
  }
  return n;
}

/**
 * What any path in an image must be, a layer's whiteouts included: within
 * PATH_MAX, NAME_MAX and MAX_PATH_DEPTH, so docker, podman and tar can
 * extract it (and a tree of such paths costs bounded work per entry).
 * `whiteouts`: false for a tree written as files (a recipe's paths, a rootfs
 * tarball's names), where a ".wh." name would be applied to the layers below
 * instead of written.
 */
export function fileSystemPathProblem(p: string, whiteouts = false): string | undefined {
  // Most paths are short: at 3 bytes a character at most, none of the limits can be reached.
  if (p.length * 3 <= MAX_NAME_BYTES && (whiteouts || !p.includes('/.wh.'))) return undefined;
  const bytes = utf8Length(p);
  if (bytes > MAX_PATH_BYTES) return `is ${bytes} bytes long: at most ${MAX_PATH_BYTES} (PATH_MAX) fit a path docker and tar can extract`;
  const parts = p.split('/').filter((s) => s !== '');
  if (parts.length > MAX_PATH_DEPTH) return `is ${parts.length} folders deep: at most ${MAX_PATH_DEPTH}`;
  for (const s of parts) {
    const n = utf8Length(s);
    if (n > MAX_NAME_BYTES) return `has a name of ${n} bytes ("${s.slice(0, 24)}…"): at most ${MAX_NAME_BYTES} (NAME_MAX)`;
    if (!whiteouts && s.startsWith('.wh.')) return `has a name beginning ".wh." ("${s}"): docker and podman read it as a whiteout, deleting from the layers below instead of writing a file`;
  }
  return undefined;
}

/** "proc" or "sys" when absolute path `p` lies under /proc or /sys, the kernel's live view of this machine: never a file to copy or a place to write. */
export function pseudoFsRoot(p: string): 'proc' | 'sys' | undefined {
  return /^\/+(proc|sys)(\/|$)/.exec(p)?.[1] as 'proc' | 'sys' | undefined;
}

/** An absolute path on the build machine. */
export function hostPathProblem(p: string): string | undefined {
  if (p === '') return 'is empty: expected an absolute host path';
  const c = controlProblem(p);
  if (c) return c;
  if (!p.startsWith('/')) return 'expected an absolute host path, starting with "/"';
  const fs = pseudoFsRoot(p);
  if (fs) return `is under /${fs}: the kernel's live view of this machine and of the build itself (its environment, its memory), not a file to put in an image`;
  return undefined;
}

/** Any path: project-relative, inside a stage, a symlink's target. */
export function pathProblem(p: string): string | undefined {
  if (p === '') return 'is empty: expected a path';
  return controlProblem(p);
}

// ---- users and groups: fields of colon-separated, line-based databases -----

const ACCOUNT = /^[a-z_][a-z0-9_-]*\$?$/;

/** useradd's default NAME_REGEX, at most 32 characters (utmp's limit). */
export function accountNameProblem(name: string, what: 'user' | 'group'): string | undefined {
  const c = dbFieldProblem(name);
  if (c) return c;
  if (name.length > 32) return `a ${what} name may be at most 32 characters (this one has ${name.length})`;
  if (!ACCOUNT.test(name)) return `expected a ${what} name like "${what === 'user' ? 'ava' : 'staff'}": a lower-case letter or "_", then lower-case letters, digits, "_" or "-"`;
  return undefined;
}

/** A field of /etc/passwd or /etc/group: ":" separates fields, a newline separates entries. */
export function dbFieldProblem(s: string): string | undefined {
  const c = controlProblem(s);
  if (c) return c;
  if (s.includes(':')) return `contains ":" (character ${s.indexOf(':') + 1}), which separates the fields of /etc/passwd and /etc/group`;
  return undefined;
}

/** A home folder or login shell: an absolute image path that is also a database field. */
export function accountPathProblem(p: string): string | undefined {
  return imagePathProblem(p) ?? dbFieldProblem(p);
}

// ---- Debian ------------------------------------------------------------------

/** Debian policy 5.6.7: lower case letters, digits, "+", "-" and "."; at least two; alphanumeric first. */
export function debianPackageProblem(name: string): string | undefined {
  if (/^[a-z0-9][a-z0-9+.-]+$/.test(name)) return undefined;
  return controlProblem(name) ?? `expected a Debian package name such as "ca-certificates" (lower-case letters, digits, "+", "-", "."; two characters or more, a letter or digit first)`;
}

/** Debian policy 5.6.12: [epoch:]upstream[-revision], a digit first (never an option, never a shell word). */
export function debianVersionProblem(v: string): string | undefined {
  if (/^(?:\d{1,9}:)?[0-9][A-Za-z0-9.+~:-]{0,127}$/.test(v)) return undefined;
  return controlProblem(v) ?? 'expected a Debian version such as "2.36-9+deb12u7"';
}

/** A suite, codename or archive component: "bookworm", "stable-updates", "non-free-firmware". */
export function debianWordProblem(word: string, what: 'suite' | 'component'): string | undefined {
  if (/^[a-z0-9][a-z0-9.-]{0,63}$/.test(word)) return undefined;
  const example = what === 'suite' ? 'bookworm' : 'main';
  return controlProblem(word) ?? `expected a Debian ${what} name such as "${example}" (lower-case letters, digits, "." and "-", a letter or digit first)`;
}

/** WHATWG URL, in Node and browsers alike (shared/ compiles without the types of either). */
declare const URL: new (input: string) => { protocol: string; hostname: string };

/** Characters RFC 3986 allows in a URI: no spaces, quotes, backslashes or brackets of other kinds. */
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;

/** `auto` or an http, https or file URL. Checked for mirrors from the recipe and from the host's apt sources alike. */
export function mirrorProblem(m: string): string | undefined {
  if (m === 'auto') return undefined;
  const c = controlProblem(m);
  if (c) return c;
  const expected = 'expected "auto" or an http://, https:// or file:// URL';
  if (!/^(?:https?:\/\/|file:\/)/.test(m)) return `${expected}, got ${JSON.stringify(m.length > 80 ? m.slice(0, 80) + '…' : m)}`;
  if (!URI_CHARS.test(m)) return `${expected}: a URL may not contain spaces, quotes, backslashes or "<>{}|^\`"`;
  let url: { protocol: string; hostname: string };
  try {
    url = new URL(m);
  } catch {
    return `${expected}: this one does not parse as a URL`;
  }
  // WHATWG URL reads "http:///debian" as host "debian": the text must name the host itself.
  if (url.protocol !== 'file:' && (url.hostname === '' || /^https?:\/\/[/?#@]/.test(m))) return `${expected}: this one names no host`;
  return undefined;
}

// ---- image references (distribution/reference's grammar) --------------------

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|-+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = 'sha256:[0-9a-f]{64}';
const REFERENCE = new RegExp(`^((?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*))(?::(${TAG}))?(?:@(${DIGEST}))?$`);
/** distribution/reference's NameTotalLengthMax. */
const MAX_NAME = 255;

export interface Reference {
  /** Everything before the tag: "localhost:5000/a/b". */
  name: string;
  domain?: string;
  path: string;
  tag?: string;
  digest?: string;
}

/** Parse an image reference ("docker.io/library/debian:bookworm-slim", "x@sha256:…"), or undefined. */
export function parseReference(s: string): Reference | undefined {
  const m = REFERENCE.exec(s);
  if (!m || m[1].length > MAX_NAME) return undefined;
  return { name: m[1], domain: m[2], path: m[3], tag: m[4], digest: m[5] };
}

export function referenceProblem(s: string): string | undefined {
  if (parseReference(s)) return undefined;
  const c = controlProblem(s);
  if (c) return c;
  const expected = 'expected an image reference such as "hello:latest" or "registry.example:5000/team/hello:1.0"';
  if (s === '') return `is empty: ${expected}`;
  if (/\s/.test(s)) return `contains a space: ${expected}`;
  const name = s.replace(/@.*$/, '').replace(/:[^/]*$/, '');
  if (name.length > MAX_NAME) return `the name is ${name.length} characters; at most ${MAX_NAME}`;
  if (name.split('/').some((c) => c === '' || c === '.' || c === '..')) return `a repository name has no empty, "." or ".." components: ${expected}`;
  const pathPart = name.includes('/') && /[.:]|^localhost\//.test(name.split('/')[0]) ? name.slice(name.indexOf('/') + 1) : name;
  if (/[A-Z]/.test(pathPart)) return `repository names are lower-case: ${expected}`;
  return `${expected} (lower-case path components of letters and digits joined by ".", "_", "__" or "-"; optional registry host[:port]/; optional :tag of at most 128 letters, digits, "_", "." or "-", not starting with "." or "-"; optional @sha256:<64 hex>)`;
}

// ---- process environment, image config -------------------------------------

export function envNameProblem(name: string): string | undefined {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return undefined;
  return controlProblem(name) ?? 'expected an environment variable name: letters, digits and "_", not starting with a digit';
}

/** config.user: "ava", "1000", "ava:staff" or "1000:1000". */
export function configUserProblem(u: string): string | undefined {
  const part = '[A-Za-z0-9_][A-Za-z0-9_.-]*\\$?';
  if (new RegExp(`^${part}(?::${part})?$`).test(u)) return undefined;
  return controlProblem(u) ?? 'expected a user, optionally with a group: "ava", "1000", "ava:staff" or "1000:1000"';
}

export function portProblem(p: string): string | undefined {
  const m = /^([0-9]{1,5})(?:\/(?:tcp|udp|sctp))?$/.exec(p);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) return undefined;
  return 'expected a port such as "8080" or "8080/tcp" (1 to 65535; tcp, udp or sctp)';
}

/** A published port, `-p HOST:CONTAINER` (optionally /tcp or /udp): both 1 to 65535; always bound to 127.0.0.1 on the host. */
export function publishProblem(p: string): string | undefined {
  const m = /^([0-9]{1,5}):([0-9]{1,5})(?:\/(?:tcp|udp))?$/.exec(p);
  if (m && [m[1], m[2]].every((n) => Number(n) >= 1 && Number(n) <= 65535)) return undefined;
  return controlProblem(p) ?? 'expected HOST:CONTAINER ports such as "8080:80" or "8053:53/udp" (1 to 65535)';
}

/** A probe: a shell command line run with the host's tools beside a service (`sh -c`, never a tool's option). */
export function probeCommandProblem(cmd: string): string | undefined {
  if (cmd.trim() === '') return 'is empty: expected a command line such as "wget -qO- http://127.0.0.1:80/"';
  if (cmd.length > 4096) return `is ${cmd.length} characters long (at most 4096)`;
  return /[\0\n\r]/.test(cmd) ? 'contains a NUL byte or a line break: expected one command line' : undefined;
}
