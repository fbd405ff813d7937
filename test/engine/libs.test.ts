// `kind: libs` resolves each program against the tree it came from: a program
// compiled here (gcc, at test time) is put in a stage built without Debian,
// copied out with `from:`, and its library, interpreter and symbol versions
// come from (and are checked against) that stage and the image, never the host.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, lacks, sh, tempDir } from '../helpers/env';
import { arena, boundedCli, expectContained, expectRefused } from '../helpers/hostile';
import { writeProject } from '../helpers/projects';

const work = tempDir('sy-libs-');
const cache = path.join(work, 'cache');
const canRun = !lacks('gcc', 'unshare') && process.arch === 'x64';

/** Compile into `dir`: libfoo.so.1.0 (SONAME libfoo.so.1) and `prog` linked to it. */
function compile(dir: string, opts: { progFlags?: string[]; libVersion?: string; progAgainstVersion?: string } = {}): void {
  mkdirSync(dir, { recursive: true });
  const c = (name: string, text: string) => writeFileSync(path.join(dir, name), text);
  c('foo.c', 'int foo(void) { return 42; }\n');
  c('prog.c', '#include <stdio.h>\nint foo(void);\nint main(void) { printf("foo says %d\\n", foo()); return 0; }\n');
  const gcc = (args: string[]) => {
    const r = sh('gcc', args, { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  };
  const lib = (out: string, version?: string) => {
    const script = version ? [`-Wl,--version-script=${version}.map`] : [];
    if (version) c(`${version}.map`, `${version} { global: foo; local: *; };\n`);
    gcc(['-shared', '-fPIC', '-o', out, '-Wl,-soname,libfoo.so.1', ...script, 'foo.c']);
  };
  lib('libfoo.so.1.0', opts.libVersion);
  // Link the program against another build of the library when its versions must differ.
  mkdirSync(path.join(dir, 'link'), { recursive: true });
  lib('link/libfoo.so', opts.progAgainstVersion ?? opts.libVersion);
  gcc(['-o', 'prog', 'prog.c', '-Llink', '-lfoo', ...(opts.progFlags ?? [])]);
}

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const INTERP = '/lib64/ld-linux-x86-64.so.2';

/** A stage holding libc and the interpreter (from the host, as any tree could), plus `extra` sources. */
const stage = (extra: string) => `stages:
  - name: build
    layers:
      - name: sysroot
        sources:
          - kind: host
            paths: [${LIBC}, ${INTERP}]
${extra}`;

const recipe = (name: string, stageSources: string, appSources: string, below = '') => `name: ${name}
config:
  entrypoint: ["/usr/local/bin/prog"]
${stage(stageSources)}
layers:
${below}  - name: libs
    sources:
      - kind: libs
  - name: app
    sources:
${appSources}`;

const copyOut = (src: string, dest = '/usr/local/bin/prog') => `      - kind: copy
        from: build
        src: ${src}
        dest: ${dest}
`;

const copyIn = (src: string, dest: string, indent = '          ') => `${indent}- kind: copy
${indent}  src: ${src}
${indent}  dest: ${dest}
`;

const symlink = (p: string, target: string, indent = '          ') => `${indent}- kind: symlink
${indent}  path: ${p}
${indent}  target: ${target}
`;

/** Paths of the image, from `scratchyard ls` (a line per path: its mode, owner and content digest). */
function listing(project: string): string {
  const r = cli(['ls', project, '--cache', cache]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

const has = (ls: string, p: string) => new RegExp(`^\\.${p.replace(/[.+]/g, '\\$&')}\\s`, 'm').test(ls);

describe.skipIf(!canRun)('kind: libs against the tree a program came from', () => {
  it('brings the library from the stage with its symlink, and the interpreter: the image runs', () => {
    const p = path.join(work, 'stage-lib');
    compile(path.join(p, 'b'));
    writeProject(
      p,
      recipe(
        'stagelib',
        copyIn('b/libfoo.so.1.0', '/usr/lib/x86_64-linux-gnu/libfoo.so.1.0') + symlink('/usr/lib/x86_64-linux-gnu/libfoo.so.1', 'libfoo.so.1.0') + copyIn('b/prog', '/src/prog'),
        copyOut('/src/prog'),
      ),
    );
    // The host has no libfoo at all: only the stage can provide it.
    expect(sh('sh', ['-c', 'ls /usr/lib/x86_64-linux-gnu/libfoo* /lib/x86_64-linux-gnu/libfoo* 2>/dev/null | wc -l']).stdout.trim()).toBe('0');
    const ls = listing(p);
    for (const f of ['/usr/lib/x86_64-linux-gnu/libfoo.so.1', '/usr/lib/x86_64-linux-gnu/libfoo.so.1.0', INTERP, LIBC, '/usr/local/bin/prog']) expect(has(ls, f), `${f} in\n${ls}`).toBe(true);
    expect(ls).not.toMatch(/^\.\/src\//m); // the stage's own files stay in the stage
    const r = cli(['run', p, '--runner', 'chroot', '--cache', cache]);
    expect(r.stderr).not.toMatch(/not found|No such file/);
    expect(r.stdout).toBe('foo says 42\n');
    expect(r.code).toBe(0);
  });

  it('reuses a library the image already has instead of copying the stage one', () => {
    const p = path.join(work, 'in-image');
    compile(path.join(p, 'b'));
    const below = `  - name: base
    sources:
${copyIn('b/libfoo.so.1.0', '/lib/x86_64-linux-gnu/libfoo.so.1', '      ')}`;
    writeProject(p, recipe('inimage', copyIn('b/libfoo.so.1.0', '/usr/lib/x86_64-linux-gnu/libfoo.so.1') + copyIn('b/prog', '/src/prog'), copyOut('/src/prog'), below));
    const ls = listing(p);
    expect(has(ls, '/lib/x86_64-linux-gnu/libfoo.so.1')).toBe(true);
    // The loader finds the image's copy first (/lib/<triplet> before /usr/lib/<triplet>): no second one.
    expect(has(ls, '/usr/lib/x86_64-linux-gnu/libfoo.so.1')).toBe(false);
    expect(cli(['run', p, '--runner', 'chroot', '--cache', cache]).stdout).toBe('foo says 42\n');
  });

  for (const [tag, flag] of [
    ['RUNPATH', '-Wl,--enable-new-dtags'],
    ['RPATH', '-Wl,--disable-new-dtags'],
  ] as const) {
    it(`follows ${tag} $ORIGIN/../lib inside the stage`, () => {
      const p = path.join(work, `origin-${tag}`);
      compile(path.join(p, 'b'), { progFlags: [flag, '-Wl,-rpath,$ORIGIN/../lib'] });
      const dyn = sh('readelf', ['-d', path.join(p, 'b/prog')]).stdout;
      expect(dyn).toContain(`(${tag})`);
      writeProject(p, recipe(`origin${tag.toLowerCase()}`, copyIn('b/libfoo.so.1.0', '/app/lib/libfoo.so.1') + copyIn('b/prog', '/app/bin/prog'), copyOut('/app/bin/prog', '/app/bin/prog')).replace('/usr/local/bin/prog', '/app/bin/prog'));
      const ls = listing(p);
      expect(has(ls, '/app/lib/libfoo.so.1')).toBe(true);
      expect(cli(['run', p, '--runner', 'chroot', '--cache', cache]).stdout).toBe('foo says 42\n');
    });
  }

  it('$ORIGIN is where the program lands in the image: moved away from its libraries, the build says where it looked', () => {
    const p = path.join(work, 'origin-moved');
    compile(path.join(p, 'b'), { progFlags: ['-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN/../lib'] });
    writeProject(p, recipe('originmoved', copyIn('b/libfoo.so.1.0', '/app/lib/libfoo.so.1') + copyIn('b/prog', '/app/bin/prog'), copyOut('/app/bin/prog')));
    const r = cli(['build', p, '--cache', cache, '--out', path.join(work, 'origin-moved-out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('libfoo.so.1 (needed by /usr/local/bin/prog (/app/bin/prog in stage "build"); looked in the image, then stage "build": /usr/local/bin/../lib, ');
  });

  it("honours the stage's ld.so.conf and its include globs", () => {
    const p = path.join(work, 'ldsoconf');
    compile(path.join(p, 'b'));
    writeFileSync(path.join(p, 'b/ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n');
    writeFileSync(path.join(p, 'b/foo.conf'), '# from the stage\n/opt/foo/lib\n');
    writeProject(
      p,
      recipe(
        'ldsoconf',
        copyIn('b/ld.so.conf', '/etc/ld.so.conf') + copyIn('b/foo.conf', '/etc/ld.so.conf.d/foo.conf') + copyIn('b/libfoo.so.1.0', '/opt/foo/lib/libfoo.so.1') + copyIn('b/prog', '/src/prog'),
        copyOut('/src/prog'),
      ),
    );
    expect(has(listing(p), '/opt/foo/lib/libfoo.so.1')).toBe(true);
    // The image has no ld.so.cache: the build says the loader will not look in /opt/foo/lib at run time, and what to do.
    const r = cli(['build', p, '--cache', cache, '--out', path.join(work, 'ldsoconf-out')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: /opt/foo/lib/libfoo.so.1 was found through stage "build"'s ld.so.conf (/opt/foo/lib), and an image has no ld.so.cache: at run time the loader will not look there (set LD_LIBRARY_PATH=/opt/foo/lib in config.env, or put the library in /usr/lib)`);
  });

  it('a symbol version the library lacks is a build error naming program, library and version', () => {
    const p = path.join(work, 'versions');
    compile(path.join(p, 'b'), { libVersion: 'FOO_1.0', progAgainstVersion: 'FOO_2.0' });
    expect(sh('readelf', ['-V', path.join(p, 'b/prog')]).stdout).toContain('FOO_2.0');
    writeProject(p, recipe('versions', copyIn('b/libfoo.so.1.0', '/usr/lib/x86_64-linux-gnu/libfoo.so.1') + copyIn('b/prog', '/src/prog'), copyOut('/src/prog')));
    const r = cli(['build', p, '--cache', cache, '--out', path.join(work, 'versions-out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layers\[0\]\.sources\[0\]/);
    expect(r.stderr).toMatch(/\/usr\/local\/bin\/prog .*needs version FOO_2\.0 of libfoo\.so\.1, but \/usr\/lib\/x86_64-linux-gnu\/libfoo\.so\.1 \(from stage "build"\) defines only FOO_1\.0/);
  });

  it('checks versions against the library the image will map, not the newer one in the stage', () => {
    const p = path.join(work, 'image-versions');
    // b/libfoo.so.1.0 defines FOO_1.0; b/link/libfoo.so, which prog was linked against, FOO_2.0.
    compile(path.join(p, 'b'), { libVersion: 'FOO_1.0', progAgainstVersion: 'FOO_2.0' });
    const below = `  - name: base
    sources:
${copyIn('b/libfoo.so.1.0', '/lib/x86_64-linux-gnu/libfoo.so.1', '      ')}`;
    writeProject(p, recipe('imageversions', copyIn('b/link/libfoo.so', '/usr/lib/x86_64-linux-gnu/libfoo.so.1') + copyIn('b/prog', '/src/prog'), copyOut('/src/prog'), below));
    const r = cli(['build', p, '--cache', cache, '--out', path.join(work, 'image-versions-out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs version FOO_2.0 of libfoo.so.1, but /lib/x86_64-linux-gnu/libfoo.so.1 (from the image) defines only FOO_1.0');
  });

  // ld.so joins $ORIGIN/L/../lib and the kernel follows L before "..": the library is where L leads, one folder up, not beside L.
  it('follows an RPATH that climbs out through a symlink (L/../lib), and the image walks it the same way', () => {
    const p = path.join(work, 'origin-climb');
    compile(path.join(p, 'b'), { progFlags: ['-Wl,--disable-new-dtags', '-Wl,-rpath,$ORIGIN/L/../lib'] });
    writeProject(
      p,
      recipe('originclimb', copyIn('b/libfoo.so.1.0', '/opt/real/lib/libfoo.so.1') + copyIn('b/prog', '/app/bin/prog') + symlink('/app/bin/L', '../../opt/real/sub') + '          - kind: dir\n            path: /opt/real/sub\n', copyOut('/app/bin/prog', '/app/bin/prog')).replace('/usr/local/bin/prog', '/app/bin/prog'),
    );
    const r = cli(['build', p, '--cache', cache, '--out', path.join(work, 'origin-climb-out')]);
    expect(r.code, r.stderr).toBe(0);
    const ls = listing(p);
    // Lexically, /app/bin/L/../lib is /app/bin/lib: nothing may be put there.
    expect(has(ls, '/app/bin/lib/libfoo.so.1')).toBe(false);
    expect(has(ls, '/opt/real/lib/libfoo.so.1')).toBe(true);
    expect(ls).toMatch(/^\.\/app\/bin\/L 0120777-/m);
    expect(has(ls, '/opt/real/sub')).toBe(true);
    expect(cli(['run', p, '--runner', 'chroot', '--cache', cache]).stdout).toBe('foo says 42\n');
  });

  it('the same from this machine: a host program whose RPATH climbs out through a symlink runs in the image', () => {
    const host = path.join(work, 'host-climb');
    compile(path.join(host, 'b'), { progFlags: ['-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN/L/../lib'] });
    mkdirSync(path.join(host, 'real/lib'), { recursive: true });
    mkdirSync(path.join(host, 'real/sub'), { recursive: true });
    mkdirSync(path.join(host, 'app/bin'), { recursive: true });
    sh('cp', [path.join(host, 'b/libfoo.so.1.0'), path.join(host, 'real/lib/libfoo.so.1')]);
    sh('cp', [path.join(host, 'b/prog'), path.join(host, 'app/bin/prog')]);
    symlinkSync(path.join(host, 'real/sub'), path.join(host, 'app/bin/L'));
    expect(sh(path.join(host, 'app/bin/prog'), []).stdout).toBe('foo says 42\n');
    const p = path.join(work, 'host-climb-project');
    writeProject(p, `name: hostclimb\nconfig:\n  entrypoint: ["${host}/app/bin/prog"]\nlayers:\n  - name: app\n    sources:\n      - kind: host\n        paths: [${host}/app/bin/prog]\n        libs: true\n`);
    const r = cli(['build', p, '--cache', cache, '--out', path.join(work, 'host-climb-out')]);
    expect(r.code, r.stderr).toBe(0);
    const ls = listing(p);
    expect(has(ls, `${host}/real/lib/libfoo.so.1`)).toBe(true);
    expect(has(ls, `${host}/app/bin/lib/libfoo.so.1`)).toBe(false);
    expect(cli(['run', p, '--runner', 'chroot', '--cache', cache]).stdout).toBe('foo says 42\n');
  });

  it('a library whose NEEDED only a library loaded by path meets (java\'s libjava.so and server/libjvm.so) builds; a program\'s does not', () => {
    const host = path.join(work, 'preloaded');
    mkdirSync(path.join(host, 'lib/server'), { recursive: true });
    writeFileSync(path.join(host, 'jvm.c'), 'int jvm(void) { return 7; }\n');
    writeFileSync(path.join(host, 'java.c'), 'int jvm(void);\nint java(void) { return jvm(); }\n');
    writeFileSync(path.join(host, 'main.c'), 'int jvm(void);\nint main(void) { return jvm(); }\n');
    const gcc = (args: string[]) => expect(sh('gcc', args, { cwd: host }).code).toBe(0);
    gcc(['-shared', '-fPIC', '-o', 'lib/server/libjvm.so', '-Wl,-soname,libjvm.so', 'jvm.c']);
    // Linked against server/, found at run time only because the launcher loaded libjvm.so by path first.
    gcc(['-shared', '-fPIC', '-o', 'lib/libjava.so', 'java.c', '-Llib/server', '-ljvm', '-Wl,-rpath,$ORIGIN']);
    gcc(['-o', 'lib/prog', 'main.c', '-Llib/server', '-ljvm', '-Wl,-rpath,$ORIGIN']);
    const recipe = (paths: string[]) => `name: preloaded\nlayers:\n  - name: app\n    sources:\n      - kind: host\n        paths: [${paths.join(', ')}]\n        libs: true\n`;
    const libs = writeProject(path.join(work, 'preloaded-libs'), recipe([`${host}/lib/libjava.so`, `${host}/lib/server/libjvm.so`]));
    const ok = cli(['build', libs, '--cache', cache, '--out', path.join(work, 'preloaded-out')]);
    expect(ok.code, ok.stderr).toBe(0);
    // A program is started by exec: nothing is loaded before its NEEDED are searched for.
    const prog = writeProject(path.join(work, 'preloaded-prog'), recipe([`${host}/lib/prog`, `${host}/lib/server/libjvm.so`]));
    const bad = cli(['build', prog, '--cache', cache, '--out', path.join(work, 'preloaded-prog-out')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`libjvm.so (needed by ${host}/lib/prog;`);
  });

  it('a library found nowhere names the trees and folders searched', () => {
    const p = path.join(work, 'missing');
    compile(path.join(p, 'b'));
    writeProject(p, recipe('missing', copyIn('b/prog', '/src/prog'), copyOut('/src/prog')));
    const r = cli(['build', p, '--cache', cache, '--out', path.join(work, 'missing-out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('libfoo.so.1 (needed by /usr/local/bin/prog (/src/prog in stage "build"); looked in the image, then stage "build": /lib/x86_64-linux-gnu, /lib)'); // the system folders the stage has
  });
});

/** The file offset of the dynamic entry with `tag` in a 64-bit little-endian ELF. */
function dynamicEntry(elf: Buffer, tag: bigint): number {
  const phoff = Number(elf.readBigUInt64LE(32));
  const phnum = elf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * 56;
    if (elf.readUInt32LE(ph) !== 2) continue;
    const off = Number(elf.readBigUInt64LE(ph + 8));
    for (let o = off; ; o += 16) {
      const t = elf.readBigUInt64LE(o);
      if (t === tag) return o;
      if (t === 0n) break;
    }
  }
  throw new Error(`no dynamic tag ${tag}`);
}

describe.skipIf(!canRun)('hostile trees and ELF files', () => {
  const a = arena('sy-libs-hostile-');

  /** Build a project whose stage has `stageSources`; `spoil` writes hostile files into its b/ folder (the compiled prog is b/prog). */
  const build = (name: string, stageSources: string, spoil?: (b: string) => void) => {
    const p = path.join(a.dir, name);
    compile(path.join(p, 'b'));
    spoil?.(path.join(p, 'b'));
    writeProject(p, recipe(name, stageSources, copyOut('/src/prog')));
    return expectContained(a, () => boundedCli(['build', p, '--cache', a.cache, '--out', a.out], { timeoutMs: 60_000 }));
  };

  it('a truncated program', () => {
    const r = build('truncated', copyIn('b/short', '/src/prog'), (b) => writeFileSync(path.join(b, 'short'), readFileSync(path.join(b, 'prog')).subarray(0, 200)));
    expectRefused(r, 2, /\/usr\/local\/bin\/prog .*truncated/);
  });

  it('a program whose version-need count is huge', () => {
    const r = build('hugecount', copyIn('b/bad', '/src/prog'), (b) => {
      const prog = readFileSync(path.join(b, 'prog'));
      prog.writeBigUInt64LE(0xffffffffn, dynamicEntry(prog, 0x6fffffffn) + 8); // DT_VERNEEDNUM
      writeFileSync(path.join(b, 'bad'), prog);
    });
    expectRefused(r, 2, /\/usr\/local\/bin\/prog .*DT_VERNEED count 4294967295 is more than the file can hold/);
  });

  it('a program whose needed-library name lies far outside the file', () => {
    const r = build('hugeoffset', copyIn('b/bad', '/src/prog'), (b) => {
      const prog = readFileSync(path.join(b, 'prog'));
      prog.writeBigUInt64LE(0x7fffffffffffn, dynamicEntry(prog, 1n) + 8); // the first DT_NEEDED's string index
      writeFileSync(path.join(b, 'bad'), prog);
    });
    expectRefused(r, 2, /\/usr\/local\/bin\/prog .*dynamic string index 140737488355327 is past DT_STRSZ/);
  });

  it('a loop of symlinks where the library should be', () => {
    const r = build('symloop', symlink('/usr/lib/x86_64-linux-gnu/libfoo.so.1', 'libfoo.so.2') + symlink('/usr/lib/x86_64-linux-gnu/libfoo.so.2', 'libfoo.so.1') + copyIn('b/prog', '/src/prog'));
    expectRefused(r, 2, /libfoo\.so\.1 \(needed by .*too many levels of symbolic links at \/usr\/lib\/x86_64-linux-gnu\/libfoo\.so\.[12] \(in stage "build"\)/);
  });

  it('an ld.so.conf that includes itself', () => {
    const r = build('ldloop', copyIn('b/ld.so.conf', '/etc/ld.so.conf') + copyIn('b/loop.conf', '/etc/ld.so.conf.d/loop.conf') + copyIn('b/prog', '/src/prog'), (b) => {
      writeFileSync(path.join(b, 'ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n');
      writeFileSync(path.join(b, 'loop.conf'), 'include /etc/ld.so.conf\n');
    });
    expectRefused(r, 2, /an include loop in ld\.so\.conf \(in stage "build"\)/);
  });
});

describe('a merged-/usr base (every Debian bookworm base): /bin, /lib, /lib64 are symlinks into /usr', () => {
  // Host binaries and their libraries land through those links, as docker's COPY and tar follow them;
  // they used to be refused ("/bin is a symlink, not a directory"), so no host program could join such a base.
  it.skipIf(lacks('bwrap'))('bash and its libraries land in /usr, the links stay links, and bash runs', () => {
    const p = writeProject(
      path.join(work, 'merged-usr'),
      `name: mergedusr
config:
  entrypoint: ["/bin/bash", "-c", "echo merged-ok"]
layers:
  - name: base
    sources:
      - { kind: dir, path: /usr/bin }
      - { kind: dir, path: /usr/lib }
      - { kind: dir, path: /usr/lib64 }
      - { kind: symlink, path: /bin, target: usr/bin }
      - { kind: symlink, path: /lib, target: usr/lib }
      - { kind: symlink, path: /lib64, target: usr/lib64 }
  - name: tools
    sources:
      - { kind: host, paths: [/bin/bash], libs: true }
`,
    );
    const b = cli(['build', p, '--cache', cache, '--format', 'rootfs']);
    expect(b.code, b.stderr).toBe(0);
    const ls = cli(['ls', p, '--cache', cache]).stdout;
    for (const link of ['bin', 'lib', 'lib64']) expect(ls).toMatch(new RegExp(`^\\./${link} 0120777-`, 'm'));
    expect(ls).toMatch(/^\.\/usr\/bin\/bash 0100755-/m);
    expect(ls).toMatch(/^\.\/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6 /m);
    expect(ls).not.toMatch(/^\.\/(bin|lib|lib64)\/\S+ /m);
    const run = cli(['run', p, '--cache', cache, '--runner', 'chroot']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('merged-ok');
  });
});
