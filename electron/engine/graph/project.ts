// Reading a project folder's scratchyard.yaml into a validated recipe. Every
// error names the file, line and column, and the field.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { recipeSchema, type Recipe } from '../../../shared/recipe';

export const RECIPE_FILE = 'scratchyard.yaml';

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
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new RecipeLoadError([{ file, line: 0, column: 0, field: '', message: `no ${RECIPE_FILE} here` }]);
  }
  return { dir: path.dirname(file), file, recipe: parseRecipe(text, file), text };
}

export function parseRecipe(text: string, file = RECIPE_FILE): Recipe {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    throw new RecipeLoadError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, field: '', message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const parsed = recipeSchema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  throw new RecipeLoadError(parsed.error.issues.map((i) => locate(doc, lc, file, i)));
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
  if (issue.code === 'invalid_union' && 'discriminator' in issue) message = `unknown kind; expected one of ${kindList()}`;
  if (issue.code === 'unrecognized_keys') message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return { file, line: pos.line, column: pos.col, field: fieldName(keys), message };
}

function kindList(): string {
  return 'busybox, host, libs, file, symlink, dir, copy, users, remove, tarball, debian, run';
}

/** ["layers", 1, "sources", 2, "mode"] -> "layers[1].sources[2].mode" */
export function fieldName(keys: (string | number)[]): string {
  return keys.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');
}
