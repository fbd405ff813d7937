// scratchyard.lock without Debian builds: host files with their Debian
// package (read from this machine's dpkg), project files and tarballs by
// digest, drift reported and written, refused under --locked; a hostile lock
// refused before it is used.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, lacks, sh, tempDir } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';

const work = tempDir('sy-lock-');
const cache = path.join(work, 'cache');
// A host file of our own, changed between builds (what an apt upgrade does to /usr/bin/curl).
const hostDir = path.join('/opt', path.basename(work));
const tool = path.join(hostDir, 'tool');
afterAll(() => rmSync(hostDir, { recursive: true, force: true }));

const recipe = `name: locked
layers:
  - name: base
    sources:
      - kind: host
        paths: [/usr/bin/bash, ${tool}]
      - kind: copy
        src: app.txt
        dest: /app.txt
      - kind: tarball
        src: extra.tar
`;

function lockOf(dir: string) {
  return JSON.parse(readFileSync(path.join(dir, 'scratchyard.lock'), 'utf8'));
}

describe.skipIf(lacks('dpkg-query', 'tar'))('scratchyard.lock', () => {
  const dir = path.join(work, 'p');
  const build = (...extra: string[]) => cli(['build', dir, '--cache', cache, '--format', 'rootfs', ...extra]);

  it('records host files with their Debian package, project files and tarballs by digest, the same bytes each build', () => {
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(tool, 'version 1\n');
    writeProject(dir, recipe, { 'app.txt': 'hello\n', 'src/x': 'x\n' });
    expect(sh('tar', ['-cf', path.join(dir, 'extra.tar'), '-C', path.join(dir, 'src'), 'x']).code).toBe(0);
    const r = build();
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(path.join(dir, 'scratchyard.lock'), 'utf8');
    const lock = JSON.parse(text);
    expect(lock.lockVersion).toBe(1);
    const [host, copy, tarball] = lock.sources;
    // dpkg knows bash as /bin/bash: the /usr alias is asked too.
    const bashVersion = sh('dpkg-query', ['-W', '-f', '${Version}', 'bash']).stdout;
    expect(host.files.find((f: { path: string }) => f.path === '/usr/bin/bash')).toMatchObject({ package: 'bash', version: bashVersion });
    expect(host.files.find((f: { path: string }) => f.path === tool)).toEqual({ path: tool, sha256: sh('sha256sum', [tool]).stdout.slice(0, 64) });
    expect(copy).toEqual({ field: 'layers[0].sources[1]', kind: 'copy', src: 'app.txt', files: [{ path: '/app.txt', sha256: sh('sha256sum', [path.join(dir, 'app.txt')]).stdout.slice(0, 64) }] });
    expect(tarball).toEqual({ field: 'layers[0].sources[2]', kind: 'tarball', src: 'extra.tar', sha256: sh('sha256sum', [path.join(dir, 'extra.tar')]).stdout.slice(0, 64) });
    // Named by the digest taken as it was imported, not stored again as a blob of its own.
    expect(existsSync(path.join(cache, 'blobs', 'sha256', tarball.sha256))).toBe(false);
    // One line per file: a diff of the lock reads like the drift.
    expect(text).toMatch(/^ {8}\{ "path": "\/usr\/bin\/bash", "sha256": "[0-9a-f]{64}", "package": "bash", "version": ".+" \},?$/m);
    expect(build().code).toBe(0);
    expect(readFileSync(path.join(dir, 'scratchyard.lock'), 'utf8')).toBe(text);
    // A tarball written again in place (same name, new bytes) is named by its new digest.
    const saved = readFileSync(path.join(dir, 'extra.tar'));
    writeFileSync(path.join(dir, 'src', 'x'), 'y\n');
    expect(sh('tar', ['-cf', path.join(dir, 'extra.tar'), '-C', path.join(dir, 'src'), 'x']).code).toBe(0);
    expect(build().code).toBe(0);
    expect(lockOf(dir).sources[2].sha256).toBe(sh('sha256sum', [path.join(dir, 'extra.tar')]).stdout.slice(0, 64));
    expect(lockOf(dir).sources[2].sha256).not.toBe(tarball.sha256);
    writeFileSync(path.join(dir, 'extra.tar'), saved);
    writeFileSync(path.join(dir, 'src', 'x'), 'x\n');
    expect(build().code).toBe(0);
    expect(readFileSync(path.join(dir, 'scratchyard.lock'), 'utf8')).toBe(text);
  });

  it('--locked refuses a host file that changed, naming it; a plain build reports the drift and updates the lock', () => {
    const before = lockOf(dir).sources[0].files.find((f: { path: string }) => f.path === tool).sha256;
    writeFileSync(tool, 'version 2\n');
    writeFileSync(path.join(dir, 'app.txt'), 'changed\n');
    const after = sh('sha256sum', [tool]).stdout.slice(0, 64);
    const locked = build('--locked');
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain(`${tool}: sha256 ${before.slice(0, 12)} → ${after.slice(0, 12)}`);
    expect(locked.stderr).toMatch(/\/app\.txt: sha256 [0-9a-f]{12} → [0-9a-f]{12}/);
    expect(locked.stderr).not.toMatch(/^\s+at /m);
    expect(lockOf(dir).sources[0].files.find((f: { path: string }) => f.path === tool).sha256).toBe(before);

    const plain = build();
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/scratchyard\.lock: 2 changes since the lock:/);
    expect(plain.stderr).toContain(`  ${tool}: sha256 ${before.slice(0, 12)} → ${after.slice(0, 12)}`);
    expect(lockOf(dir).sources[0].files.find((f: { path: string }) => f.path === tool).sha256).toBe(after);
    expect(build('--locked').code).toBe(0);
  });

  it('--locked without a lock fails, saying how to make one', () => {
    const other = writeProject(path.join(work, 'nolock'), 'name: n\nlayers:\n  - name: a\n    sources:\n      - kind: file\n        path: /a\n        content: a\n');
    const r = cli(['build', other, '--cache', cache, '--format', 'rootfs', '--locked']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no scratchyard.lock here to build --locked from');
  });
});

