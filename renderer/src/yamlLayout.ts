// Editing a YAML file through the yaml library's Document API without letting
// its writer reformat the rest: the edit is made on the document, and only the
// lines where the writer's output before and after the edit differ replace
// lines of the file. `cmd: ["/init"]` stays as written; the writer would give
// `cmd: [ "/init" ]`.
import { parseDocument, type Document } from 'yaml';
import { commonLines } from './lineDiff';

/** A run of the writer's lines (b) and the file's lines (o) that say the same thing. */
interface Segment {
  b: [number, number];
  o: [number, number];
}

/**
 * How lines are compared, strictest first: equal, then equal but for spaces
 * (an item indented another way, `[ "/init" ]` for `["/init"]`).
 */
const KEYS = [(l: string) => l, (l: string) => l.replace(/\s+/g, '')];

/**
 * Line up the writer's text with the file's. Equal lines pair up; between two
 * pairs, lines equal but for spaces pair up next; what is left pairs one to
 * one when both sides have as many lines (a line written another way), and is
 * otherwise one block, kept or replaced whole (a long string folded).
 */
function align(b: string[], o: string[], bs: number, be: number, os: number, oe: number, level: number, out: Segment[]): boolean {
  const key = KEYS[level];
  const pairs = commonLines(b.slice(bs, be).map(key), o.slice(os, oe).map(key));
  if (!pairs) return false;
  let bi = bs;
  let oi = os;
  for (const [pb, po] of [...pairs.map(([x, y]): [number, number] => [x + bs, y + os]), [be, oe] as [number, number]]) {
    const nb = pb - bi;
    const no = po - oi;
    if (nb === no) for (let i = 0; i < nb; i++) out.push({ b: [bi + i, bi + i + 1], o: [oi + i, oi + i + 1] });
    else if (level + 1 >= KEYS.length || !nb || !no || !align(b, o, bi, pb, oi, po, level + 1, out)) out.push({ b: [bi, pb], o: [oi, po] });
    if (pb < be) out.push({ b: [pb, pb + 1], o: [po, po + 1] });
    bi = pb + 1;
    oi = po + 1;
  }
  return true;
}

function segments(b: string[], o: string[]): Segment[] | undefined {
  const out: Segment[] = [];
  return align(b, o, 0, b.length, 0, o.length, 0, out) ? out : undefined;
}

/** A line of the result: the file's own, or the writer's; `w` its indent as the writer wrote it, `d` what the file adds to that. */
interface Out {
  text: string;
  w?: number;
  d?: number;
}

const indent = (l: string) => (l.trim() ? l.length - l.trimStart().length : undefined);

/**
 * How far the file indents a line the writer indents `w` at position `i`
 * more than the writer does: as its nearest sibling does (the nearest line as
 * deep before it, else after it, not past its parent), else as its parent does.
 */
function shift(out: Out[], i: number, w: number): number {
  let parent: number | undefined;
  for (let j = i - 1; j >= 0; j--) {
    const x = out[j];
    if (x.w === undefined || x.d === undefined) continue;
    if (x.w === w) return x.d;
    if (x.w < w) {
      parent = x.d;
      break;
    }
  }
  for (let j = i + 1; j < out.length; j++) {
    const x = out[j];
    if (x.w === undefined || x.d === undefined) continue;
    if (x.w === w) return x.d;
    if (x.w < w) break;
  }
  return parent ?? 0;
}

/** The nearest line above line k that is less indented (comments and blank lines aside): its parent in the YAML. */
function parents(lines: string[]): Int32Array {
  const out = new Int32Array(lines.length).fill(-1);
  const stack: number[] = [];
  lines.forEach((l, k) => {
    const w = indent(l);
    if (w === undefined || l.trimStart().startsWith('#')) return;
    while (stack.length && indent(lines[stack[stack.length - 1]])! >= w) stack.pop();
    out[k] = stack.length ? stack[stack.length - 1] : -1;
    stack.push(k);
  });
  return out;
}

/**
 * The file `original` with the edit that turned the writer's `before` into
 * its `after`: segments the edit left alone keep the file's own lines, and the
 * writer's new lines are indented as the file indents their neighbours.
 */
