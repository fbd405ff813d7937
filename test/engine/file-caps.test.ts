// Host files keep their file capabilities (security.capability), as docker's
// COPY keeps them: the text getcap prints becomes the very xattr bytes setcap
// wrote (read back by python's os.getxattr), the layer carries them (GNU tar
// and getcap read them back), docker applies them (a capability-holding copy
// of busybox chowns as an unprivileged user, a plain copy cannot), the answer
// is kept in the stat cache so a rebuild runs nothing, and a capability
// removed on this machine leaves the next image.
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileCapsXattr } from '../../electron/engine/model/file-caps';
import { cli, DOCKER, dockerWorks, lacks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const root = process.getuid?.() === 0;
const tools = !lacks('setcap', 'getcap', 'python3', 'busybox');

function xattrHex(file: string): string {
  const r = sh('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "security.capability").hex())', file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

function getcapText(file: string): string {
  const r = sh('getcap', ['-n', file]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().slice(file.length + 1);
}

describe.skipIf(!root || !tools)('file capabilities of host files', () => {
  const dir = tempDir('sy-caps-');
  const busybox = sh('sh', ['-c', 'command -v busybox']).stdout.trim();

  it('getcap text to xattr bytes: the same bytes setcap wrote, v2 and v3 (rootid), "all" at this kernel', () => {
    const f = path.join(dir, 'probe');
    copyFileSync(busybox, f);
    const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    for (const [text, ns] of [
      ['cap_net_raw=ep', undefined],
      ['cap_net_raw+p', undefined],
      ['cap_chown,cap_net_bind_service=eip', undefined],
      ['cap_sys_admin=i', undefined],
      ['all=ep', undefined],
      ['=ep cap_sys_admin-ep', undefined],
      ['cap_setfcap,cap_checkpoint_restore=p', undefined],
      ['cap_net_raw=ep', '1000'],
    ] as const) {
      const set = sh('setcap', [...(ns ? ['-n', ns] : []), text, f]);
      expect(set.code, set.stderr).toBe(0);
      const x = fileCapsXattr(getcapText(f), lastCap);
      expect(x, text).toBeInstanceOf(Buffer);
      expect((x as Buffer).toString('hex'), text).toBe(xattrHex(f));
    }
    expect(fileCapsXattr('cap_bogus=ep')).toBeInstanceOf(Error);
    expect(fileCapsXattr('cap_chown=ep junk!')).toBeInstanceOf(Error);
    expect(fileCapsXattr('cap_chown=')).toBeUndefined();
  });

  describe('a build', () => {
    const host = path.join(dir, 'host');
    mkdirSync(host, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    // Named busybox, each in a folder of its own: busybox picks its applet by its name.
    const tool = path.join(host, 'cap', 'busybox');
    const plain = path.join(host, 'plain', 'busybox');
    for (const f of [tool, plain]) {
      mkdirSync(path.dirname(f), { mode: 0o755 });
      copyFileSync(busybox, f);
    }
    const proj = writeProject(path.join(dir, 'proj'), `name: capsimg\nlayers:\n  - name: tools\n    sources:\n      - kind: host\n        paths: [${tool}, ${plain}]\n`);
    const cache = path.join(dir, 'cache');
    const out = path.join(dir, 'out');
    const tag = `capsimg-${process.pid}`;
    afterAll(() => {
      sh(DOCKER, ['rmi', '-f', `${tag}:a`, `${tag}:b`]);
    });

    const build = () => {
      const r = cli(['build', proj, '--cache', cache, '--out', out, '--json', '--no-sbom']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { manifestDigest: string };
    };
    /** getcap's answer for each file of the rootfs tar, unpacked by GNU tar with its xattrs. */
    const unpackedCaps = (name: string) => {
      const x = path.join(dir, name);
      mkdirSync(x);
      const t = sh('tar', ['--xattrs', '--xattrs-include=security.capability', '-xpf', path.join(out, 'capsimg.rootfs.tar'), '-C', x]);
      expect(t.code, t.stderr).toBe(0);
      return { tool: sh('getcap', [path.join(x, tool)]).stdout.trim(), plain: sh('getcap', [path.join(x, plain)]).stdout.trim() };
    };

    it('carries cap_chown=ep in the layer; a rebuild reads it from the stat cache; removed here, it leaves the image', () => {
      expect(sh('setcap', ['cap_chown=ep', tool]).code).toBe(0);
      const first = build();
      const caps = unpackedCaps('x1');
      expect(caps.tool).toMatch(/ cap_chown=ep$/);
      expect(caps.plain).toBe('');
      const stat = readFileSync(path.join(cache, 'statcache.json'), 'utf8');
      expect(stat).toContain(`"caps":"${Buffer.from(xattrHex(tool), 'hex').toString('base64')}"`);
      expect(stat).toContain('"caps":null');
      // Rebuilt with getcap out of reach: the stat cache answers, the same image.
      const again = cli(['build', proj, '--cache', cache, '--out', path.join(dir, 'out2'), '--json', '--no-sbom'], { env: { ...process.env, PATH: '/nonexistent' } });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).not.toMatch(/getcap not found/);
      expect((JSON.parse(again.stdout) as { manifestDigest: string }).manifestDigest).toBe(first.manifestDigest);

      if (dockerWorks()) {
        expect(sh(DOCKER, ['load', '-i', path.join(out, 'capsimg.docker.tar')]).code).toBe(0);
        expect(sh(DOCKER, ['tag', 'capsimg:latest', `${tag}:a`]).code).toBe(0);
        const run = (argv: string[]) => sh(DOCKER, ['run', '--rm', '--user', '65534', '--network', 'none', `${tag}:a`, ...argv]);
        const withCap = run([tool, 'chown', '65534', plain]);
        expect(withCap.code, withCap.stderr).toBe(0);
        const without = run([plain, 'chown', '65534', tool]);
        expect(without.code).not.toBe(0);
        expect(without.stderr).toMatch(/Operation not permitted/);
      }

      expect(sh('setcap', ['-r', tool]).code).toBe(0);
      const second = build();
      expect(second.manifestDigest).not.toBe(first.manifestDigest);
      expect(unpackedCaps('x2').tool).toBe('');
    });
  });
});
