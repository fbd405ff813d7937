// doctor's advice when user namespaces fail: each kernel setting that can
// block them is named with the command that lifts it.
import { describe, expect, it } from 'vitest';
import { parseVersion, userNamespaceAdvice } from '../../electron/engine/entry/doctor';

describe('user namespace advice', () => {
  it('names Debian\'s switch, AppArmor\'s restriction and the namespace limit', () => {
    expect(userNamespaceAdvice('unshare: unshare failed: Operation not permitted', { unprivilegedClone: '0' })).toMatch(/Operation not permitted; .*sysctl -w kernel\.unprivileged_userns_clone=1$/);
    expect(userNamespaceAdvice('unshare: unshare failed: Permission denied', { apparmorRestrict: '1', unprivilegedClone: '1' })).toMatch(/AppArmor restricts them: sysctl -w kernel\.apparmor_restrict_unprivileged_userns=0/);
    expect(userNamespaceAdvice('x', { maxUserNamespaces: '0' })).toMatch(/sysctl -w user\.max_user_namespaces=15000/);
    // bwrap's own wording of the exhausted limit.
    expect(userNamespaceAdvice('bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)', {})).toMatch(/sysctl -w user\.max_user_namespaces=15000/);
  });

  it('gives only the error when no known setting is at fault', () => {
    expect(userNamespaceAdvice('boom', { unprivilegedClone: '1', apparmorRestrict: '0', maxUserNamespaces: '1000' })).toBe('the sandbox (bwrap) could not create a user namespace: boom');
  });
});

describe("a tool's version line", () => {
  it('is its first line with a version, without a banner frame around it', () => {
    expect(parseVersion('*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***\n')).toBe('Zstandard CLI (64-bit) v1.5.4, by Yann Collet');
    expect(parseVersion('usage: x\nskopeo version 1.9.3\n')).toBe('skopeo version 1.9.3');
    expect(parseVersion('no digits here')).toBeUndefined();
  });
});
