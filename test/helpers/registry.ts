// A real registry for tests: Debian's docker-registry (distribution 2.8),
// `docker-registry serve CONFIG` on 127.0.0.1 at a free port, with a config,
// storage and (for the TLS kind) a CA, certificate and htpasswd file written
// here at test time. Each test file starts its own and stops it after; nothing
// is left running (the process is killed on exit too).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, tempDir } from './env';

export interface TestRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  /** Where it keeps blobs and manifests (docker/registry/v2/…). */
  storage: string;
  /** TLS kind: a folder holding the CA's ca.crt, for skopeo's --cert-dir. */
  certDir?: string;
  /** TLS kind: USER:PASSWORD of its one account. */
  creds?: string;
  stop(): Promise<void>;
}

export interface RegistryKind {
  /** TLS with a CA made here, and htpasswd (bcrypt) basic auth. */
  tls?: boolean;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A CA, and a certificate it signed for 127.0.0.1 and localhost (P-256 keys: quick to make). */
function makeCerts(dir: string): { cert: string; key: string; certDir: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('openssl', ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=scratchyard test CA'], dir);
  run('openssl', ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.cnf'], dir);
  const certDir = path.join(dir, 'certs');
  mkdirSync(certDir);
  copyFileSync(path.join(dir, 'ca.crt'), path.join(certDir, 'ca.crt'));
  return { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key'), certDir };
}

async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not listen on 127.0.0.1:${port}: ${log()}`);
}

export async function startRegistry(kind: RegistryKind = {}): Promise<TestRegistry> {
  const dir = tempDir('sy-registry-');
  const storage = path.join(dir, 'data');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let tls = '';
  let auth = '';
  let certDir: string | undefined;
  let creds: string | undefined;
  if (kind.tls) {
    const c = makeCerts(dir);
    certDir = c.certDir;
    tls = `  tls:\n    certificate: ${c.cert}\n    key: ${c.key}\n`;
    const user = 'tester';
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    writeFileSync(path.join(dir, 'htpasswd'), run('htpasswd', ['-Bbn', user, password], dir));
    auth = `auth:\n  htpasswd:\n    realm: scratchyard-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
    creds = `${user}:${password}`;
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${tls}${auth}`,
  );
  // Its log goes to a file, never a pipe: tests block in spawnSync while the
  // registry serves, and a pipe nobody drains fills up and stalls every request.
  const logFile = path.join(dir, 'registry.log');
  const fd = openSync(logFile, 'w');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  running.add(child);
  const log = () => readFileSync(logFile, 'utf8').slice(-4000);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    running.delete(child);
  };
  try {
    await listening(port, child, log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { host, storage, ...(certDir ? { certDir } : {}), ...(creds ? { creds } : {}), stop };
}
