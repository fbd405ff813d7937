// The grammars of recipe strings that reach native tools or /etc/passwd:
// known-good values pass, option-shaped and forged ones are refused in words.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { debianPackageProblem, debianWordProblem, mirrorProblem, parseReference, referenceProblem } from '../../shared/grammar';
import { sourceSchema, recipeSchema, imageReference } from '../../shared/recipe';
import { hostArchives } from '../../electron/engine/sources/debian/archives';
import { parseRecipe } from '../../electron/engine/graph/project';
import { mmdebstrapArgs } from '../../electron/engine/sources/debian/mmdebstrap';

const HEX = 'a'.repeat(64);

describe('image references (distribution/reference grammar)', () => {
  it.each([
    ['docker.io/library/debian:bookworm-slim', { domain: 'docker.io', path: 'library/debian', tag: 'bookworm-slim' }],
    ['localhost:5000/a/b:1', { domain: 'localhost:5000', path: 'a/b', tag: '1' }],
    [`x@sha256:${HEX}`, { path: 'x', digest: `sha256:${HEX}` }],
    [`registry.example.com:443/team/app:v1.2_rc@sha256:${HEX}`, { domain: 'registry.example.com:443', path: 'team/app', tag: 'v1.2_rc', digest: `sha256:${HEX}` }],
    ['debian', { path: 'debian' }],
    ['a__b.c-d---e/f', { path: 'a__b.c-d---e/f' }],
    ['[::1]:5000/x:y', { domain: '[::1]:5000', path: 'x', tag: 'y' }],
    [`x:${'t'.repeat(128)}`, { path: 'x', tag: 't'.repeat(128) }],
  ])('%s parses', (ref, want) => {
    expect(parseReference(ref)).toMatchObject(want);
    expect(referenceProblem(ref)).toBeUndefined();
  });

  it.each([
    ['Debian:12', /lower-case/],
    ['docker.io/Library/debian', /lower-case/],
    ['hello world', /contains a space/],
    ['hello\n:x', /contains a newline/],
    ['../x', /no empty, "\." or "\.\." components/],
    ['a/../b', /no empty, "\." or "\.\." components/],
    ['a//b', /no empty/],
    ['-x', /expected an image reference/],
    ['x:-tag', /expected an image reference/],
    ['x:.tag', /expected an image reference/],
    [`x:${'t'.repeat(129)}`, /expected an image reference/],
    ['x@sha256:abc', /expected an image reference/],
    ['a_-b', /expected an image reference/],
    ['a-', /expected an image reference/],
    ['x:', /expected an image reference/],
    ['', /is empty/],
    [`${'a'.repeat(256)}:1`, /at most 255/],
  ])('%j is refused', (ref, why) => {
    expect(parseReference(ref)).toBeUndefined();
    expect(referenceProblem(ref)).toMatch(why);
  });

  it('a recipe tag may not carry a digest, and splits into repository and tag', () => {
    const base = { name: 'app', layers: [{ name: 'l' }] };
    const bad = recipeSchema.safeParse({ ...base, tag: `app@sha256:${HEX}` });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].message).toMatch(/cannot be tagged with a digest/);
    const ok = recipeSchema.parse({ ...base, tag: 'localhost:5000/a/b:1' });
    expect(imageReference(ok)).toEqual({ repository: 'localhost:5000/a/b', tag: '1', full: 'localhost:5000/a/b:1' });
    // Without a tag the name must make a valid NAME:latest.
    expect(recipeSchema.safeParse({ ...base, name: 'a-' }).error?.issues[0].message).toMatch(/"a-:latest" is not a valid image reference/);
  });

  it('a user or group declared twice in one users source is refused at the second (the last used to win silently)', () => {
    const src = (users: unknown[], groups: unknown[]) => recipeSchema.safeParse({ name: 'app', layers: [{ name: 'l', sources: [{ kind: 'users', users, groups }] }] });
    const g = src([], [{ name: 'g1', gid: 100 }, { name: 'g1', gid: 101 }]).error?.issues[0];
    expect([g?.path.join('.'), g?.message]).toEqual(['layers.0.sources.0.groups.1.name', '"g1" is declared twice']);
    const u = src([{ name: 'ava', uid: 1000 }, { name: 'ava', uid: 1001 }], []).error?.issues[0];
    expect([u?.path.join('.'), u?.message]).toEqual(['layers.0.sources.0.users.1.name', '"ava" is declared twice']);
    expect(src([{ name: 'ava', uid: 1000 }], [{ name: 'ava', gid: 1000 }]).success).toBe(true);
  });

  it('a key with a newline (a label\'s) is named as a JSON string in the message, which stays one line', () => {
    let message = '';
    try {
      parseRecipe('name: x\nconfig:\n  labels:\n    "a\\nb": v\nlayers: [{name: l}]\n');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('scratchyard.yaml:4:5: config.labels["a\\nb"]: key "a\\nb": contains a newline (character 2)');
  });

  it('an unquoted mode (YAML reads 0755 as the number 755) is told to be quoted, with the string to write', () => {
    const r = recipeSchema.safeParse({ name: 'app', layers: [{ name: 'l', sources: [{ kind: 'file', path: '/a', content: 'x', mode: 755 }] }] });
    expect(r.error?.issues[0].message).toBe('write the mode quoted, as an octal string ("0755"): unquoted, YAML reads it as the number 755');
  });

  it('an epoch past what tar and cpio time fields hold is refused at its field', () => {
    const base = { name: 'app', layers: [{ name: 'l' }] };
    expect(recipeSchema.parse({ ...base, epoch: 2 ** 31 - 1 }).epoch).toBe(2 ** 31 - 1);
    for (const epoch of [2 ** 31, 2 ** 32, 99999999999999]) {
      const bad = recipeSchema.safeParse({ ...base, epoch });
      expect(bad.error?.issues[0].path).toEqual(['epoch']);
      expect(bad.error?.issues[0].message).toMatch(/at most 2147483647 \(2038-01-19T03:14:07Z\)/);
    }
  });
});

