// Real programs beyond busybox and Python: curl speaking TLS with the CA
// bundle it really opens taken by tracing, run against a local `openssl
// s_server` in the chroot and in docker, each sharing the host's network.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, dockerWorks, freePort, lacks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = process.env.KEEP_WORK ?? tempDir('sy-programs-');
const cache = path.join(work, 'cache');
// Certificates live outside /tmp and /var/tmp: a traced command sees its own private /tmp, and files from
// those folders (host state) are never taken. /srv is a plain host folder (tests run as root).
const certs = mkdtempSync('/srv/sy-programs-certs-');
afterAll(() => rmSync(certs, { recursive: true, force: true }));

const ssl = (args: string[]) => {
  const r = sh('openssl', args, { cwd: certs });
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
};

/** `openssl s_server -www` on 127.0.0.1:port with the test CA's server certificate, answering until stopped. */
async function tlsServer(port: number): Promise<ChildProcess> {
  const p = spawn('openssl', ['s_server', '-quiet', '-accept', `127.0.0.1:${port}`, '-cert', 'server.pem', '-key', 'server.key', '-www'], { cwd: certs, stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (up) return p;
    await new Promise((r) => setTimeout(r, 50));
  }
  p.kill();
  throw new Error('openssl s_server did not start');
}

describe.skipIf(lacks('strace', 'bwrap', 'openssl', 'curl'))('curl with TLS, its CA bundle traced', () => {
  let server: ChildProcess;
  let port: number;
  let project: string;
  const ca = path.join(certs, 'ca.pem');

  beforeAll(async () => {
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=scratchyard test CA']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    // subjectAltName IP:127.0.0.1, which curl checks (the CN alone is not enough).
    const ext = path.join(certs, 'san.ext');
    writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\n');
    ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', ext]);
    port = await freePort();
    server = await tlsServer(port);
    // The traced command has no network: it starts its own server on its own loopback and fetches from it once.
    const traced = `openssl s_server -quiet -naccept 1 -accept 127.0.0.1:4433 -cert ${certs}/server.pem -key ${certs}/server.key -www & curl -sS --retry 30 --retry-connrefused --retry-delay 0 -o /dev/null https://127.0.0.1:4433/; r=$?; wait; exit $r`;
    project = writeProject(
      path.join(work, 'curl'),
      `name: curl
tag: curl-tls:latest
config:
  entrypoint: ["/usr/bin/curl", "-sS", "--max-time", "20"]
  env:
    CURL_CA_BUNDLE: ${ca}
layers:
  - name: curl
    sources:
      - kind: host
        paths: [/usr/bin/curl]
        trace:
          - ["/usr/bin/env", "CURL_CA_BUNDLE=${ca}", "/bin/sh", "-c", ${JSON.stringify(traced)}]
`,
    );
  }, 60_000);
  afterAll(() => server?.kill());

  it('the trace takes the CA bundle curl opened and the TLS libraries it loaded', () => {
    const b = cli(['build', project, '--cache', cache]);
    expect(b.code, b.stderr).toBe(0);
    const [list] = readdirSync(path.join(project, 'scratchyard.trace')).filter((f) => f.startsWith('env-'));
    const paths = readFileSync(path.join(project, 'scratchyard.trace', list), 'utf8').split('\n');
    expect(paths).toContain(ca);
    expect(paths.some((p) => /\/libssl\.so/.test(p))).toBe(true);
    expect(paths.some((p) => /\/usr\/lib\/ssl\/openssl\.cnf|\/etc\/ssl\/openssl\.cnf/.test(p))).toBe(true);
    // The server's private key was opened too: the build says so rather than copying it silently.
    expect(b.stdout + b.stderr).toMatch(/server\.key/);
  });

  it('the image fetches over TLS from the host server in the chroot (host network), and fails verification without the CA', () => {
    const ok = cli(['run', project, '--cache', cache, '--network', 'host', '--', `https://127.0.0.1:${port}/`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/s_server|Ciphers|TLS/i);
    const bad = cli(['run', project, '--cache', cache, '--network', 'host', '-e', 'CURL_CA_BUNDLE=/nonexistent.pem', '--', `https://127.0.0.1:${port}/`]);
    expect(bad.code).not.toBe(0);
  });

  it.skipIf(!dockerWorks() && process.env.CI !== 'true')('and the same in docker', () => {
    const r = cli(['run', project, '--cache', cache, '--runner', 'docker', '--network', 'host', '--', `https://127.0.0.1:${port}/`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/s_server|Ciphers|TLS/i);
  });

  it('without network (the default), the same fetch fails: the run did not share the host network', () => {
    const r = cli(['run', project, '--cache', cache, '--', `https://127.0.0.1:${port}/`]);
    expect(r.code).not.toBe(0);
  });
});
