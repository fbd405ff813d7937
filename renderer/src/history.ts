// Undo and redo as three values: what came before, what is now, what was
// undone. Pure, so the store only swaps one History for the next.
export interface History {
  past: string[];
  present: string;
  future: string[];
  /**
   * The field whose edit made `present`, while that edit goes on: the next
   * change of the same field replaces `present` instead of adding a step, so
   * a field typed letter by letter is one step.
   */
  group?: string;
}

/** Steps kept: a long session of edits stays a few hundred kB. */
export const LIMIT = 200;

export function startHistory(text: string): History {
  return { past: [], present: text, future: [] };
}

/**
 * A new state; what was undone can no longer be redone. An unchanged text is
 * no step; a change in the same `group` as the present one extends that step.
 */
export function record(h: History, text: string, limit = LIMIT, group?: string): History {
  if (text === h.present) return h;
  if (group !== undefined && group === h.group && !h.future.length) {
    // Typed back to where the step began: the step undoes itself.
    if (h.past.length && h.past[h.past.length - 1] === text) return { past: h.past.slice(0, -1), present: text, future: [] };
    return { ...h, present: text };
  }
  return { past: [...h.past, h.present].slice(-limit), present: text, future: [], group };
}

/** The field edit under way is over (its field lost focus): the next change is a step of its own. */
export function seal(h: History): History {
  return h.group === undefined ? h : { ...h, group: undefined };
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
