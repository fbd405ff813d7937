// The image config is the runners' contract: the same user (numeric, or a
// name from the image's own passwd/group with its supplementary groups), env,
// workdir and exit code in the chroot (as root and as a normal user), docker
// and the VM; docker's run flags in every runner; --timeout stops a program.
// VM boots are slow under TCG: the few `--runner all` runs go concurrently.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, DOCKER, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { asNormalUser, ensureNormalUser, portableCli } from '../helpers/portable';
import { writeProject } from '../helpers/projects';
import { sessionBridge } from '../helpers/session';
import { requestSchema } from '../../shared/contract';

const work = tempDir('sy-contract-');
const isRoot = process.getuid?.() === 0;
const cache = path.join(work, 'cache');
const tagBase = `scratchyard-test/contract-${process.pid}`;

function cliAsync(args: string[], prefix: string[] = [], cli = CLI, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [file, ...pre] = [...prefix, process.execPath];
    const child = spawn(file, [...pre, cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

const SCRIPT = 'id; echo "HOME=$HOME GREETING=$GREETING"; pwd; exit 7';

/** An image whose entrypoint reports who and where it is; `user` is its config.user. */
function project(name: string, user: string): string {
  return writeProject(
    path.join(work, name),
    `name: ${name}
tag: ${tagBase}-${name}:latest
config:
  entrypoint: ["/bin/sh", "-c", ${JSON.stringify(SCRIPT)}]
  env: { GREETING: hi }
  workdir: /srv
  user: "${user}"
layers:
  - name: app
    sources:
      - kind: busybox
      - kind: dir
        path: /srv
      - kind: file
        path: /etc/passwd
        content: |
          root:x:0:0:root:/root:/bin/sh
          app:x:1001:1001:app:/home/app:/bin/sh
      - kind: file
        path: /etc/group
        content: |
          root:x:0:
          app:x:1001:
          extra:x:2002:app
`,
  );
}

const numeric = project('numeric', '65532:65532');
const named = project('named', 'app');
const EXPECT = {
  numeric: 'uid=65532 gid=65532 groups=65532\nHOME=/ GREETING=hi\n/srv\n',
  named: 'uid=1001(app) gid=1001(app) groups=1001(app),2002(extra)\nHOME=/home/app GREETING=hi\n/srv\n',
};

afterAll(() => {
  if (dockerWorks()) for (const t of ['numeric', 'named']) sh(DOCKER, ['rmi', '-f', `${tagBase}-${t}:latest`]);
});

interface Row {
  runner: string;
  code?: number;
  stdout?: string;
  skipped?: boolean;
  timedOut?: boolean;
  matches: boolean;
}

/** Rows of runners that ran (podman may be skipped on this machine). */
const ran = (stdout: string) => (JSON.parse(stdout) as Row[]).filter((r) => !r.skipped);

describe.skipIf(lacks('bwrap', 'setpriv', '/bin/busybox') || !dockerWorks())('the image config in every runner', () => {
  for (const [name, dir] of [['numeric', numeric], ['named', named]] as const) {
    it.concurrent(`${name} user: chroot and docker run the same process (id, env, workdir, exit code)`, async () => {
      for (const runner of ['chroot', 'docker']) {
        const r = await cliAsync(['run', dir, '--runner', runner, '--cache', cache]);
        expect(r.stdout, runner).toBe(EXPECT[name]);
        expect(r.code, runner).toBe(7);
      }
    });
  }

  it.concurrent('as a normal user the chroot switches to both users the same way (subordinate ids)', async () => {
    if (!isRoot) {
      for (const [name, dir] of [['numeric', numeric], ['named', named]] as const) {
        const r = await cliAsync(['run', dir, '--cache', path.join(work, 'user-cache')]);
        expect(r.stdout, name).toBe(EXPECT[name]);
      }
      return;
    }
    ensureNormalUser();
    const dir = tempDir('sy-contract-user-');
    const copy = portableCli();
    for (const [name, src] of [['numeric', numeric], ['named', named]] as const) {
      sh('cp', ['-r', src, path.join(dir, name)]);
    }
    expect(sh('chown', ['-R', 'scratchyard-ci', dir]).code).toBe(0);
    for (const name of ['numeric', 'named'] as const) {
      const r = await cliAsync(['run', path.join(dir, name), '--cache', path.join(dir, 'cache')], asNormalUser(dir), copy.cli, dir);
      expect(r.stderr).not.toMatch(/EACCES|EPERM|\n\s+at /);
      expect(r.stdout, name).toBe(EXPECT[name]);
      expect(r.code, name).toBe(7);
    }
  });

  it.concurrent('--entrypoint, -e, --user and --workdir replace the config in chroot and docker alike', async () => {
    const args = ['--entrypoint', '/bin/sh', '-e', 'GREETING=flag', '--env', 'EXTRA=x y', '--user', 'app:root', '--workdir', '/etc', '--', '-c', 'id; echo "$GREETING $EXTRA $HOME"; pwd'];
    const want = 'uid=1001(app) gid=0(root) groups=0(root)\nflag x y /home/app\n/etc\n';
    for (const runner of ['chroot', 'docker']) {
      const r = await cliAsync(['run', named, '--runner', runner, '--cache', cache, ...args]);
      expect(r.stdout, runner).toBe(want);
      expect(r.code, runner).toBe(0);
    }
  });

  it.concurrent('no network unless asked: loopback only by default, the host\'s with --network host; the VM says it cannot', async () => {
    const count = ['--entrypoint', '/bin/sh', '--', '-c', 'ip -o link | wc -l'];
    for (const runner of ['chroot', 'docker']) {
      const none = await cliAsync(['run', named, '--runner', runner, '--cache', cache, ...count]);
      expect(none.stdout.trim(), runner).toBe('1');
    }
    const host = await cliAsync(['run', named, '--network', 'host', '--cache', cache, ...count]);
    expect(Number(host.stdout.trim())).toBeGreaterThan(1);
    const vm = await cliAsync(['run', named, '--runner', 'vm', '--network', 'host', '--cache', cache]);
    expect(vm.code).toBe(1);
    expect(vm.stderr).toContain('--network host: the VM runner has no network to share');
  });

  it.concurrent('run --json for one runner gives the result as data', async () => {
    const r = await cliAsync(['run', numeric, '--json', '--cache', cache]);
    expect(r.code).toBe(7);
    expect(JSON.parse(r.stdout)).toMatchObject({ runner: 'chroot', code: 7, stdout: EXPECT.numeric, timedOut: false });
  });

  it.concurrent('a named user missing from the image is an error naming it', async () => {
    const r = await cliAsync(['run', numeric, '--user', 'nobody-here', '--cache', cache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--user "nobody-here": no user "nobody-here" in the image's /etc/passwd`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.concurrent('bad flag values are usage errors naming the flag', async () => {
    for (const [flag, value, says] of [
      ['--env', 'A B=1', '--env "A B=1"'],
      ['--user', 'a b', '--user "a b"'],
      ['--workdir', 'relative', '--workdir "relative"'],
      ['--network', 'bridge', '--network'],
      ['--timeout', '-1', '--timeout'],
      ['--entrypoint', 'a\nb', '--entrypoint'],
    ]) {
      const r = await cliAsync(['run', numeric, flag, value, '--cache', cache]);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr, flag).toContain(says);
    }
  });

  describe.skipIf(lacks('qemu-system-x86_64'))('--runner all (with the VM)', () => {
    it.concurrent('all agree on the named user and exit 7: the run exits 7, and the table says what it compared', async () => {
      const r = await cliAsync(['run', named, '--runner', 'all', '--json', '--cache', cache]);
      const rows = ran(r.stdout);
      expect(rows.map((x) => x.runner)).toEqual(expect.arrayContaining(['chroot', 'vm', 'docker']));
      for (const row of rows) expect(row, row.runner).toMatchObject({ code: 7, stdout: EXPECT.named, matches: true });
      expect(r.code).toBe(7);
      const table = await cliAsync(['run', named, '--runner', 'all', '--cache', cache, '--', '-c', 'exit 0']);
      expect(table.stdout).toContain('compared: exit code and stdout');
    }, 600_000);

    it.concurrent('--timeout 3 stops a sleep 600 in every runner, and the result says it timed out', async () => {
      const r = await cliAsync(['run', numeric, '--runner', 'all', '--json', '--timeout', '3', '--entrypoint', 'sleep', '--cache', cache, '--', '600']);
      const rows = ran(r.stdout);
      expect(rows.map((x) => x.runner)).toEqual(expect.arrayContaining(['chroot', 'vm', 'docker']));
      for (const row of rows) expect(row, row.runner).toMatchObject({ code: 124, timedOut: true });
    }, 600_000);

    it.concurrent('runners that differ make the run exit 1 and the table says DIFFERS', async () => {
      // The hostname: the chroot keeps the host's, docker gives the container's id.
      const r = await cliAsync(['run', named, '--runner', 'all', '--entrypoint', 'hostname', '--cache', cache]);
      expect(r.stdout).toMatch(/DIFFERS/);
      expect(r.code).toBe(1);
    }, 600_000);
  });
});

describe('per-command --help', () => {
  it('prints that command\'s usage only, exit 0', async () => {
    for (const [cmd, has] of [['run', '--entrypoint PROG'], ['ls', '--layer NAME|N|DIGEST'], ['cache', 'cache gc'], ['build', '--format']]) {
      const r = await cliAsync([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(new RegExp(`^usage: scratchyard ${cmd} `));
      expect(r.stdout, cmd).toContain(has);
      expect(r.stdout, cmd).not.toContain('commands:');
    }
  });
});

describe.skipIf(lacks('bwrap', 'setpriv', '/bin/busybox') || !dockerWorks())('the app\'s runs.compare', () => {
  it('takes the run flags, and the contract refuses bad ones naming the field', async () => {
    const { bridge } = sessionBridge(named, path.join(work, 'app-cache'));
    const flags = { user: '65532:65532', env: { GREETING: 'app' }, workdir: '/' };
    const r = await bridge.request({ cmd: 'runs.compare', runners: ['chroot', 'docker'], args: [], flags });
    for (const row of r.rows) expect(row, row.runner).toMatchObject({ code: 7, stdout: 'uid=65532 gid=65532 groups=65532\nHOME=/ GREETING=app\n/\n', matches: true });
    expect(r.agree).toBe(true);
    for (const bad of [{ env: { 'A B': '1' } }, { user: 'a b' }, { workdir: 'rel' }, { entrypoint: 'a\nb' }, { network: 'bridge' }, { timeoutS: -1 }]) {
      const parsed = requestSchema.safeParse({ cmd: 'runs.compare', runners: ['chroot'], flags: bad });
      expect(parsed.success, JSON.stringify(bad)).toBe(false);
      expect(JSON.stringify(parsed.error?.issues[0].path), JSON.stringify(bad)).toContain('flags');
    }
  });
});
