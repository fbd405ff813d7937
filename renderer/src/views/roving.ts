// Roving focus in the DOM: the keys of keys.ts applied to a container's items.
import { rovingTarget, type Axis } from '../keys';

/**
 * Roving focus inside a container: the key handler for the group's items
 * (`selector` picks them, in document order). The caller gives the items
 * tabIndex 0 for the current one and -1 for the rest.
 */
export function rovingKeyDown(selector: string, axis: Axis) {
  return (e: { key: string; currentTarget: Element; target: EventTarget; preventDefault(): void }): void => {
    const items = Array.from(e.currentTarget.querySelectorAll<HTMLElement>(selector)).filter((el) => !(el as HTMLButtonElement).disabled);
    const index = items.findIndex((el) => el === e.target || el.contains(e.target as Node));
    if (index === -1) return;
    const next = rovingTarget(e.key, index, items.length, axis);
    if (next === undefined) return;
    e.preventDefault();
    items[next].focus();
  };
}
