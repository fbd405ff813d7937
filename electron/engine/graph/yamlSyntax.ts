// Where a YAML syntax error starts. The yaml library notices an unclosed quote
// or bracket where it runs out of text (often the end of the file); a person
// needs the place it was opened, so that is what the problem names.
import { Parser, type YAMLError } from 'yaml';

interface Token {
  type?: string;
  offset?: number;
  source?: string;
  start?: unknown;
  end?: unknown;
}

/** Every CST token of the text, depth first, in source order. */
function tokens(text: string): Token[] {
  const out: Token[] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(walk);
    const t = v as Token & Record<string, unknown>;
    if (typeof t.type === 'string' && typeof t.offset === 'number') out.push(t);
    for (const [k, child] of Object.entries(t)) if (k !== 'source') walk(child);
  };
  for (const t of new Parser().parse(text)) walk(t);
  return out;
}

const closes = (t: Token) => Array.isArray(t.end) && (t.end as Token[]).some((e) => e.type === 'flow-seq-end' || e.type === 'flow-map-end');

/**
 * The offset where the construct behind `error` was opened: the quote of an
 * unterminated quoted scalar, the bracket of an unclosed flow collection.
 * Other errors keep the offset the parser gave.
 */
export function syntaxErrorStart(text: string, error: YAMLError): { offset: number; message: string } {
  const at = error.pos[0];
  const first = error.message.split('\n')[0];
  if (error.code === 'MISSING_CHAR' && /quote/.test(first)) {
    const open = tokens(text).find((t) => (t.type === 'double-quoted-scalar' || t.type === 'single-quoted-scalar') && t.offset! < at && at <= t.offset! + (t.source?.length ?? 0));
    if (open) return { offset: open.offset!, message: `the ${open.type === 'double-quoted-scalar' ? '"' : "'"} quote opened here is never closed` };
  }
  if (/end with an? [\]}]/.test(first)) {
    const open = tokens(text).filter((t) => t.type === 'flow-collection' && t.offset! < at && !closes(t)).pop();
    if (open) return { offset: open.offset!, message: `the ${first.includes(']') ? '[' : '{'} opened here is never closed` };
  }
  // The library's advice is for its callers; a recipe is one document.
  if (error.code === 'MULTIPLE_DOCS') return { offset: at, message: 'a recipe is one YAML document: this "---" starts a second one' };
  return { offset: at, message: first.replace(/ at line \d+, column \d+:?$/, '') };
}
