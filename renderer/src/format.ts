// Small pure formatters for the views.
const TYPE_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p' };

/** Mode as `ls -l` shows it: drwxr-xr-x, with s/t for setuid, setgid, sticky. */
export function lsMode(type: string, mode: number): string {
  const rwx = (bits: number, special: boolean, ch: string) =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return (
    (TYPE_CHAR[type] ?? '?') +
    rwx((mode >> 6) & 7, !!(mode & 0o4000), 's') +
    rwx((mode >> 3) & 7, !!(mode & 0o2000), 's') +
    rwx(mode & 7, !!(mode & 0o1000), 't')
  );
}

export { bytes, duration } from '../../shared/units';

/** `width` bytes a line (16 as hexdump -C; 8 where the pane is narrow, so the ASCII column is never cut off). */
export function hexDump(data: Uint8Array, max = 4096, width = 16): string {
  const lines: string[] = [];
  for (let off = 0; off < Math.min(data.length, max); off += width) {
    const chunk = data.subarray(off, off + width);
    const hex = [...chunk].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...chunk].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(width * 3 - 1)}  ${ascii}`);
  }
  return lines.join('\n');
}

export function looksText(data: Uint8Array): boolean {
  const n = Math.min(data.length, 4096);
  for (let i = 0; i < n; i++) if (data[i] === 0) return false;
  return true;
}
