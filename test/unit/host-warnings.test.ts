// The pure part of the host-source warnings: what a path or a content says.
import { describe, expect, it } from 'vitest';
import { classifyContent, classifyPath } from '../../electron/engine/sources/host-warnings';

describe('classifyPath', () => {
  it('names credentials, keystores and /etc/ssl/private by path', () => {
    expect(classifyPath('/root/.netrc')?.kind).toBe('credentials');
    expect(classifyPath('/home/me/.git-credentials')?.kind).toBe('credentials');
    expect(classifyPath('/root/.docker/config.json')?.reason).toBe('docker registry credentials');
    expect(classifyPath('/home/me/.ssh/id_ed25519')?.kind).toBe('credentials');
    expect(classifyPath('/etc/shadow')?.kind).toBe('credentials');
    expect(classifyPath('/etc/ssl/private/ssl-cert-snakeoil.key')?.kind).toBe('private-key');
    expect(classifyPath('/srv/tls/site.pfx')?.kind).toBe('private-key');
  });

  it('leaves ordinary files alone', () => {
    for (const p of ['/home/me/.ssh/id_ed25519.pub', '/etc/passwd', '/usr/share/doc/netrc.txt', '/etc/ssl/privately', '/etc/docker/config.json', '/bin/busybox']) expect(classifyPath(p)).toBeUndefined();
  });
});

describe('classifyContent', () => {
  it('finds PEM, OpenSSH, PGP and PuTTY private keys anywhere in the text', () => {
    expect(classifyContent('-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n').key?.kind).toBe('private-key');
    expect(classifyContent('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n').key?.reason).toContain('OPENSSH PRIVATE KEY');
    expect(classifyContent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN RSA PRIVATE KEY-----\n').key?.reason).toContain('RSA PRIVATE KEY');
    expect(classifyContent('-----BEGIN ENCRYPTED PRIVATE KEY-----').key).toBeDefined();
    expect(classifyContent('-----BEGIN PGP PRIVATE KEY BLOCK-----').key).toBeDefined();
    expect(classifyContent('PuTTY-User-Key-File-3: ssh-ed25519\n').key).toBeDefined();
  });

  it('lists certificate bodies without whitespace, and no key for public material', () => {
    const c = classifyContent('# bundle\n-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----\n');
    expect(c.key).toBeUndefined();
    expect(c.certificates).toEqual(['AAAABBBB', 'CCCC']);
    expect(classifyContent('-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n')).toEqual({ certificates: [] });
  });
});
