// Reading a project folder's scratchyard.yaml into a validated recipe. Every
// error names the file, line and column, and the field.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { recipeSchema, type Recipe } from '../../../shared/recipe';
import { syntaxErrorStart } from './yamlSyntax';

export const RECIPE_FILE = 'scratchyard.yaml';
/** A recipe is a page or two of YAML: past this it is refused before it is read. */
export const MAX_RECIPE_BYTES = 1 << 20;
/** Alias expansions allowed in one recipe: a "billion laughs" document stops here. */
export const MAX_ALIAS_COUNT = 100;

export interface RecipeProblem {
  file: string;
  line: number;
  column: number;
  /** "layers[1].sources[2].mode" */
  field: string;
  message: string;
}

export class RecipeLoadError extends Error {
  constructor(readonly problems: RecipeProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export function formatProblem(p: RecipeProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

export interface Project {
  dir: string;
  file: string;
  recipe: Recipe;
  text: string;
}

/** `target` is a project folder or its scratchyard.yaml. */
export async function loadProject(target: string): Promise<Project> {
  const abs = path.resolve(target);
  const st = await fs.stat(abs).catch(() => undefined);
  if (!st) throw new RecipeLoadError([{ file: abs, line: 0, column: 0, field: '', message: 'no such project folder or file' }]);
  const file = st.isDirectory() ? path.join(abs, RECIPE_FILE) : abs;
  const text = await readRecipeText(file);
  return { dir: path.dirname(file), file, recipe: parseRecipe(text, file), text };
}

/** The file's text, refused before reading when it is too big, not a regular file or not UTF-8. */
async function readRecipeText(file: string): Promise<string> {
  const refuse = (message: string) => new RecipeLoadError([{ file, line: 0, column: 0, field: '', message }]);
  let handle: fs.FileHandle;
  try {
    // Non-blocking: a FIFO in the recipe's place must not hang the open (fstat refuses it next).
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    throw refuse(`no ${RECIPE_FILE} here`);
  }
  try {
    // fstat of the open file: what is measured is what is read.
    const st = await handle.stat();
    if (!st.isFile()) throw refuse('not a regular file');
    if (st.size > MAX_RECIPE_BYTES) throw refuse(tooBig(st.size));
    // Read one byte past the cap: a file that grew since fstat is caught too.
    const buf = Buffer.alloc(MAX_RECIPE_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = await handle.read(buf, n, buf.length - n, n)).bytesRead > 0; ) n += r.bytesRead;
    if (n > MAX_RECIPE_BYTES) throw refuse(tooBig(n));
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n));
    } catch {
      throw refuse('not UTF-8 text');
    }
  } finally {
    await handle.close();
  }
}

function tooBig(bytes: number): string {
  const mib = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `the recipe is ${bytes} bytes (${mib(bytes)}); a recipe may be at most ${MAX_RECIPE_BYTES} bytes (${mib(MAX_RECIPE_BYTES)})`;
}

export function parseRecipe(text: string, file = RECIPE_FILE): Recipe {
  // Text that did not come through loadProject (the app's editor) has the same cap.
  if (text.length > MAX_RECIPE_BYTES || Buffer.byteLength(text) > MAX_RECIPE_BYTES) throw new RecipeLoadError([{ file, line: 0, column: 0, field: '', message: tooBig(Buffer.byteLength(text)) }]);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    // The first syntax error only: the parser's later ones (often dozens, from one unclosed bracket) follow from it.
    const starts = doc.errors.map((e) => syntaxErrorStart(text, e)).sort((a, b) => a.offset - b.offset);
    const pos = lc.linePos(starts[0].offset);
    const more = starts.length > 1 ? ` (${starts.length - 1} more error${starts.length > 2 ? 's' : ''} after it may follow from this one)` : '';
    throw new RecipeLoadError([{ file, line: pos.line, column: pos.col, field: '', message: `YAML: ${yamlMessage(starts[0].message)}${more}` }]);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // yaml throws a ReferenceError when aliases expand past the count.
    const pos = firstAlias(doc, lc);
    throw new RecipeLoadError([{ file, line: pos.line, column: pos.col, field: '', message: /alias/i.test((e as Error).message) ? `YAML: aliases expand past ${MAX_ALIAS_COUNT} nodes (a "billion laughs" document?): write the values out` : `YAML: ${yamlMessage((e as Error).message)}` }]);
  }
  const parsed = recipeSchema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  throw new RecipeLoadError(parsed.error.issues.map((i) => locate(doc, lc, file, i)));
}

/** The parser's message, but for its stack running out (it recurses per level), which says nothing of the document. */
function yamlMessage(message: string): string {
  return /maximum call stack/i.test(message) ? 'nested too deeply to read (a recipe needs a few levels, not thousands)' : message;
}

function firstAlias(doc: Document, lc: LineCounter): { line: number; col: number } {
  let at: { line: number; col: number } = { line: 1, col: 1 };
  visit(doc, {
    Alias(_key, node) {
      if (node.range) at = lc.linePos(node.range[0]);
      return visit.BREAK;
    },
  });
  return at;
}

function locate(doc: Document, lc: LineCounter, file: string, issue: z.core.$ZodIssue): RecipeProblem {
  const keys = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
  // The deepest node that exists: a missing key is reported where its parent is.
  let pos = { line: 1, col: 1 };
  for (let n = keys.length; n >= 0; n--) {
    const at = n === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true);
    if (isNode(at) && at.range) {
      pos = lc.linePos(at.range[0]);
      break;
    }
  }
  let message = issue.message;
  if (issue.code === 'invalid_key') {
    // A bad key of a record: say what the key's own check said, where the key is written.
    message = `key ${JSON.stringify(keys[keys.length - 1])}: ${issue.issues[0]?.message ?? message}`;
    const map = doc.getIn(keys.slice(0, -1), true);
    const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && p.key.value === keys[keys.length - 1]) : undefined;
    if (isNode(pair?.key) && pair.key.range) pos = lc.linePos(pair.key.range[0]);
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue) message = `unknown kind; expected one of ${kindList()}`;
  if (issue.code === 'unrecognized_keys') message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return { file, line: pos.line, column: pos.col, field: fieldName(keys), message };
}

function kindList(): string {
  return 'image, busybox, host, libs, file, symlink, dir, copy, users, remove, tarball, debian, run';
}

/** Where "layers[1].sources[2].src" is written in a recipe's text (its deepest part there), or undefined. */
export function fieldPosition(text: string, field: string): { line: number; col: number } | undefined {
  const keys: (string | number)[] = [];
  for (const m of field.matchAll(/([A-Za-z_][\w-]*)|\[(\d+)\]/g)) keys.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  if (!keys.length || text.length > MAX_RECIPE_BYTES) return undefined;
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) return undefined;
  for (let n = keys.length; n > 0; n--) {
    const at = doc.getIn(keys.slice(0, n), true);
    if (isNode(at) && at.range) return lc.linePos(at.range[0]);
  }
  return undefined;
}

/** ["layers", 1, "sources", 2, "mode"] -> "layers[1].sources[2].mode" */
export function fieldName(keys: (string | number)[]): string {
  // A key with a control character or a quote (a label's, say) is written as a JSON string: a raw newline would break the message's line.
  return keys.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : /[\x00-\x1f\x7f"\\]/.test(k) ? `${s}[${JSON.stringify(k)}]` : s ? `${s}.${k}` : k), '');
}
