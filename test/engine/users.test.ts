// The users source on an image that keeps group passwords apart (/etc/gshadow,
// as every Debian base does): each group it writes or gives members is in both
// files, so shadow's own checker, grpck, finds the image's databases whole.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, lacks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';

const work = tempDir('sy-users-');

describe.skipIf(lacks('grpck'))('users on a base with /etc/gshadow', () => {
  it('new groups and new members reach /etc/gshadow: grpck -r finds group and gshadow in agreement', () => {
    const p = writeProject(
      path.join(work, 'p'),
      `name: gshadow
layers:
  - name: base
    sources:
      - { kind: file, path: /etc/passwd, content: "root:x:0:0:root:/root:/bin/sh\\n" }
      - { kind: file, path: /etc/shadow, content: "root:*:19000:0:99999:7:::\\n", mode: "0640" }
      - { kind: file, path: /etc/group, content: "root:x:0:\\nstaff:x:50:\\n" }
      - { kind: file, path: /etc/gshadow, content: "root:*::\\nstaff:*::\\n", mode: "0640" }
  - name: people
    sources:
      - kind: users
        groups: [{ name: crew, gid: 2000 }]
        users: [{ name: ava, uid: 1000, groups: [staff, crew] }]
`,
    );
    const b = cli(['build', p, '--cache', path.join(work, 'cache'), '--format', 'rootfs']);
    expect(b.code, b.stderr).toBe(0);
    const root = path.join(work, 'root');
    mkdirSync(root);
    expect(sh('tar', ['-xf', path.join(p, 'out', 'gshadow.rootfs.tar'), '-C', root]).code).toBe(0);
    expect(sh('cat', [path.join(root, 'etc', 'gshadow')]).stdout).toBe('root:*::\nstaff:*::ava\ncrew:!::ava\nava:!::\n');
    const check = sh('grpck', ['-r', '-R', root]);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.code).toBe(0);
  });
});
