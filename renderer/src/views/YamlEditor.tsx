// scratchyard.yaml in CodeMirror 6: YAML highlighting, line numbers, and the
// recipe's problems (from the engine's validation) marked in the lint gutter
// at their line and column. The text lives in the store: every change goes
// out through onChange (with a group, so a line typed is one undo step), and
// a text changed elsewhere (a form, undo) comes in as the smallest edit, so
// the cursor stays where it was. Undo and redo are the app's, not the
// editor's own: one history for forms, stack and YAML alike.
import { useEffect, useImperativeHandle, useRef, type Ref } from 'react';
import { indentWithTab, defaultKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { HighlightStyle, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { Annotation, EditorState, type Text, type Transaction } from '@codemirror/state';
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';
import type { Problem } from '../../../shared/contract';

export interface YamlEditorHandle {
  /** Put the cursor at a 1-based line and column, show it and focus the editor. */
  jumpTo(line: number, column: number): void;
}

interface Props {
  value: string;
  problems: Problem[];
  label: string;
  /** `group`: changes with the same group in a row are one undo step. */
  onChange(text: string, group?: string): void;
  onBlur(): void;
  onUndo(): void;
  onRedo(): void;
  ref?: Ref<YamlEditorHandle>;
}

/** Marks a transaction that brings the store's text in: it is not a change to send back. */
const fromStore = Annotation.define<boolean>();

/** The offset of a 1-based line and column, clamped into the text (a problem may describe an older text). */
export function offsetOf(doc: Text, line: number, column: number): number {
  const l = doc.line(Math.min(Math.max(1, line), doc.lines));
  return l.from + Math.min(Math.max(0, column - 1), l.length);
}

/** The engine's problems as editor diagnostics: from their column to the end of the line. */
export function diagnosticsOf(doc: Text, problems: Problem[]): Diagnostic[] {
  return problems.map((p) => {
    const from = offsetOf(doc, p.line, p.column);
    return { from, to: doc.lineAt(from).to, severity: 'error', source: p.field || 'recipe', message: p.message };
  });
}

/** Typing and deleting on one line are one step each; anything else (Enter, paste, a moved line) is its own. */
function groupOf(tr: Transaction): string | undefined {
  const kind = tr.isUserEvent('input.type') ? 'type' : tr.isUserEvent('delete') ? 'delete' : undefined;
  return kind && `yaml:${kind}:${tr.state.doc.lineAt(tr.state.selection.main.head).number}`;
}

const highlight = HighlightStyle.define([
  { tag: t.definition(t.propertyName), color: '#8fc1ff' },
  { tag: [t.string, t.special(t.string)], color: '#b5d68a' },
  { tag: t.content, color: '#e3e6eb' },
  { tag: t.lineComment, color: '#8b929c', fontStyle: 'italic' },
  { tag: [t.keyword, t.meta, t.typeName, t.labelName], color: '#d49cff' },
  { tag: [t.separator, t.punctuation, t.squareBracket, t.brace], color: '#8b929c' },
]);

const theme = EditorView.theme(
  {
    '&': { height: '100%', backgroundColor: '#15171b', color: 'var(--text)', border: '1px solid var(--line)', borderRadius: '4px' },
    '&.cm-focused': { outline: '2px solid var(--accent)', outlineOffset: '1px' },
    '.cm-scroller': { fontFamily: 'ui-monospace, monospace', fontSize: '12.5px', lineHeight: '1.5' },
    '.cm-gutters': { backgroundColor: '#1b1d22', color: 'var(--muted)', borderRight: '1px solid var(--line)' },
    '.cm-activeLine, .cm-activeLineGutter': { backgroundColor: '#ffffff0a' },
    '.cm-cursor': { borderLeftColor: 'var(--text)' },
    '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: '#5aa9ff40' },
    '.cm-tooltip': { backgroundColor: 'var(--panel)', border: '1px solid var(--line)' },
  },
  { dark: true },
);

export function YamlEditor({ value, problems, label, onChange, onBlur, onUndo, onRedo, ref }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView>(undefined);
  // The view is made once; it calls whatever the latest props say.
  const props = useRef({ onChange, onBlur, onUndo, onRedo });
  props.current = { onChange, onBlur, onUndo, onRedo };

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          lintGutter(),
          highlightActiveLineGutter(),
          highlightActiveLine(),
          drawSelection(),
          yaml(),
          indentUnit.of('  '),
          EditorState.tabSize.of(2),
          syntaxHighlighting(highlight),
          theme,
          // Tab indents; Escape then Tab leaves the editor (CodeMirror's tab focus mode), so it is no trap.
          keymap.of([
            { key: 'Mod-z', run: () => (props.current.onUndo(), true), preventDefault: true },
            { key: 'Mod-Shift-z', run: () => (props.current.onRedo(), true), preventDefault: true },
            { key: 'Mod-y', run: () => (props.current.onRedo(), true), preventDefault: true },
            indentWithTab,
            ...defaultKeymap,
          ]),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.updateListener.of((u) => {
            if (!u.docChanged || u.transactions.some((tr) => tr.annotation(fromStore))) return;
            const last = u.transactions[u.transactions.length - 1];
            props.current.onChange(u.state.doc.toString(), u.transactions.length === 1 ? groupOf(last) : undefined);
          }),
          EditorView.domEventHandlers({ blur: () => props.current.onBlur() }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = undefined;
    };
    // Made once; value and problems come in through the effects below.
  }, []);

  // The store's text, when it differs: replace only the part that changed.
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const now = v.state.doc.toString();
    if (now === value) return;
    let from = 0;
    while (from < now.length && from < value.length && now[from] === value[from]) from++;
    let end = 0;
    while (end < now.length - from && end < value.length - from && now[now.length - 1 - end] === value[value.length - 1 - end]) end++;
    v.dispatch({ changes: { from, to: now.length - end, insert: value.slice(from, value.length - end) }, annotations: fromStore.of(true) });
  }, [value]);

  useEffect(() => {
    const v = view.current;
    if (v) v.dispatch(setDiagnostics(v.state, diagnosticsOf(v.state.doc, problems)));
  }, [problems, value]);

  useImperativeHandle(ref, () => ({
    jumpTo(line, column) {
      const v = view.current;
      if (!v) return;
      const at = offsetOf(v.state.doc, line, column);
      v.dispatch({ selection: { anchor: at }, effects: EditorView.scrollIntoView(at, { y: 'nearest' }) });
      v.focus();
    },
  }));

  return <div className="yaml-editor" ref={host} />;
}
