// The keyboard patterns of the window's lists, tab bars and tree.
import { describe, expect, it } from 'vitest';
import { rovingTarget, typeAhead } from '../../renderer/src/keys';

describe('rovingTarget', () => {
  it('moves along its axis, wraps at the ends, and jumps with Home and End', () => {
    expect(rovingTarget('ArrowRight', 2, 3, 'horizontal')).toBe(0);
    expect(rovingTarget('ArrowLeft', 0, 3, 'horizontal')).toBe(2);
    expect(rovingTarget('ArrowDown', 0, 3, 'horizontal')).toBeUndefined();
    expect(rovingTarget('ArrowDown', 1, 3, 'vertical')).toBe(2);
    expect(rovingTarget('End', 0, 5, 'vertical')).toBe(4);
    expect(rovingTarget('Home', 4, 5, 'vertical')).toBe(0);
    expect(rovingTarget('a', 0, 5, 'vertical')).toBeUndefined();
    expect(rovingTarget('Home', 0, 0, 'vertical')).toBeUndefined();
  });
});

describe('typeAhead', () => {
  const names = ['bin', 'boot', 'etc', 'init', 'Lib', 'lib64', 'usr'];
  const at = (i: number) => names[i];

  it('letters typed quickly make one prefix; a pause starts another', () => {
    let t = 0;
    const typed = typeAhead(() => t);
    expect(typed('l', 0, names.length, at)).toBe(4); // case-insensitive
    t += 100;
    expect(typed('i', 4, names.length, at)).toBe(4); // "li": the current row still matches
    t += 100;
    expect(typed('b', 4, names.length, at)).toBe(4);
    t += 100;
    expect(typed('6', 4, names.length, at)).toBe(5); // "lib6"
    t += 1000;
    expect(typed('u', 5, names.length, at)).toBe(6);
    t += 1000;
    expect(typed('z', 6, names.length, at)).toBeUndefined();
  });

  it('one letter again cycles through the names it starts, wrapping', () => {
    let t = 0;
    const typed = typeAhead(() => t);
    expect(typed('b', 6, names.length, at)).toBe(0);
    t += 100;
    expect(typed('b', 0, names.length, at)).toBe(1); // "bb": the next b
    t += 100;
    expect(typed('b', 1, names.length, at)).toBe(0); // wraps
  });

  it('ignores keys that are not characters, and the space', () => {
    const typed = typeAhead(() => 0);
    expect(typed('ArrowDown', 0, names.length, at)).toBeUndefined();
    expect(typed(' ', 0, names.length, at)).toBeUndefined();
  });
});
