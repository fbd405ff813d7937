// Build steps (kind: run) and build-only stages: what a step changes becomes
// its layer, a failing step fails the build by name, mounts leave no trace.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, lacks, sh, tempDir } from '../helpers/env';
import { writeProject } from '../helpers/projects';
import { EngineSession } from '../../electron/host/session';

const work = tempDir('sy-steps-');
const cache = path.join(work, 'cache');
const asRoot = process.getuid?.() === 0;

const recipe = (step: string, extra = '') => `name: steps
config: { cmd: ["/bin/sh", "-c", "cat /srv/config"] }
${extra}
layers:
  - name: base
    sources:
      - kind: busybox
      - kind: file
        path: /bin/rmme
        content: bye
      - kind: file
        path: /etc/conf
        content: a
  - name: step
    sources:
${step}
`;

const files = (out: string) => out.split('\n').filter(Boolean).map((l) => l.split(' ')[0]);

describe.skipIf(lacks('unshare'))('run steps', () => {
  let project: string;
  beforeAll(() => {
    project = writeProject(
      path.join(work, 'basic'),
      recipe(`      - kind: run
        command: "rm /bin/rmme && echo hello > /etc/motd && chmod 600 /etc/conf && mkdir -p /home/ava && chown 1000:1000 /home/ava 2>/dev/null; echo step-output; mkdir -p /srv && echo cfg > /srv/config"
`),
    );
  });

  it('captures additions, modifications and deletions as the layer', () => {
    const r = cli(['ls', project, '--cache', cache, '--layer', 'step']);
    expect(r.stderr).toContain('step-output');
    expect(r.code).toBe(0);
    expect(files(r.stdout)).toEqual(expect.arrayContaining(['./bin/.wh.rmme', './etc/motd', './etc/conf', './home/ava', './srv/config']));
    expect(r.stdout).toMatch(/^\.\/etc\/conf 0100600-0-0-/m);
    // As real root the step's chown is real; in a user namespace only root exists.
    expect(r.stdout).toMatch(asRoot ? /^\.\/home\/ava 0040755-1000-1000-0$/m : /^\.\/home\/ava 0040755-0-0-0$/m);
    expect(files(r.stdout).some((f) => f.startsWith('./proc') || f.startsWith('./dev') || f === './tmp')).toBe(false);
    expect(cli(['run', project, '--cache', cache]).stdout).toBe('cfg\n');
  });

  it('is cached: an unchanged step does not run again', () => {
    const r = cli(['build', project, '--cache', cache, '--format', 'rootfs']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('step-output');
  });

  it('a failing step fails the build and names it', () => {
    const p = writeProject(path.join(work, 'fail'), recipe('      - kind: run\n        command: "echo trying; exit 3"\n'));
    const r = cli(['build', p, '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('layers[1].sources[0]: the step failed with exit code 3: echo trying; exit 3');
    expect(r.stderr).toContain('trying');
  });

  it('has no network unless asked', () => {
    const p = writeProject(path.join(work, 'net'), recipe('      - kind: run\n        command: "mkdir -p /srv && grep -c : /proc/net/dev > /srv/config"\n'));
    expect(cli(['run', p, '--cache', cache]).stdout).toBe('1\n'); // lo only
  });
});

describe.skipIf(lacks('unshare'))('stages and mounts', () => {
  const stages = `stages:
  - name: tools
    layers:
      - name: t
        sources:
          - kind: busybox
          - kind: file
            path: /opt/tools/render
            mode: "0755"
            content: |
              #!/bin/sh
              echo "rendered by a tool that is not in the image"
`;

  it('a stage mounted during a step leaves only an empty mount point', () => {
    const p = writeProject(
      path.join(work, 'mount'),
      recipe(
        `      - kind: run
        command: "mkdir -p /srv && /.tools/opt/tools/render > /srv/config"
        mounts: [{ stage: tools, at: /.tools }]
`,
        stages,
      ),
    );
    const ls = cli(['ls', p, '--cache', cache]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^\.\/\.tools 0040755-0-0-0$/m);
    expect(files(ls.stdout).filter((f) => f.startsWith('./.tools/'))).toEqual([]);
    expect(files(ls.stdout)).not.toContain('./opt/tools/render');
    expect(cli(['run', p, '--cache', cache]).stdout).toBe('rendered by a tool that is not in the image\n');
  });

  it('keepMountPoint: false leaves nothing at all; host mounts work the same way', () => {
    const p = writeProject(
      path.join(work, 'nomount'),
      recipe(
        `      - kind: run
        command: "mkdir -p /srv && cat /mnt/host/hostname > /srv/config"
        mounts: [{ host: /etc, at: /mnt/host }]
        keepMountPoint: false
`,
      ),
    );
    const ls = cli(['ls', p, '--cache', cache]);
    expect(ls.code).toBe(0);
    expect(files(ls.stdout).filter((f) => f.startsWith('./mnt'))).toEqual([]);
  });

  it('the engine host shows a stage\'s tree (never exported) as a view', async () => {
    const p = writeProject(path.join(work, 'stageview'), recipe('      - kind: dir\n        path: /srv\n', stages));
    const session = new EngineSession({ project: p, cacheDir: cache, emit: () => {} });
    try {
      expect(await session.handle({ cmd: 'build.start' })).toMatchObject({ ok: true });
      const page = (await session.handle({ cmd: 'tree.page', layer: 'stage:tools', dir: '/opt/tools', offset: 0, limit: 10 })) as { rows: { name: string; layer: string }[] };
      expect(page.rows.map((r) => [r.name, r.layer])).toEqual([['render', 'stage:tools']]);
      const image = (await session.handle({ cmd: 'filelist.get', layer: null })) as { lines: string[] };
      expect(image.lines.some((l) => l.startsWith('./opt'))).toBe(false);
    } finally {
      session.dispose();
    }
  });

  it("keeps the hard links a step makes, new files' and the base's, as GNU tar reads them", () => {
    const p = writeProject(path.join(work, 'links'), recipe('      - kind: run\n        command: "echo hi > /etc/one && ln /etc/one /etc/two && ln /etc/conf /etc/conf2"\n'));
    const r = cli(['build', p, '--cache', cache, '--format', 'rootfs']);
    expect(r.code, r.stderr).toBe(0);
    const listing = sh('tar', ['-tvf', path.join(p, 'out/steps.rootfs.tar')]).stdout;
    expect(listing).toMatch(/ etc\/two link to etc\/one$/m);
    expect(listing).toMatch(/ etc\/conf2 link to etc\/conf$/m);
    // The step's layer carries /etc/conf again: its inode gained a name.
    expect(files(cli(['ls', p, '--cache', cache, '--layer', 'step']).stdout)).toEqual(expect.arrayContaining(['./etc/conf', './etc/conf2', './etc/one', './etc/two']));
  });

  it('copy from: takes files out of a stage', () => {
    const p = writeProject(path.join(work, 'copyfrom'), recipe('      - kind: copy\n        from: tools\n        src: /opt/tools/render\n        dest: /usr/bin/\n', stages));
    const ls = cli(['ls', p, '--cache', cache]).stdout;
    expect(ls).toMatch(/^\.\/usr\/bin\/render 0100755-0-0-/m);
    expect(cli(['build', writeProject(path.join(work, 'nostage'), recipe('      - kind: copy\n        from: nope\n        src: /x\n        dest: /x\n')), '--cache', cache]).stderr).toMatch(/layers\[1\]\.sources\[0\]\.from: no stage named "nope"/);
  });
});
