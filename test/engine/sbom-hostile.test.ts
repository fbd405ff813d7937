// An image's dpkg database is untrusted input to `scratchyard sbom`: an
// oversized status file or status.d folder is refused naming it, and a status
// file built to be slow (a 16 MiB line, 400,000 paragraphs, runaway
// continuation lines) is read in bounded time and memory, nothing written
// outside the cache and the output.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';

function imageWith(files: Record<string, string>, dest: string): { a: ReturnType<typeof arena>; image: string } {
  const a = arena('sy-sbom-hostile-');
  const project = writeProject(path.join(a.dir, 'proj'), `name: evil\nsbom: false\ndpkgStatusD: false\nlayers:\n  - name: db\n    sources:\n      - kind: copy\n        src: db\n        dest: ${dest}\n`, files);
  const r = cli(['build', project, '--cache', a.cache, '--out', a.out, '--format', 'docker']);
  expect(r.code).toBe(0);
  return { a, image: path.join(a.out, 'evil.docker.tar') };
}

describe('sbom of a hostile dpkg database', () => {
  it('refuses a status file past 32 MiB, naming it', () => {
    const { a, image } = imageWith({ 'db/status': 'Package: a\nVersion: 1\n\n'.repeat(1_500_000) }, '/var/lib/dpkg');
    const r = expectContained(a, () => boundedCli(['sbom', image, '--cache', a.cache, '-o', path.join(a.out, 'x.json')]));
    expectRefused(r, 1, /evil\.docker\.tar: \/var\/lib\/dpkg\/status: \d+ bytes; at most 33554432 are read/);
  }, 120_000);

  it('refuses a status.d folder of more entries than any image has, naming it', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20_001; i++) files[`db/p${i}`] = '';
    const { a, image } = imageWith(files, '/var/lib/dpkg/status.d');
    const r = expectContained(a, () => boundedCli(['sbom', image, '--cache', a.cache]));
    expectRefused(r, 1, /\/var\/lib\/dpkg\/status\.d: 20001 entries; at most 20000 are read/);
  }, 300_000);

  it('reads a status file built to be slow in bounded time and memory, keeping its well-formed packages', () => {
    const long = 'x'.repeat(16 << 20);
    const text = [`${long}\n`, `Package: ok\nVersion: 1.0-1\nArchitecture: amd64\nDescription: d\n${' more\n'.repeat(200_000)}\n`, 'Package: bad name\nVersion: 1\n\n', 'Package: a\nVersion: 1\n\n'.repeat(400_000)].join('');
    const { a, image } = imageWith({ 'db/status': text }, '/var/lib/dpkg');
    const out = path.join(a.out, 'sbom.json');
    const r = expectContained(a, () => boundedCli(['sbom', image, '--cache', a.cache, '-o', out], { timeoutMs: 60_000 }));
    expect(r.timedOut).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.maxRssMiB).toBeLessThan(768);
    const names = (JSON.parse(readFileSync(out, 'utf8')).components as { name: string }[]).map((c) => c.name);
    expect(names).toContain('ok');
    expect(names).not.toContain('bad name');
  }, 300_000);
});
