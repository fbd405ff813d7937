// The three runners on the same images: the same stdout and exit code from a
// chroot, a VM (qemu booting the image's initrd) and docker. VM boots are slow
// under TCG, so the few tests that boot one run concurrently.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, DOCKER, dockerWorks, lacks, sh, tempDir, which } from '../helpers/env';
import { asNormalUser, ensureNormalUser, NORMAL_USER, portableCli } from '../helpers/portable';
import { helloCopy, writeProject } from '../helpers/projects';

const work = tempDir();
const isRoot = process.getuid?.() === 0;
const userCli = isRoot ? portableCli().cli : CLI;
const cache = path.join(work, 'cache');
const tagBase = `scratchyard-test/runners-${process.pid}`;

/** The CLI without blocking the event loop, so VM boots overlap. */
function cliAsync(args: string[], env: NodeJS.ProcessEnv = process.env, prefix: string[] = [], cli = CLI, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [file, ...pre] = [...prefix, process.execPath];
    const child = spawn(file, [...pre, cli, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

interface Row {
  runner: string;
  code?: number;
  stdout?: string;
  stderr?: string;
  error?: string;
  skipped?: boolean;
  accel?: string;
  matches: boolean;
}

const EXIT3 = `name: exit3
tag: ${tagBase}-exit3:latest
config:
  entrypoint: ["/init"]
  env: { GREETING: hi }
  workdir: /srv
layers:
  - name: app
    sources:
      - kind: busybox
      - kind: dir
        path: /srv
      - kind: file
        path: /init
        mode: "0755"
        content: |
          #!/bin/sh
          echo "$GREETING from $(pwd)"
          echo "to stderr" >&2
          exit 3
`;

const HANG = `name: hang
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
          echo started
          sleep 100000
`;

afterAll(() => {
  if (dockerWorks()) for (const t of ['hello', 'exit3']) sh(DOCKER, ['rmi', '-f', `${tagBase}-${t}:latest`]);
});

/** The rows of runners that ran (podman is skipped where it is missing or cannot start containers). */
const ran = (rows: Row[]) => rows.filter((x) => !x.skipped);

/** podman's row: a match where it runs; otherwise skipped with the reason, never a silent pass. */
function expectPodmanRowHonest(row: Row): void {
  if (!row.skipped) return expect(row).toMatchObject({ runner: 'podman', matches: true });
  expect(row.error).toMatch(lacks('podman') ? /^podman not found \(apt-get install podman\)$/ : /^podman (cannot run containers here|does not work here): ./);
}

describe.skipIf(lacks('unshare', 'qemu-system-x86_64', '/bin/busybox') || !dockerWorks())('runners', () => {
  it.concurrent('hello: chroot, vm and docker print the same greeting with exit code 0', async () => {
    const project = helloCopy(path.join(work, 'hello'), `${tagBase}-hello:latest`);
    const r = await cliAsync(['run', project, '--runner', 'all', '--json', '--cache', cache]);
    expect(r.stderr).not.toMatch(/disagree/);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((x) => x.runner)).toEqual(['chroot', 'vm', 'docker', 'podman']);
    for (const row of ran(rows)) {
      expect(row, row.runner).toMatchObject({ code: 0, stdout: 'Hello, world!\n', matches: true });
    }
    expect(ran(rows).map((x) => x.runner)).toEqual(expect.arrayContaining(['chroot', 'vm', 'docker']));
    expectPodmanRowHonest(rows[3]);
    expect(rows[1].accel).toMatch(/^(kvm|tcg)$/);
    expect(r.code).toBe(0);
  });

  it.concurrent('an init that exits 3 gives 3 everywhere, with env and workdir applied and stderr kept apart', async () => {
    const project = writeProject(path.join(work, 'exit3'), EXIT3);
    const r = await cliAsync(['run', project, '--runner', 'all', '--json', '--cache', cache]);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(ran(rows).length).toBeGreaterThanOrEqual(3);
    for (const row of ran(rows)) {
      expect(row, row.runner).toMatchObject({ code: 3, stdout: 'hi from /srv\n', matches: true });
      expect(row.stderr, row.runner).toContain('to stderr');
    }
    // All agree on 3: the run exits 3, as one runner would.
    expect(r.code).toBe(3);
  });

  it.concurrent('a guest that never powers off is stopped at the --timeout, and the result says so', async () => {
    const project = writeProject(path.join(work, 'hang'), HANG);
    const r = await cliAsync(['run', project, '--runner', 'vm', '--timeout', '8', '--cache', cache]);
    expect(r.code).toBe(124);
    expect(r.stderr).toContain('scratchyard: the program was stopped at the 8 s timeout (exit code 124)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.concurrent('works as a normal user: the initrd is written and the VM boots without root', async () => {
    const dir = tempDir('sy-runners-user-');
    const project = helloCopy(path.join(dir, 'hello'), `${tagBase}-hello:latest`);
    let prefix: string[] = [];
    if (isRoot) {
      ensureNormalUser();
      expect(sh('chown', ['-R', NORMAL_USER, dir]).code).toBe(0);
      prefix = asNormalUser(dir);
    }
    // As that user, the CLI is a readable copy started outside the checkout (which may be mode 700).
    const r = await cliAsync(['run', project, '--runner', 'vm', '--cache', path.join(dir, 'cache')], process.env, prefix, userCli, dir);
    expect(r.stderr).not.toMatch(/EACCES|EPERM|Error/);
    expect(r.stdout).toBe('Hello, world!\n');
    expect(r.code).toBe(0);
  });

  it('without a kernel the VM runner says how to get one; doctor names the kernel and the KVM probe', async () => {
    const project = writeProject(path.join(work, 'nokernel'), EXIT3.replace('exit3', 'nokernel'));
    const r = await cliAsync(['run', project, '--runner', 'vm', '--kernel', '/nonexistent/vmlinuz', '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('scratchyard: no kernel for the VM runner (/nonexistent/vmlinuz is missing or not readable). Install one with: apt-get install linux-image-amd64');
    const d = JSON.parse((await cliAsync(['doctor', '--json'])).stdout);
    expect(d.kernel.path).toMatch(/^\/boot\/vmlinuz-/);
    // Whether KVM works differs from machine to machine, and so does qemu's wording when it does not:
    // the verdict is a boolean, and a KVM that cannot be used means TCG (the fallback test below runs a guest so).
    expect(d.kvm).toMatchObject({ present: expect.any(Boolean), usable: expect.any(Boolean), detail: expect.stringMatching(/\S/) });
    if (!d.kvm.usable) expect(d.kvm.detail).toMatch(/TCG/);
    expect((await cliAsync(['doctor'])).stdout).toMatch(/^kernel: found \(the VM runner boots \/boot\/vmlinuz-/m);
  });

  it.concurrent('a KVM probe that fails falls back to TCG: the guest still runs, and the run says it used TCG', async () => {
    const dir = tempDir('sy-runners-nokvm-');
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    // qemu that refuses KVM whatever this machine's KVM can do (absent, forbidden, or a failing probe guest).
    writeFileSync(
      path.join(bin, 'qemu-system-x86_64'),
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = kvm ] && { echo 'qemu-system-x86_64: failed to initialize kvm: simulated' >&2; exit 1; }; done\nexec ${which('qemu-system-x86_64')} "$@"\n`,
      { mode: 0o755 },
    );
    const project = helloCopy(path.join(dir, 'hello'), `${tagBase}-hello:latest`);
    const r = await cliAsync(['run', project, '--runner', 'vm', '--cache', path.join(dir, 'cache')], { ...process.env, PATH: `${bin}:${process.env.PATH}` });
    expect(r.stderr).toMatch(/^scratchyard: vm ran under tcg in /m);
    expect(r.stdout).toBe('Hello, world!\n');
    expect(r.code).toBe(0);
  });

  it('an unknown runner is a usage error naming the ones there are', async () => {
    const r = await cliAsync(['run', writeProject(path.join(work, 'usage'), EXIT3), '--runner', 'lxc', '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown runner "lxc" (available: chroot, vm, docker, podman, all)');
  });

  it('podman: runs the image by its ID where podman can, says why not where it cannot', async () => {
    const project = writeProject(path.join(work, 'podman'), EXIT3.replace('exit3', 'podman'));
    const r = await cliAsync(['run', project, '--runner', 'podman', '--cache', cache]);
    if (lacks('podman')) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('scratchyard: podman not found: it is needed for the podman runner. Install it with: apt-get install podman');
    } else if (r.code === 3) {
      expect(r.stdout).toBe('hi from /srv\n');
    } else {
      // podman's own error (here: runc may not set rlimits in this sandbox), on the terminal as podman printed it.
      expect(r.stderr).toMatch(/runc|crun|OCI|podman/i);
      expect(r.stdout).toBe('');
    }
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(lacks('podman'))("podman refusing a --workdir the image lacks is the run's result, not podman unable to run here", async () => {
    // docker and the chroot make a missing workdir; podman refuses the run before its runtime starts.
    const project = writeProject(path.join(work, 'podman-workdir'), EXIT3.replace('exit3', 'podmanworkdir'));
    const r = await cliAsync(['run', project, '--runner', 'all', '--json', '--workdir', '/no/such/folder', '--cache', cache]);
    const rows = JSON.parse(r.stdout) as Row[];
    const podman = rows.find((x) => x.runner === 'podman')!;
    expect(podman.skipped ?? false).toBe(false);
    expect(JSON.stringify(podman)).toContain('workdir \\"/no/such/folder\\" does not exist');
    expect(rows.find((x) => x.runner === 'docker')).toMatchObject({ code: 3, stdout: 'hi from /no/such/folder\n' });
  });

  it('docker with no engine to talk to: a clear message, not a stack trace', async () => {
    const project = writeProject(path.join(work, 'nodocker'), EXIT3.replace('exit3', 'nodocker'));
    const r = await cliAsync(['run', project, '--runner', 'docker', '--cache', cache], { ...process.env, DOCKER_HOST: `unix://${work}/no-such.sock` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/scratchyard: no docker engine answers/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
