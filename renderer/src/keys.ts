// Keyboard patterns shared by the window's lists, tab bars and the tree
// (WAI-ARIA practices): one tab stop per group with arrows, Home and End
// inside it (roving focus), and type-ahead by a name's first letters.

export type Axis = 'horizontal' | 'vertical';

/** Where Arrow / Home / End move in a group of `count` items from `index` (wrapping at the ends), or undefined for any other key. */
export function rovingTarget(key: string, index: number, count: number, axis: Axis): number | undefined {
  if (count <= 0) return undefined;
  const [back, forth] = axis === 'horizontal' ? ['ArrowLeft', 'ArrowRight'] : ['ArrowUp', 'ArrowDown'];
  if (key === back) return (index - 1 + count) % count;
  if (key === forth) return (index + 1) % count;
  if (key === 'Home') return 0;
  if (key === 'End') return count - 1;
  return undefined;
}

/** Letters typed closer together than this make one prefix. */
const TYPE_AHEAD_MS = 700;

/**
 * Type-ahead over a list of names: each printable key adds to a prefix (reset after a
 * pause), and the answer is the first item at or after the current one (the next one
 * when the prefix is one letter, so repeating a letter cycles) whose name starts with
 * the prefix, case-insensitive, wrapping. undefined: not a type-ahead key, or no match.
 */
export function typeAhead(now: () => number = Date.now) {
  let prefix = '';
  let at = 0;
  return (key: string, current: number, count: number, nameAt: (i: number) => string): number | undefined => {
    if (key.length !== 1 || key === ' ' || count <= 0) return undefined;
    const t = now();
    prefix = t - at > TYPE_AHEAD_MS ? key.toLowerCase() : prefix + key.toLowerCase();
    at = t;
    const cycling = prefix.length === 1 || [...prefix].every((c) => c === prefix[0]);
    const wanted = cycling ? prefix[0] : prefix;
    const start = Math.max(0, current) + (cycling ? 1 : 0);
    for (let k = 0; k < count; k++) {
      const i = (start + k) % count;
      if (nameAt(i).toLowerCase().startsWith(wanted)) return i;
    }
    return undefined;
  };
}
