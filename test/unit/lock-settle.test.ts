import { describe, expect, it } from 'vitest';
import { keepSettledArchives, lockDrift, lockSchema, type Lock } from '../../shared/lock';

const h = (c: string) => c.repeat(64);
const archives = (updates: string, security: string) => [
  { uri: 'http://mirror.example/debian', suite: 'bookworm', components: ['main'], release: h('1') },
  { uri: 'http://mirror.example/debian', suite: 'bookworm-updates', components: ['main'], release: updates },
  { uri: 'http://mirror.example/debian-security', suite: 'bookworm-security', components: ['main'], release: security },
];
const pkg = (version: string, sha: string) => ({ name: 'libc6', version, arch: 'amd64', sha256: sha });
const lock = (arch: ReturnType<typeof archives>, version = '2.36-9+deb12u9', sha = h('a')): Lock =>
  lockSchema.parse({ lockVersion: 1, sources: [{ field: 'layers[0].sources[0]', kind: 'debian', archives: arch, packages: [pkg(version, sha)] }] });

describe('a lock across re-signed Release files', () => {
  it('the same packages keep the locked Release digests: no drift, the same lock', () => {
    const old = lock(archives(h('2'), h('3')));
    const now = keepSettledArchives(old, lock(archives(h('4'), h('5'))));
    expect(now).toEqual(old);
    expect(lockDrift(old, now)).toEqual([]);
  });

  it('a package that moved records the Release digests it was resolved against', () => {
    const old = lock(archives(h('2'), h('3')));
    const now = keepSettledArchives(old, lock(archives(h('4'), h('5')), '2.36-9+deb12u10', h('b')));
    expect(now.sources[0]).toMatchObject({ archives: archives(h('4'), h('5')) });
    expect(lockDrift(old, now)).toEqual([
      'layers[0].sources[0]: debian bookworm-updates Release: sha256:222222222222 → sha256:444444444444',
      'layers[0].sources[0]: debian bookworm-security Release: sha256:333333333333 → sha256:555555555555',
      'layers[0].sources[0]: libc6 2.36-9+deb12u9 → 2.36-9+deb12u10',
    ]);
  });

  it('the same version from another .deb, or another archive list, is not settled', () => {
    const old = lock(archives(h('2'), h('3')));
    expect(keepSettledArchives(old, lock(archives(h('4'), h('5')), undefined, h('c'))).sources[0]).toMatchObject({ archives: archives(h('4'), h('5')) });
    const fewer = lock(archives(h('2'), h('3')).slice(0, 2));
    expect(keepSettledArchives(old, fewer)).toEqual(fewer);
  });
});
