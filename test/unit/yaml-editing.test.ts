// The YAML tab and the forms edit scratchyard.yaml as a document but write
// back only the lines an edit touched (yamlLayout.ts); a field typed letter by
// letter is one undo step (history.ts); a syntax error is reported where the
// broken construct opens (engine/graph/yamlSyntax.ts).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isPair, isSeq, parse, parseDocument, visit, type Pair, type Scalar } from 'yaml';
import { REPO } from '../helpers/env';
import { parseRecipe, RecipeLoadError } from '../../electron/engine/graph/project';
import { canUndo, record, redo, seal, startHistory, undo } from '../../renderer/src/history';
import { commonLines } from '../../renderer/src/lineDiff';
import { addLayer, deleteSource, insertSource, moveLayer, moveSource, renameLayer } from '../../renderer/src/recipeEdits';
import { setField } from '../../renderer/src/recipeText';
import { editYaml, keepLayout } from '../../renderer/src/yamlLayout';

// Written the way people write YAML, not the way the yaml library does: every
// marked line would change if the library rewrote the file.
const text = `# hello, as I like it
name:   hello
config:
  entrypoint: ["/init"]          # the library writes [ "/init" ]
  env: {PATH: /bin}
layers:
- name: libs
  sources:
    - kind: libs
- name: app
  sources:
  - kind: host
    paths: [/bin/bash, /bin/ls]
  - kind: file
    path: '/init'
    mode: "0755"
    content: "a long line that the yaml library would fold at eighty columns when it writes the document back out"
`;

/** Lines of b that are not lines of a, and the other way round. */
function changed(a: string, b: string): { removed: string[]; added: string[] } {
  const al = a.split('\n');
  const bl = b.split('\n');
  const pairs = commonLines(al, bl)!;
  const ia = new Set(pairs.map((p) => p[0]));
  const ib = new Set(pairs.map((p) => p[1]));
  return { removed: al.filter((_, i) => !ia.has(i)), added: bl.filter((_, i) => !ib.has(i)) };
}

describe('edits keep the layout of the lines they do not touch', () => {
  it('the yaml library alone would rewrite most of this file', () => {
    expect(String(parseDocument(text))).not.toContain('entrypoint: ["/init"]');
    expect(changed(text, String(parseDocument(text))).removed.length).toBeGreaterThan(5);
  });

  it('a form edit of one field changes exactly that line: entrypoint: ["/init"] stays byte-identical', () => {
    const out = setField(text, ['layers', 1, 'sources', 1, 'mode'], '0700');
    expect(changed(text, out)).toEqual({ removed: ['    mode: "0755"'], added: ['    mode: "0700"'] });
    expect(out).toContain('  entrypoint: ["/init"]          # the library writes [ "/init" ]\n');
    expect(parse(out)).toEqual({ ...parse(text), layers: [parse(text).layers[0], { ...parse(text).layers[1], sources: [parse(text).layers[1].sources[0], { ...parse(text).layers[1].sources[1], mode: '0700' }] }] });
  });

  it('the field right under a line the library would rewrite changes alone', () => {
    const out = setField(text, ['config', 'env', 'PATH'], '/usr/bin');
    // The flow map is one line: that line, and no other, is written anew.
    expect(changed(text, out).removed).toEqual(['  env: {PATH: /bin}']);
    expect(out).toContain('  entrypoint: ["/init"]   ');
    const name = setField(text, ['name'], 'hi');
    expect(changed(text, name)).toEqual({ removed: ['name:   hello'], added: ['name: hi'] });
  });

  it('removing a field removes its line only', () => {
    const out = setField(text, ['layers', 1, 'sources', 1, 'mode'], '');
    expect(changed(text, out)).toEqual({ removed: ['    mode: "0755"'], added: [] });
  });

  it('structural edits (add, move, rename, delete) leave other lines as written and mean what the library means', () => {
    const edits: [string, (t: string) => string][] = [
      ['insertSource', (t) => insertSource(t, 0, { kind: 'busybox' })],
      ['moveLayer', (t) => moveLayer(t, 0, 1)],
      ['moveSource', (t) => moveSource(t, [1, 0], 0)],
      ['renameLayer', (t) => renameLayer(t, 0, 'lib')],
      ['deleteSource', (t) => deleteSource(t, 1, 0)],
      ['addLayer', (t) => addLayer(t).text],
    ];
    for (const [what, edit] of edits) {
      const out = edit(text);
      const doc = parseDocument(text);
      // What the library itself makes of the same edit: the meaning must match.
      expect(parse(out), what).toEqual(parse(edit(String(doc))));
      expect(out, what).toContain('  entrypoint: ["/init"]          #');
      expect(out, what).toContain('name:   hello\n');
      expect(out, what).toContain('content: "a long line that the yaml library would fold at eighty columns when it writes the document back out"');
    }
  });

  it('every scalar of the example recipe, set to a new value, changes its own line and means what the library means', () => {
    const example = readFileSync(path.join(REPO, 'assets/examples/hello/scratchyard.yaml'), 'utf8');
    for (const t of [example, text]) {
      const paths: (string | number)[][] = [];
      const spans: number[] = [];
      visit(parseDocument(t), {
        Scalar(key, _node, ancestors) {
          if (key !== 'value') return;
          // Lines the value spans (a block scalar: several), the key's line included.
          spans.push(t.slice(_node.range![0], _node.range![1]).trimEnd().split('\n').length);
          paths.push(ancestors.slice(1).flatMap((a, i): (string | number)[] => (isPair(a) ? [] : isSeq(a) ? [(a.items as unknown[]).indexOf(ancestors[i + 2] ?? _node)] : isMap(a) ? [String(((ancestors[i + 2] as Pair).key as Scalar).value)] : [])));
        },
      });
      expect(paths.length).toBeGreaterThanOrEqual(10);
      for (const [k, p] of paths.entries()) {
        const out = setField(t, p, 'changed');
        const doc = parseDocument(t);
        doc.setIn(p, 'changed');
        expect(parse(out), p.join('.')).toEqual(doc.toJS());
        const { removed, added } = changed(t, out);
        expect(removed.length, `${p.join('.')}: ${removed.join(' | ')}`).toBeLessThanOrEqual(spans[k] + 1);
        // One line, or a block scalar's header and its one line.
        expect(added.length, p.join('.')).toBe(spans[k] > 1 ? 2 : 1);
      }
    }
  });

  it('keeps CRLF line ends, and a text that does not parse is left alone', () => {
    const crlf = text.replace(/\n/g, '\r\n');
    const out = setField(crlf, ['name'], 'hi');
    expect(out).toBe(crlf.replace('name:   hello', 'name: hi'));
    expect(setField('name: [', ['name'], 'x')).toBe('name: [');
    expect(() => editYaml('name: [', () => undefined, true)).toThrow(/does not parse/);
  });

  it('keepLayout applies the writer\'s change beside lines only the file has', () => {
    const original = 'a: 1\n\n\nb:   2\nc: 3\n';
    expect(keepLayout(original, 'a: 1\n\nb: 2\nc: 3\n', 'a: 1\n\nb: 2\nc: 4\n')).toBe('a: 1\n\n\nb:   2\nc: 4\n');
    expect(keepLayout(original, 'x\n', 'x\n')).toBe(original);
  });
});

