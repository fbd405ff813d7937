// Editing scratchyard.yaml as a document, not as a string: a form's change is
// a setIn on the parsed document, written back into only the lines it touched
// (yamlLayout.ts), so comments and layout elsewhere survive byte for byte and
// the YAML tab shows exactly what the forms did.
import { isMap, isSeq, parseDocument } from 'yaml';
import { editYaml } from './yamlLayout';

export type Key = string | number;

export interface SourceValues {
  kind: string;
  [field: string]: unknown;
}

export interface LayerValues {
  name: string;
  sources: SourceValues[];
}

/** The layers as the text says right now, or undefined when it does not parse as YAML. */
export function layersOf(text: string): LayerValues[] | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length) return undefined;
  const js = doc.toJS() as { layers?: unknown } | null;
  if (!js || !Array.isArray(js.layers)) return [];
  return js.layers
    .filter((l): l is Record<string, unknown> => !!l && typeof l === 'object')
    .map((l) => ({ name: String(l.name ?? ''), sources: Array.isArray(l.sources) ? (l.sources as SourceValues[]) : [] }));
}

/** Names of the build-only stages, as the text says now. */
export function stagesOf(text: string): string[] {
  const doc = parseDocument(text);
  if (doc.errors.length) return [];
  const js = doc.toJS() as { stages?: { name?: unknown }[] } | null;
  return Array.isArray(js?.stages) ? js!.stages.map((s) => String(s?.name ?? '')).filter(Boolean) : [];
}

/** Set (or, with undefined or '', remove) one field; the rest of the text is left as it was. */
export function setField(text: string, path: Key[], value: unknown): string {
  return editYaml(text, (doc) => {
    if (value === undefined || value === '') doc.deleteIn(path);
    else doc.setIn(path, value);
  });
}

/** Append a source of `kind` to a layer. */
export function addSource(text: string, layer: number, source: SourceValues): string {
  return editYaml(text, (doc) => {
    const sources = doc.getIn(['layers', layer, 'sources']);
    if (isSeq(sources)) sources.add(doc.createNode(source));
    else if (isMap(doc.getIn(['layers', layer]))) doc.setIn(['layers', layer, 'sources'], [source]);
  });
}

/** The problem, if any, reported for exactly this field path. */
export function fieldName(path: Key[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');
}
