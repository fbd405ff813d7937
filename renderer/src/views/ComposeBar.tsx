// Undo, Redo, Save (which rebuilds) and the unsaved-changes mark, with
// Ctrl+Z / Ctrl+Shift+Z (and Ctrl+Y) when focus is not in a text field,
// where the field's own undo applies.
import { useEffect } from 'react';
import { canRedo, canUndo, useCompose } from '../compose';
import { engineBlocked, useStore } from '../store';

/** When Save can act (the header's and the YAML tab's alike): there are changes, they are a valid recipe, no build runs, the engine answers. */
export function useSaveState(): { dirty: boolean; disabled: boolean; title: string } {
  const { project, yaml, problems, building } = useStore();
  const blocked = useStore(engineBlocked);
  const dirty = !!project && yaml !== project.text;
  const why = blocked ?? (building ? 'A build is running' : !dirty ? 'No unsaved changes' : problems.length ? 'Fix the problems first' : undefined);
  return { dirty, disabled: why !== undefined, title: why ?? 'Save scratchyard.yaml and rebuild what changed (Ctrl+S)' };
}

export function ComposeBar() {
  const { project } = useStore();
  const { history, undo, redo, save, notice, setNotice } = useCompose();
  const { dirty, disabled, title } = useSaveState();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      if (e.key.toLowerCase() === 's') {
        e.preventDefault();
        void useCompose.getState().save();
        return;
      }
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && (t as HTMLInputElement).type !== 'checkbox') || t.isContentEditable)) return;
      const k = e.key.toLowerCase();
      if (k === 'z' && !e.shiftKey) useCompose.getState().undo();
      else if ((k === 'z' && e.shiftKey) || k === 'y') useCompose.getState().redo();
      else return;
      e.preventDefault();
    };
    // Files dropped beside a target must not make the browser open them in place of the app.
    const keepPage = (e: DragEvent) => {
      if (e.dataTransfer?.types.includes('Files') && !e.defaultPrevented) {
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = 'none';
      }
    };
    window.addEventListener('keydown', onKey);
    window.addEventListener('dragover', keepPage);
    window.addEventListener('drop', keepPage);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('dragover', keepPage);
      window.removeEventListener('drop', keepPage);
    };
  }, []);
  // Unsaved edits are not lost to a reload or a closed window without a question (the browser's, or Electron's in main.ts).
  useEffect(() => {
    if (!dirty) return;
    const ask = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', ask);
    return () => window.removeEventListener('beforeunload', ask);
  }, [dirty]);
  if (!project) return null;
  return (
    <div className="compose-bar">
      <button onClick={undo} disabled={!canUndo(history)} aria-keyshortcuts="Control+Z" title="Undo (Ctrl+Z)">
        Undo
      </button>
      <button onClick={redo} disabled={!canRedo(history)} aria-keyshortcuts="Control+Shift+Z" title="Redo (Ctrl+Shift+Z)">
        Redo
      </button>
      <button onClick={() => void save()} disabled={disabled} aria-keyshortcuts="Control+S" title={title}>
        Save
      </button>
      {dirty && (
        <span className="unsaved" role="status" aria-label="Unsaved changes" title="Unsaved changes">
          ● unsaved
        </span>
      )}
      {notice && (
        <span className="notice" role="status">
          {notice} <button onClick={() => setNotice(undefined)}>OK</button>
        </span>
      )}
    </div>
  );
}