describe('undo steps', () => {
  it('a field typed letter by letter is one step; another field, or the same after it lost focus, is the next', () => {
    let h = startHistory('path: ');
    for (const t of ['path: /', 'path: /d', 'path: /da', 'path: /dat', 'path: /data']) h = record(h, t, 200, 'path');
    expect(h.past).toEqual(['path: ']);
    for (const t of ['path: /data\nmode: 0', 'path: /data\nmode: 07']) h = record(h, t, 200, 'mode');
    expect(h.past).toEqual(['path: ', 'path: /data']);
    h = seal(h);
    h = record(h, 'path: /data\nmode: 070', 200, 'mode');
    expect(h.past).toHaveLength(3);
    // Two fields typed: three steps back to the start, not one per keystroke.
    h = undo(undo(undo(h)));
    expect(h.present).toBe('path: ');
    expect(canUndo(h)).toBe(false);
    expect(redo(h).present).toBe('path: /data');
  });

  it('a grouped change after an undo is a new step, and typing a field back to where it was is no step', () => {
    let h = record(startHistory('a'), 'ab', 200, 'f');
    h = undo(h);
    h = record(h, 'ac', 200, 'f');
    expect(h.past).toEqual(['a']);
    expect(h.future).toEqual([]);
    h = record(h, 'a', 200, 'f');
    expect(h.past).toEqual([]);
    expect(h.present).toBe('a');
    // Ungrouped changes (a drag, a palette drop) stay one step each.
    h = record(record(h, 'b'), 'c');
    expect(h.past).toEqual(['a', 'b']);
  });
});

describe('YAML syntax errors are reported where they start', () => {
  const problemsOf = (t: string) => {
    try {
      parseRecipe(t, 'scratchyard.yaml');
    } catch (e) {
      if (e instanceof RecipeLoadError) return e.problems;
      throw e;
    }
    return [];
  };
  it('an unterminated quote at the line and column where it opens, not at the end of the file', () => {
    const t = 'name: x\nlayers:\n  - name: app\n    sources:\n      - kind: file\n        path: "/etc/hello\n        content: hi\n  - name: b\n    sources:\n      - kind: busybox\n';
    const [p] = problemsOf(t);
    expect(p).toMatchObject({ line: 6, column: 15 });
    expect(p.message).toMatch(/" quote opened here is never closed/);
    const single = problemsOf("name: 'x\nlayers: []\n");
    expect(single[0]).toMatchObject({ line: 1, column: 7 });
  });

  it('an unclosed [ or { where it opens', () => {
    expect(problemsOf('name: x\nconfig:\n  cmd: ["/init"\n  workdir: /\nlayers: []\n')[0]).toMatchObject({ line: 3, column: 8, message: expect.stringMatching(/\[ opened here/) });
    expect(problemsOf('name: x\nconfig: {workdir: /\nlayers: []\n')[0]).toMatchObject({ line: 2, column: 9 });
  });

  it('other syntax errors keep the parser\'s place', () => {
    expect(problemsOf('name: x\nlayers: a: b\n')[0]).toMatchObject({ line: 2 });
  });
});
