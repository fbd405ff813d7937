// Names a person reads for layers (issue 15): the command that made an opened
// image's layer, as its config history records it, without the noise docker,
// buildah and BuildKit add around it. Pure.

/** The shells image builders wrap a RUN in: `/bin/sh -c`, `sh -c`, `/bin/bash -o pipefail -c`… */
const SHELL = /^(?:\/(?:usr\/)?bin\/)?(?:sh|bash|ash|dash)(?:\s+-[a-z]+(?:\s+pipefail)?)*\s+-c\s+/;
/** Build args a classic builder prefixes a RUN with: `|2 VERSION=1 ARCH=amd64 `. */
const ARGS_PREFIX = /^\|\d+\s+(?:[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|'[^']*'|\S*)\s+)*/;

/**
 * `/bin/sh -c #(nop) ADD file:0123…cdef in / ` → `ADD file:0123… in /`;
 * `/bin/sh -c apk add curl` → `RUN apk add curl`;
 * `RUN /bin/sh -c make # buildkit` → `RUN make`;
 * `|1 V=2 /bin/sh -c make` → `RUN make`. Whitespace runs become one space.
 */
export function cleanCommand(createdBy: string): string {
  let s = createdBy.replace(/\s+/g, ' ').trim();
  s = s.replace(/\s*# buildkit$/, '');
  s = s.replace(ARGS_PREFIX, '');
  let run = false;
  if (/^RUN\s/.test(s)) {
    s = s.slice(4).replace(ARGS_PREFIX, '');
    run = true;
  }
  const shell = SHELL.exec(s);
  if (shell) {
    s = s.slice(shell[0].length);
    run = true;
  }
  const nop = /^#\s*\(nop\)\s*/.exec(s);
  if (nop) return shortDigests(s.slice(nop[0].length)).trim();
  return run ? `RUN ${s}` : shortDigests(s);
}

/** `file:` and `dir:` sources of ADD/COPY name a 64-hex digest: 12 are enough to tell them apart. */
function shortDigests(s: string): string {
  return s.replace(/\b((?:file|dir|multi):)([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1$2…');
}

/** What a layer of ours does: its recipe name and its sources' kinds, `app: busybox, file ×2`; `bare` for a layer without sources (a base image's). */
export function recipeLayerLabel(name: string, kinds: readonly string[], bare = 'no sources'): string {
  const counts = new Map<string, number>();
  for (const k of kinds) counts.set(k, (counts.get(k) ?? 0) + 1);
  const list = [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(', ');
  return `${name}: ${list || bare}`;
}
