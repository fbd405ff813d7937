// The pure parts of running everywhere: which answer is the majority, when the
// runners agree, the table, the wrapper's spec file and the newc headers.
import { describe, expect, it } from 'vitest';
import { allAgree, compareRows, formatRunTable } from '../../electron/engine/entry/compare';
import { newcHeader } from '../../electron/engine/export/cpio';
import { wrapperSpecText } from '../../electron/engine/export/vmwrapper';
import { guestMemoryMiB } from '../../electron/engine/run/vm';

describe('comparing runs', () => {
  it('marks the runner whose stdout differs and says they disagree', () => {
    const rows = compareRows([
      { runner: 'chroot', code: 0, stdout: 'a\n', ms: 30 },
      { runner: 'vm', code: 0, stdout: 'b\n', ms: 4500, accel: 'tcg' },
      { runner: 'docker', code: 0, stdout: 'a\n', ms: 500 },
    ]);
    expect(rows.map((r) => r.matches)).toEqual([true, false, true]);
    expect(allAgree(rows)).toBe(false);
    const table = formatRunTable(rows);
    expect(table.split('\n')[0]).toMatch(/^runner\s+exit\s+time\s+exit\+stdout\s+note$/);
    expect(table).toMatch(/^vm\s+0\s+4\.50 s\s+DIFFERS\s+accel tcg$/m);
    expect(table).toMatch(/^chroot\s+0\s+0\.03 s\s+matches$/m);
  });

  it('an exit code that differs is a disagreement too; a skipped runner is not', () => {
    expect(allAgree(compareRows([{ runner: 'chroot', code: 3, stdout: '' }, { runner: 'vm', code: 0, stdout: '' }]))).toBe(false);
    const rows = compareRows([{ runner: 'chroot', code: 3, stdout: 'x' }, { runner: 'docker', skipped: true, error: 'no engine' }]);
    expect(allAgree(rows)).toBe(true);
    expect(formatRunTable(rows)).toMatch(/^docker\s+-\s+-\s+skipped\s+no engine$/m);
  });

  it('a runner that failed (a VM timeout) is a disagreement', () => {
    const rows = compareRows([{ runner: 'chroot', code: 0, stdout: '' }, { runner: 'vm', error: 'the VM did not power off' }]);
    expect(rows[1].matches).toBe(false);
    expect(allAgree(rows)).toBe(false);
  });
});

describe('VM plumbing', () => {
  it('the spec quotes every word for sh, environment sorted, argv after it', () => {
    expect(wrapperSpecText({ mode: 'run', argv: ['/bin/echo', "it's"], env: { PATH: '/bin', A: 'x y' }, workdir: '/srv' })).toBe(
      "SY_MODE=run\nSY_WORKDIR='/srv'\nset -- 'A=x y' 'PATH=/bin' '/bin/echo' 'it'\\''s'\n",
    );
  });

  it('guest memory is at least 128 MiB and three times the unpacked initrd plus the kernel', () => {
    expect(guestMemoryMiB(1 << 20)).toBe(128);
    expect(guestMemoryMiB(200 << 20)).toBe(664);
  });

  it('a newc header is 110 ASCII bytes, the name NUL-terminated and padded to 4', () => {
    const h = newcHeader({ ino: 1, mode: 0o100755, uid: 1000, gid: 1000, nlink: 1, mtime: 0, size: 5 }, 'init');
    expect(h.length % 4).toBe(0);
    expect(h.subarray(0, 110).toString()).toBe('070701' + ['1', '81ed', '3e8', '3e8', '1', '0', '5', '0', '0', '0', '0', '5', '0'].map((x) => x.padStart(8, '0')).join(''));
    expect(h.subarray(110, 115).toString()).toBe('init\0');
  });
});
