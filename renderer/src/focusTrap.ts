// A modal dialog keeps the keyboard: Tab from its last control comes back to its
// first, Shift+Tab from its first goes to its last, so focus never reaches the
// page behind the backdrop (aria-modal says it is not there).
import type { KeyboardEvent } from 'react';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"]), [contenteditable="true"]';

/** For a dialog's onKeyDown: wrap Tab and Shift+Tab around its own controls. */
export function keepTabInside(e: KeyboardEvent<HTMLElement>): void {
  if (e.key !== 'Tab') return;
  const items = [...e.currentTarget.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((x) => x.getClientRects().length > 0);
  if (items.length === 0) return;
  const first = items[0];
  const last = items[items.length - 1];
  const at = document.activeElement;
  if (e.shiftKey ? at === first || !e.currentTarget.contains(at) : at === last) {
    e.preventDefault();
    (e.shiftKey ? last : first).focus();
  }
}