describe('a hostile scratchyard.lock', () => {
  const a = arena('sy-hostile-lock-');
  const dir = writeProject(path.join(a.dir, 'p'), 'name: n\nlayers:\n  - name: a\n    sources:\n      - kind: file\n        path: /a\n        content: a\n');
  const lockFile = path.join(dir, 'scratchyard.lock');
  const build = (...extra: string[]) => expectContained(a, () => boundedCli(['build', dir, '--cache', a.cache, '--out', a.out, '--format', 'rootfs', ...extra]));
  const debianEntry = (name: string) => ({ lockVersion: 1, sources: [{ field: 'layers[0].sources[0]', kind: 'debian', archives: [], packages: [{ name, version: '1.0', arch: 'amd64', sha256: 'a'.repeat(64) }] }] });

  it('a package name that is an option is refused, naming the field', () => {
    writeFileSync(lockFile, JSON.stringify(debianEntry('--setup-hook=touch /tmp/x')));
    for (const mode of [[], ['--locked']]) expectRefused(build(...mode), 2, `${lockFile}:0:0: sources[0].packages[0].name: expected a Debian package name`, 200);
  });

  it('the purged list is held to the same grammar as the packages, each fault named', () => {
    const withPurged = (p: Record<string, unknown>) => {
      const lock = debianEntry('curl');
      writeFileSync(lockFile, JSON.stringify({ ...lock, sources: [{ ...lock.sources[0], purged: [{ name: 'keyring', version: '1.0', arch: 'all', sha256: 'c'.repeat(64), ...p }] }] }));
    };
    withPurged({ name: '-oAPT::Get::Assume-Yes' });
    for (const mode of [[], ['--locked']]) expectRefused(build(...mode), 2, `${lockFile}:0:0: sources[0].purged[0].name: expected a Debian package name`, 200);
    withPurged({ version: '1.0; touch /tmp/x' });
    expectRefused(build('--locked'), 2, 'sources[0].purged[0].version', 200);
    withPurged({ sha256: '../../../etc/passwd' });
    expectRefused(build('--locked'), 2, 'sources[0].purged[0].sha256: expected 64 lower-case hex digits', 200);
    withPurged({ arch: '../amd64' });
    expectRefused(build('--locked'), 2, 'sources[0].purged[0].arch', 200);
    withPurged({ path: '/x' });
    expectRefused(build('--locked'), 2, 'Unrecognized key: "path"', 200);
  });

  it('malformed JSON is refused with its line', () => {
    writeFileSync(lockFile, '{\n  "lockVersion": 1,\n  "sources": [\n    {,\n');
    expectRefused(build(), 2, new RegExp(`^${lockFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4:\\d+: is not JSON`, 'm'), 200);
  });

  it('a huge lock is refused unread, a wrong version and unknown fields by name', () => {
    writeFileSync(lockFile, '');
    sh('truncate', ['-s', '17M', lockFile]);
    expectRefused(build(), 2, `${lockFile}:0:0: is 17825792 bytes: a lock is refused past 16777216 bytes`, 200);
    writeFileSync(lockFile, JSON.stringify({ lockVersion: 99, sources: [] }));
    expectRefused(build(), 2, 'lockVersion: expected lockVersion 1', 200);
    writeFileSync(lockFile, JSON.stringify({ ...debianEntry('curl'), extra: 1 }));
    expectRefused(build(), 2, 'Unrecognized key: "extra"', 200);
    const deep = { lockVersion: 1, sources: [{ field: 'layers[0].sources[0]', kind: 'host', files: [{ path: '/etc/../../x', sha256: 'b'.repeat(64) }] }] };
    writeFileSync(lockFile, JSON.stringify(deep));
    expectRefused(build(), 2, 'sources[0].files[0].path', 200);
  });
});