export function keepLayout(original: string, before: string, after: string): string {
  if (before === after) return original;
  const crlf = original.includes('\r\n');
  const o = (crlf ? original.replace(/\r\n/g, '\n') : original).split('\n');
  const b = before.split('\n');
  const c = after.split('\n');
  const segs = segments(b, o);
  const kept = commonLines(b, c);
  if (!segs || !kept) return after;
  // Where each writer line went in the edited text (-1: the edit removed or changed it).
  const toC = new Int32Array(b.length).fill(-1);
  const fromB = new Int32Array(c.length).fill(-1);
  for (const [i, j] of kept) {
    toC[i] = j;
    fromB[j] = i;
  }
  // A kept line under another parent than before was moved (with its children):
  // it is written anew at its new place, in the file's words where it has them.
  const pb = parents(b);
  const pc = parents(c);
  const moved = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) {
    const j = toC[i];
    if (j === -1 || indent(b[i]) === undefined) continue;
    const p = pb[i];
    const q = pc[j];
    const same = p === -1 ? q === -1 : q !== -1 && (toC[p] === q ? !moved[p] : toC[p] === -1 && fromB[q] === -1);
    if (!same) moved[i] = 1;
  }
  const bToO = new Int32Array(b.length).fill(-1);
  for (const s of segs) if (s.b[1] - s.b[0] === 1 && s.o[1] - s.o[0] === 1) bToO[s.b[0]] = s.o[0];
  const carried = new Int32Array(c.length).fill(-1);
  moved.forEach((m, i) => {
    if (!m) return;
    if (bToO[i] !== -1) carried[toC[i]] = bToO[i];
    toC[i] = -1;
  });
  // A segment is untouched when all its lines survived in order with nothing inserted between them.
  const untouched = (s: Segment) => {
    for (let i = s.b[0]; i < s.b[1]; i++) if (toC[i] === -1 || (i > s.b[0] && toC[i] !== toC[i - 1] + 1)) return false;
    return true;
  };
  const clean = segs.map(untouched);
  const out: Out[] = [];
  const fresh = (from: number, to: number) => {
    for (let j = from; j < to; j++) out.push({ text: (carried[j] === -1 ? c[j] : o[carried[j]]).trimStart(), w: indent(c[j]) });
  };
  let ci = 0;
  segs.forEach((s, n) => {
    if (!clean[n]) return;
    if (s.b[1] === s.b[0]) {
      // Lines only the file has (say an extra blank line): kept unless next to an edit.
      if ((n === 0 || clean[n - 1]) && (n === segs.length - 1 || clean[n + 1])) out.push(...o.slice(s.o[0], s.o[1]).map((text) => ({ text })));
      return;
    }
    // The edited text up to this segment: what the edits since the last untouched segment wrote.
    fresh(ci, toC[s.b[0]]);
    const one = s.b[1] - s.b[0] === 1 && s.o[1] - s.o[0] === 1;
    const w = one ? indent(b[s.b[0]]) : undefined;
    const d = w === undefined ? undefined : (indent(o[s.o[0]]) ?? w) - w;
    out.push(...o.slice(s.o[0], s.o[1]).map((text) => ({ text, w, d })));
    ci = toC[s.b[1] - 1] + 1;
  });
  fresh(ci, c.length);
  // The new lines, indented as the file indents their neighbours.
  out.forEach((x, i) => {
    if (x.d !== undefined || x.w === undefined) return;
    x.d = shift(out, i, x.w);
    x.text = ' '.repeat(Math.max(0, x.w + x.d)) + x.text;
  });
  const text = out.map((x) => x.text).join('\n');
  return crlf ? text.replace(/\n/g, '\r\n') : text;
}

/**
 * Apply `change` to the parsed document and return the text with only the
 * lines it touched rewritten. A text that does not parse is returned as is
 * (`strict`: refused with a message instead).
 */
export function editYaml(text: string, change: (doc: Document) => void, strict = false): string {
  const doc = parseDocument(text);
  if (doc.errors.length) {
    if (strict) throw new Error('the YAML does not parse: fix it in the YAML tab first');
    return text;
  }
  const before = String(doc);
  change(doc);
  return keepLayout(text, before, String(doc));
}