describe('Debian mirrors and names', () => {
  it.each(['auto', 'http://deb.debian.org/debian', 'https://user:pw@mirror.example:8443/debian/', 'file:///srv/mirror', 'file:/srv/mirror'])('%s is a mirror', (m) => {
    expect(mirrorProblem(m)).toBeUndefined();
  });

  it.each([
    ['--setup-hook=touch /tmp/x', /expected "auto" or an http/],
    ['-', /expected "auto"/],
    ['/srv/mirror', /expected "auto"/],
    ['deb http://deb.debian.org/debian bookworm main', /expected "auto"/],
    ['ftp://ftp.debian.org/debian', /expected "auto"/],
    ['http://a b/debian', /may not contain spaces/],
    ['http://x/"$(id)"', /may not contain spaces, quotes/],
    ['http:///debian', /names no host/],
    ['http://x/\n--setup-hook=x', /contains a newline/],
  ])('%j is refused', (m, why) => {
    expect(mirrorProblem(m)).toMatch(why);
  });

  it('package, suite and component names follow Debian grammars', () => {
    for (const ok of ['libc6', 'g++', 'ca-certificates', 'libstdc++6', 'python3.11']) expect(debianPackageProblem(ok)).toBeUndefined();
    for (const bad of ['--foo', 'a', 'Foo', 'a b', 'x;touch', 'a,b']) expect(debianPackageProblem(bad)).toMatch(/expected a Debian package name/);
    for (const ok of ['bookworm', 'stable-updates', 'non-free-firmware', '12']) expect(debianWordProblem(ok, 'suite')).toBeUndefined();
    for (const bad of ['-x', 'main,contrib', 'Main', 'a/b', '']) expect(debianWordProblem(bad, 'component')).toMatch(/expected a Debian component/);
  });

  it('mmdebstrap gets "--" before its positionals, dpkg before the packages it purges', () => {
    const s = sourceSchema.parse({ kind: 'debian', exclude: ['apt'] });
    if (s.kind !== 'debian') throw new Error('not debian');
    const args = mmdebstrapArgs(s, ['deb http://deb.debian.org/debian bookworm main', 'deb http://deb.debian.org/debian-security bookworm-security main'], '/tmp/debs', '/tmp/out.tar');
    expect(args.slice(-5)).toEqual(['--', 'bookworm', '/tmp/out.tar', 'deb http://deb.debian.org/debian bookworm main', 'deb http://deb.debian.org/debian-security bookworm-security main']);
    expect(args.find((a) => a.includes('dpkg --purge'))).toMatch(/ -- apt$/);
  });

  describe("the host's apt sources (mirror: auto)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sy-apt-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const apt = (name: string, files: Record<string, string>) => {
      const d = path.join(dir, name);
      mkdirSync(path.join(d, 'sources.list.d'), { recursive: true });
      for (const [f, text] of Object.entries(files)) writeFileSync(path.join(d, f), text);
      return d;
    };

    it('the suite, its -updates and -security archives are read from deb822 and one-line sources', async () => {
      const d = apt('good', {
        'sources.list.d/debian.sources': '# comment\nTypes: deb\nURIs: http://security.debian.org/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n',
        'sources.list.d/main.sources': 'Types: deb deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n',
        'sources.list.d/old.list.disabled': 'deb http://never.example/debian bookworm main\n',
      });
      expect(await hostArchives('bookworm', ['main'], d)).toEqual([
        { uri: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main'] },
        { uri: 'http://deb.debian.org/debian', suite: 'bookworm-updates', components: ['main'] },
        { uri: 'http://security.debian.org/debian-security', suite: 'bookworm-security', components: ['main'] },
      ]);
      const one = apt('oneline', { 'sources.list': '# deb http://x.example/debian bookworm main\ndeb [arch=amd64] http://m.example/debian bookworm main\ndeb http://m.example/debian-security bookworm-security main\n' });
      expect((await hostArchives('bookworm', ['main', 'contrib'], one)).map((a) => `${a.uri} ${a.suite} ${a.components.join(',')}`)).toEqual(['http://m.example/debian bookworm main,contrib', 'http://m.example/debian-security bookworm-security main,contrib']);
    });

    it('an option-shaped mirror there is refused, naming the file', async () => {
      const d = apt('hostile', { 'sources.list': 'deb --setup-hook=touch/tmp/x bookworm main\n' });
      await expect(hostArchives('bookworm', ['main'], d)).rejects.toThrow(`the host's apt sources (${path.join(d, 'sources.list')}) name the mirror "--setup-hook=touch/tmp/x", which is refused: expected "auto" or an http`);
    });
  });
});
