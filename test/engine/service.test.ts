// Services test-run through the Runner seam: a busybox httpd started by the
// chroot and docker runners, a probe with the host's wget run beside it in its
// network namespace, and the service stopped afterwards (no process, no
// container left). Also: -p publishing, the flags' refusals, and that runs
// take the image already built (the recipe is read once for every runner).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, DOCKER, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { asNormalUser, ensureNormalUser, NORMAL_USER, portableCli } from '../helpers/portable';
import { runFlagsSchema } from '../../shared/contract';

const work = tempDir('sy-service-');
const cache = path.join(work, 'cache');
const isRoot = process.getuid?.() === 0;
/** Unique per test run: the httpd's document root names its processes for pgrep. */
const token = `svc${process.pid}`;
const tag = `scratchyard-test/service-${process.pid}:latest`;
const FETCH = 'wget -qO- http://127.0.0.1:8080/hello.txt';

function project(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'scratchyard.yaml'),
    `name: httpd
tag: ${tag}
config:
  entrypoint: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/${token}"]
layers:
  - name: app
    sources:
      - kind: busybox
      - kind: file
        path: /${token}/hello.txt
        content: |
          hello from ${token}
`,
  );
  return dir;
}

const HTTPD = project(path.join(work, 'httpd'));

function cliAsync(args: string[], opts: { prefix?: string[]; cli?: string; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [file, ...pre] = [...(opts.prefix ?? []), process.execPath];
    const child = spawn(file, [...pre, opts.cli ?? CLI, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

/** httpd processes of this test still running anywhere on the machine. */
const leftovers = () => sh('pgrep', ['-f', `httpd -f -p 8080 -h /${token}`]).stdout.trim();
/** Containers of this test's image, running or not. */
const containers = () => sh(DOCKER, ['ps', '-a', '-q', '--filter', `ancestor=${tag}`]).stdout.trim();

afterAll(() => {
  if (dockerWorks()) sh(DOCKER, ['rmi', '-f', tag]);
});

describe.skipIf(lacks('bwrap', 'wget', 'nsenter', '/bin/busybox'))('service test-runs (--probe)', () => {
  it('chroot: the probe reaches the service in its network, its answer is the run\'s, and the service is stopped', async () => {
    const r = await cliAsync(['run', HTTPD, '--cache', cache, '--probe', FETCH, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.probe.code).toBe(0);
    expect(out.stdout).toBe(`hello from ${token}\n`);
    // The service did not end by itself: it was stopped (killed) after the probe.
    expect(out.service.signal ?? out.service.code).toBeTruthy();
    expect(leftovers()).toBe('');
    // No network unless asked: the host cannot reach the service.
    expect(sh('wget', ['-qO-', '-T', '2', 'http://127.0.0.1:8080/hello.txt']).stdout).not.toContain(token);
  });

  it.skipIf(!isRoot)('chroot as a normal user: the probe joins the sandbox\'s user and network namespaces', async () => {
    ensureNormalUser();
    const dir = project(tempDir('sy-service-user-'));
    expect(sh('chown', ['-R', NORMAL_USER, dir]).code).toBe(0);
    const r = await cliAsync(['run', dir, '--cache', path.join(dir, 'cache'), '--probe', FETCH], { prefix: asNormalUser(dir), cli: portableCli().cli, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`hello from ${token}\n`);
    expect(r.stderr).toContain('the probe succeeded');
    expect(leftovers()).toBe('');
  });

  it('a probe that never succeeds ends at the probe timeout with a failing result, and the service is stopped', async () => {
    const r = await cliAsync(['run', HTTPD, '--cache', cache, '--probe', 'wget -qO- http://127.0.0.1:9/', '--probe-timeout', '2', '--json']);
    const out = JSON.parse(r.stdout);
    expect(r.code).not.toBe(0);
    expect(out.code).toBe(r.code);
    expect(out.probe.timedOut).toBe(true);
    expect(out.probe.attempts).toBeGreaterThan(1);
    expect(out.probe.error).toMatch(/did not succeed within 2 s/);
    expect(leftovers()).toBe('');
  });

  it('a service that ends before answering fails the probe, saying so', async () => {
    const r = await cliAsync(['run', HTTPD, '--cache', cache, '--probe', FETCH, '--entrypoint', '/bin/busybox', '--', 'false']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/the service ended \(exit code 1\) before the probe succeeded/);
  });

  it.skipIf(!dockerWorks() || !isRoot)('docker: the probe enters the container\'s network; no container is left', async () => {
    const r = await cliAsync(['run', HTTPD, '--cache', cache, '--runner', 'docker', '--probe', FETCH]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`hello from ${token}\n`);
    expect(containers()).toBe('');
    const fail = await cliAsync(['run', HTTPD, '--cache', cache, '--runner', 'docker', '--probe', 'wget -qO- http://127.0.0.1:9/', '--probe-timeout', '2']);
    expect(fail.code).not.toBe(0);
    expect(fail.stderr).toMatch(/did not succeed within 2 s/);
    expect(containers()).toBe('');
  });

  it.skipIf(!dockerWorks() || !isRoot)('--runner all: one build for every runner, a probe column, the VM "not supported"', async () => {
    // Every build reads the recipe; runs take the built image and never build again.
    const trace = path.join(work, 'strace.out');
    const r = sh('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', trace, process.execPath, CLI, 'run', HTTPD, '--cache', cache, '--runner', 'all', '--probe', FETCH]);
    expect(r.code, r.stderr).toBe(0);
    const reads = readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes(path.join(HTTPD, 'scratchyard.yaml')));
    expect(reads).toHaveLength(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^runner\s+exit\s+time\s+probe\s+exit\+stdout/);
    expect(lines.find((l) => l.startsWith('chroot'))).toMatch(/ok \(\d+ tries\)\s+matches/);
    expect(lines.find((l) => l.startsWith('docker'))).toMatch(/ok \(\d+ tries\)\s+matches/);
    expect(lines.find((l) => l.startsWith('vm'))).toMatch(/not supported.*--probe/);
    expect(r.stdout).toContain("compared: the probe's exit code and stdout");
    expect(containers()).toBe('');
    expect(leftovers()).toBe('');
  });
});

describe.skipIf(lacks('bwrap', '/bin/busybox'))('-p HOST:CONTAINER', () => {
  it.skipIf(!dockerWorks())('docker publishes the port on 127.0.0.1', async () => {
    const port = String(20000 + (process.pid % 20000));
    const run = cliAsync(['run', HTTPD, '--cache', cache, '--runner', 'docker', '-p', `${port}:8080`, '--timeout', '20']);
    let body = '';
    for (let i = 0; i < 100 && !body.includes(token); i++) {
      body = sh('wget', ['-qO-', '-T', '1', `http://127.0.0.1:${port}/hello.txt`]).stdout;
      if (!body.includes(token)) await new Promise((res) => setTimeout(res, 200));
    }
    expect(body).toBe(`hello from ${token}\n`);
    const r = await run;
    expect(r.code).toBe(124); // stopped at its --timeout, as a service is
    expect(containers()).toBe('');
  });

  it('refuses what cannot work, naming the flag, and writes nothing outside the cache', () => {
    const a = arena();
    const p = project(path.join(a.dir, 'p'));
    // One refusal at a time: the check of /tmp's scratchyard temporaries stays short beside other tests' builds.
    expectContained(a, () => expectRefused(boundedCli(['run', p, '--cache', a.cache, '-p', '8080:80']), 2, /-p 8080:80 .*not supported by the chroot runner/));
    expectContained(a, () => expectRefused(boundedCli(['run', p, '--cache', a.cache, '--runner', 'docker', '-p', '8080:80', '--network', 'none']), 2, /-p .*cannot go with --network none/));
    expectContained(a, () => expectRefused(boundedCli(['run', p, '--cache', a.cache, '--runner', 'docker', '-p', '8080:99999']), 2, /-p "8080:99999": expected HOST:CONTAINER/));
    expectContained(a, () => expectRefused(boundedCli(['run', p, '--cache', a.cache, '--runner', 'docker', '--publish=--privileged']), 2, /-p "--privileged": expected HOST:CONTAINER/));
    expectContained(a, () => expectRefused(boundedCli(['run', p, '--cache', a.cache, '--probe', 'true\nrm -rf /']), 2, /--probe: contains a NUL byte or a line break/));
    expectContained(a, () => expectRefused(boundedCli(['run', p, '--cache', a.cache, '--probe', ' ']), 2, /--probe: is empty/));
    expectContained(a, () => expectRefused(boundedCli(['run', p, '--cache', a.cache, '--probe-timeout', '3']), 2, /--probe-timeout: only with --probe/));
    expectContained(a, () => expectRefused(boundedCli(['run', p, '--cache', a.cache, '--runner', 'vm', '--probe', 'true']), 2, /--probe .*not supported by the vm runner/));
  });
});

describe('the contract\'s ports and probe', () => {
  it('takes valid ones and refuses bad ones, naming the field', () => {
    expect(runFlagsSchema.safeParse({ ports: ['8080:80', '8053:53/udp'], probe: { command: FETCH, timeoutS: 5 } }).success).toBe(true);
    const bad = (v: unknown) => {
      const r = runFlagsSchema.safeParse(v);
      expect(r.success).toBe(false);
      return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    };
    expect(bad({ ports: ['--privileged'] })).toMatch(/^ports\.0: expected HOST:CONTAINER/);
    expect(bad({ ports: ['8080:80'], network: 'none' })).toMatch(/^ports: -p publishes through a private network/);
    expect(bad({ probe: { command: 'true\nreboot' } })).toMatch(/^probe\.command: contains a NUL byte or a line break/);
    expect(bad({ probe: { command: 'true', extra: 1 } })).toMatch(/^probe: /);
  });
});


describe.skipIf(lacks('mmdebstrap', 'bwrap', 'wget', 'nsenter') || !isRoot)('nginx from Debian as a service', () => {
  it('answers the probe in the chroot and in docker, and is stopped after it', async () => {
    const dir = path.join(work, 'nginx');
    mkdirSync(dir);
    const nginxTag = `scratchyard-test/nginx-${process.pid}:latest`;
    writeFileSync(
      path.join(dir, 'scratchyard.yaml'),
      `name: nginx
tag: ${nginxTag}
config:
  entrypoint: ["/usr/sbin/nginx", "-g", "daemon off;"]
layers:
  - name: debian
    sources:
      - kind: debian
        suite: bookworm
        variant: minbase
        include: [nginx-light]
  - name: app
    sources:
      - kind: dir
        path: /var/log/nginx
`,
    );
    const runners = dockerWorks() ? 'chroot,docker' : 'chroot';
    try {
      const r = await cliAsync(['run', dir, '--cache', path.join(work, 'nginx-cache'), '--runner', 'all', '--json', '--probe', 'wget -qO- http://127.0.0.1:80/ | grep -q "Welcome to nginx" && echo up']);
      expect(r.code, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout) as { runner: string; code?: number; stdout?: string; probe?: { code: number } }[];
      for (const name of runners.split(',')) {
        const row = rows.find((x) => x.runner === name);
        expect(row?.probe?.code, JSON.stringify(row)).toBe(0);
        expect(row?.stdout).toBe('up\n');
      }
      expect(sh('pgrep', ['-f', 'nginx: master process']).stdout.trim()).toBe('');
      if (dockerWorks()) expect(sh(DOCKER, ['ps', '-a', '-q', '--filter', `ancestor=${nginxTag}`]).stdout.trim()).toBe('');
    } finally {
      if (dockerWorks()) sh(DOCKER, ['rmi', '-f', nginxTag]);
    }
  }, 900_000);
});
