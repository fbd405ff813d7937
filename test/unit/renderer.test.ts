// The renderer's pure helpers: ls -l modes, sizes, hex dumps, and editing the
// recipe as a YAML document.
import { describe, expect, it } from 'vitest';
import { bytes, hexDump, looksText, lsMode } from '../../renderer/src/format';
import { addSource, fieldName, layersOf, setField } from '../../renderer/src/recipeText';

describe('format', () => {
  it('shows modes as ls -l does, special bits included', () => {
    expect(lsMode('dir', 0o755)).toBe('drwxr-xr-x');
    expect(lsMode('dir', 0o1777)).toBe('drwxrwxrwt');
    expect(lsMode('file', 0o4755)).toBe('-rwsr-xr-x');
    expect(lsMode('file', 0o2644)).toBe('-rw-r-Sr--');
    expect(lsMode('symlink', 0o777)).toBe('lrwxrwxrwx');
  });

  it('sizes and dumps', () => {
    expect(bytes(512)).toBe('512 B');
    expect(bytes(3 * 1024 * 1024 + 1)).toBe('3.0 MiB');
    expect(hexDump(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]))).toBe('00000000  7f 45 4c 46' + ' '.repeat(36) + '  .ELF');
    // A narrow preview takes 8 bytes a line, so the ASCII column fits beside the hex.
    expect(hexDump(new TextEncoder().encode('0123456789'), 4096, 8).split('\n')).toEqual(['00000000  30 31 32 33 34 35 36 37  01234567', '00000008  38 39' + ' '.repeat(18) + '  89']);
    expect(looksText(new TextEncoder().encode('hello\n'))).toBe(true);
    expect(looksText(new Uint8Array([1, 0, 2]))).toBe(false);
  });
});

describe('recipe text', () => {
  const text = `# keep me
name: x
layers:
  - name: app # and me
    sources:
      - kind: dir
        path: /tmp
        mode: "1777"
`;

  it('sets a field and keeps comments and quoting elsewhere', () => {
    const out = setField(text, ['layers', 0, 'sources', 0, 'path'], '/var/tmp');
    expect(out).toContain('# keep me');
    expect(out).toContain('# and me');
    expect(out).toContain('path: /var/tmp');
    expect(out).toContain('mode: "1777"');
    expect(setField(out, ['layers', 0, 'sources', 0, 'mode'], '')).not.toContain('mode');
  });

  it('reads the layer stack and appends sources', () => {
    expect(layersOf(text)).toEqual([{ name: 'app', sources: [{ kind: 'dir', path: '/tmp', mode: '1777' }] }]);
    expect(layersOf('layers: [\n')).toBeUndefined();
    const more = addSource(text, 0, { kind: 'busybox' });
    expect(layersOf(more)![0].sources.map((s) => s.kind)).toEqual(['dir', 'busybox']);
    expect(fieldName(['layers', 1, 'sources', 2, 'mode'])).toBe('layers[1].sources[2].mode');
  });
});
