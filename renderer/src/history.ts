// Undo and redo as three values: what came before, what is now, what was
// undone. Pure, so the store only swaps one History for the next.
export interface History {
  past: string[];
  present: string;
  future: string[];
}

/** Steps kept: a long session of edits stays a few hundred kB. */
export const LIMIT = 200;

export function startHistory(text: string): History {
  return { past: [], present: text, future: [] };
}

/** A new state; what was undone can no longer be redone. An unchanged text is no step. */
export function record(h: History, text: string, limit = LIMIT): History {
  if (text === h.present) return h;
  return { past: [...h.past, h.present].slice(-limit), present: text, future: [] };
}

export function undo(h: History): History {
  if (!h.past.length) return h;
  return { past: h.past.slice(0, -1), present: h.past[h.past.length - 1], future: [h.present, ...h.future] };
}

export function redo(h: History): History {
  if (!h.future.length) return h;
  return { past: [...h.past, h.present], present: h.future[0], future: h.future.slice(1) };
}

export const canUndo = (h: History) => h.past.length > 0;
export const canRedo = (h: History) => h.future.length > 0;
