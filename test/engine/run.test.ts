// `scratchyard run --runner chroot`: the program's stdout and exit code, and
// nothing of Scratchyard's own on stdout.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HELLO, cli, lacks, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = tempDir();
const cache = path.join(work, 'cache');

const exitsWith = (code: number) => `name: exits
config:
  entrypoint: ["/init"]
layers:
  - name: app
    sources:
      - kind: busybox
      - kind: file
        path: /init
        mode: "0755"
        content: |
          #!/bin/sh
          echo "to stdout"
          echo "to stderr" >&2
          exit ${code}
`;

describe.skipIf(lacks('unshare', '/bin/busybox'))('chroot runner', () => {
  it('runs the bundled example: stdout is the greeting and nothing else', () => {
    const r = cli(['run', HELLO, '--runner', 'chroot', '--cache', cache]);
    expect(r.stderr).not.toMatch(/Error|failed/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Hello, world!\n');
  });

  it('exits with the program exit code, stderr kept apart', () => {
    const p = writeProject(path.join(work, 'exit3'), exitsWith(3));
    const r = cli(['run', p, '--cache', cache]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('to stdout\n');
    expect(r.stderr).toContain('to stderr');
  });

  it('runs the command after -- with the entrypoint cleared by the recipe', () => {
    const p = writeProject(
      path.join(work, 'cmd'),
      `name: cmd
config:
  cmd: ["/bin/sh", "-c", "echo default"]
  env: { GREETING: hi }
  workdir: /srv
layers:
  - name: app
    sources:
      - kind: busybox
      - kind: dir
        path: /srv
`,
    );
    expect(cli(['run', p, '--cache', cache]).stdout).toBe('default\n');
    const r = cli(['run', p, '--cache', cache, '--', '/bin/sh', '-c', 'echo $GREETING from $(pwd); ls /proc/self/ >/dev/null && echo proc; echo x > /dev/null && echo dev; exit 5']);
    expect(r.stdout).toBe('hi from /srv\nproc\ndev\n');
    expect(r.code).toBe(5);
  });

  it('the program runs as root of its own user namespace, with PID 1 its own', () => {
    const p = writeProject(path.join(work, 'ns'), 'name: ns\nconfig:\n  cmd: [/bin/sh]\nlayers:\n  - name: app\n    sources:\n      - kind: busybox\n');
    const r = cli(['run', p, '--cache', cache, '--', '/bin/sh', '-c', 'id -u; echo $$; ls /']);
    expect(r.code).toBe(0);
    const [uid, pid] = r.stdout.split('\n');
    expect(uid).toBe('0');
    expect(Number(pid)).toBeLessThan(10);
  });

  it('an image without entrypoint or cmd is a usage error', () => {
    const p = writeProject(path.join(work, 'nocmd'), 'name: nocmd\nlayers:\n  - name: app\n    sources:\n      - kind: busybox\n');
    const r = cli(['run', p, '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no entrypoint or cmd/);
  });
});
