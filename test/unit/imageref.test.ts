import { describe, expect, it } from 'vitest';
import { formatImageRef, isLoopbackRegistry, parseImageRef } from '../../shared/imageref';

describe('image references', () => {
  it('parses every transport and prints it back', () => {
    const cases: [string, string][] = [
      ['docker://127.0.0.1:5000/team/base:1', 'docker://127.0.0.1:5000/team/base:1'],
      ['docker://debian', 'docker://debian:latest'],
      [`docker://x/y@sha256:${'a'.repeat(64)}`, `docker://x/y@sha256:${'a'.repeat(64)}`],
      ['docker-daemon:nginx:1.25', 'docker-daemon:nginx:1.25'],
      ['docker-daemon:nginx', 'docker-daemon:nginx:latest'],
      [`docker-daemon:${'b'.repeat(64)}`, `docker-daemon:sha256:${'b'.repeat(64)}`],
      ['containers-storage:localhost/app:2', 'containers-storage:localhost/app:2'],
      ['oci:out/hello.oci:latest', 'oci:out/hello.oci:latest'],
      ['oci:out/hello.oci', 'oci:out/hello.oci'],
      ['docker-archive:out/hello.tar', 'docker-archive:out/hello.tar'],
      ['out/hello.tar', 'out/hello.tar'],
      ['/abs/with:colon.tar', '/abs/with:colon.tar'],
    ];
    for (const [text, back] of cases) {
      const r = parseImageRef(text);
      expect(typeof r, text).toBe('object');
      expect(formatImageRef(r as Exclude<typeof r, string>), text).toBe(back);
    }
  });

  it('refuses credentials in a registry reference without saying them back', () => {
    for (const text of ['docker://user:s3cret@127.0.0.1:5000/x:1', 'docker://s3cret@registry.example/x', 'docker://u:p@ss:s3cret@h/x']) {
      const r = parseImageRef(text);
      expect(typeof r, text).toBe('string');
      expect(r).toContain('credentials do not go in an image reference');
      expect(r).toContain('--creds');
      expect(r).not.toMatch(/s3cret/);
    }
    // An "@" after the first "/" is a digest's, and a malformed one is said back.
    expect(parseImageRef('docker://h/x@s3cret')).toMatch(/s3cret/);
  });

  it('refuses what skopeo would misread, naming the text', () => {
    for (const bad of ['docker:debian', 'docker://x/UPPER', 'docker://a b', 'docker-daemon:--tls-verify=false', 'oci:', 'oci:a:b c', 'docker-archive:a:b', 'x\ny', 'docker://x\u0000']) {
      const r = parseImageRef(bad);
      expect(typeof r, bad).toBe('string');
    }
    expect(parseImageRef('docker-daemon:--x')).toMatch(/docker-daemon:--x/);
  });

  it('allows plain HTTP for loopback registries only', () => {
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('localhost:5000')).toBe(true);
    expect(isLoopbackRegistry('[::1]:5000')).toBe(true);
    expect(isLoopbackRegistry('127.example.com')).toBe(false);
    expect(isLoopbackRegistry('registry.example:5000')).toBe(false);
  });
});
