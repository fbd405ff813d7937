// debootstrap. As real root it simply runs. Without root, the seed cookbook's way: the first stage unpacks
// under fakeroot, which saves the owners and modes dpkg asked for in a state
// file; the second stage runs in a chroot (a user namespace gives a normal
// user the right to chroot) under the same fakeroot, whose library we place
// at its own path inside the target so the chrooted dpkg and maintainer
// scripts load it; tar under fakeroot then writes the owners from the state.
//
// debootstrap does not take "--": its option loop stops at the first word
// that does not start with "-". The suite comes first of the positionals and
// its grammar (shared/grammar.ts) starts it with a letter or digit, so it,
// the target and the mirror after it are never options; components and
// package names are checked by Debian's grammars (no ",") inside option values.
import { promises as fs, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { SourceOf } from '../../../../shared/recipe';
import { DEFAULT_PATH } from '../../model/runspec';
import { requireTool } from '../../tools/registry';
import { RecipeError, type SourceContext } from '../types';
import type { DebianProgress } from './progress';
import { streamTool, type StreamResult } from './stream';

/** Recipe variants as debootstrap names them; debootstrap's default is required + important. */
const VARIANTS: Partial<Record<SourceOf<'debian'>['variant'], string[]>> = {
  minbase: ['--variant=minbase'],
  buildd: ['--variant=buildd'],
  important: [],
};

/** Where fakeroot's SysV library lives on the host, found once. */
async function fakerootLibrary(): Promise<string> {
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']) {
    const lib = path.join(dir, 'libfakeroot', 'libfakeroot-sysv.so');
    if (await fs.access(lib).then(() => true, () => false)) return lib;
  }
  throw new Error('libfakeroot-sysv.so not found: reinstall the fakeroot package (apt-get install --reinstall fakeroot)');
}

export interface DebootstrapRun {
  s: SourceOf<'debian'>;
  mirror: string;
  /** build --locked: the mirror is a local repository of .debs checked against the lock, with no signed Release. */
  unsigned?: boolean;
  /** The .deb pool, given to debootstrap as its --cache-dir (it adds what it downloads). */
  debDir: string;
  /** A scratch folder for the root and fakeroot's state. */
  work: string;
  /** The tarball to write. */
  out: string;
  ctx: SourceContext;
  progress: DebianProgress;
  onProgress: (f: number) => void;
  /** The run's full log. */
  full?: WriteStream;
}

/** The first positional ends debootstrap's options: it must not look like one (the schema already says so). */
function positional(suite: string): string {
  if (suite.startsWith('-')) throw new Error(`debootstrap suite ${JSON.stringify(suite)} would be read as an option`);
  return suite;
}

/** Bootstrap into `out`; returns the failing step's output on failure. */
export async function runDebootstrap(r: DebootstrapRun): Promise<StreamResult> {
  const variant = VARIANTS[r.s.variant];
  if (!variant) throw new RecipeError(`${r.ctx.field}.variant`, `debootstrap has no "${r.s.variant}" variant (it knows minbase, buildd, important): use tool: mmdebstrap`);
  const root = path.join(r.work, 'root');
  const env = { ...process.env, PATH: DEFAULT_PATH, SOURCE_DATE_EPOCH: String(r.ctx.epoch), LC_ALL: 'C.UTF-8', FAKEROOTDONTTRYCHOWN: '1' };
  const stream = (cmd: string, args: string[]) => streamTool(cmd, args, env, r.ctx, r.progress, r.onProgress, r.full);
  const options = [
    ...variant,
    '--verbose',
    `--components=${r.s.components.join(',')}`,
    ...(r.s.include.length ? [`--include=${r.s.include.join(',')}`] : []),
    ...(r.s.exclude.length ? [`--exclude=${r.s.exclude.join(',')}`] : []),
    `--cache-dir=${r.debDir}`,
    ...(r.unsigned ? ['--no-check-gpg'] : []),
  ];
  const purge = ['dpkg', '--purge', '--force-depends', '--force-remove-essential', '--', ...r.s.exclude];
  const tar = ['tar', '-C', root, '--numeric-owner', '--sort=name'];
  // debootstrap's --exclude loses to dependency resolution (apt pulls the keyring back in):
  // what is still there is purged, as the mmdebstrap path does.
  if (process.getuid?.() === 0) {
    // Real root owns files for real: no fakeroot, one run.
    const [debootstrap, chroot] = (['debootstrap', 'chroot'] as const).map(requireTool);
    const whole = await stream(debootstrap, [...options, positional(r.s.suite), root, r.mirror]);
    if (whole.code !== 0) return whole;
    if (r.s.exclude.length) {
      const purged = await stream(chroot, [root, ...purge]);
      if (purged.code !== 0) return purged;
    }
    return stream(tar[0], [...tar.slice(1), '-cf', r.out, '.']);
  }

  const [debootstrap, fakeroot, unshare, chroot] = (['debootstrap', 'fakeroot', 'unshare', 'chroot'] as const).map(requireTool);
  const state = path.join(r.work, 'fakeroot.state');
  const first = await stream(fakeroot, ['-s', state, '--', debootstrap, ...options, '--foreign', positional(r.s.suite), root, r.mirror]);
  if (first.code !== 0) return first;

  const lib = await fakerootLibrary();
  const libDir = path.join(root, path.dirname(lib));
  const placed = !(await fs.access(libDir).then(() => true, () => false));
  if (placed) {
    await fs.mkdir(libDir, { recursive: true });
    await fs.copyFile(lib, path.join(root, lib));
  }
  // A normal user may chroot only inside a user namespace of its own.
  const inRoot = (argv: string[]) => stream(unshare, ['-r', fakeroot, '-i', state, '-s', state, '--', chroot, root, ...argv]);
  const second = await inRoot(['/debootstrap/debootstrap', '--second-stage']);
  if (second.code !== 0) return second;
  if (r.s.exclude.length) {
    const purged = await inRoot(purge);
    if (purged.code !== 0) return purged;
  }
  const exclude = placed ? [`--exclude=.${path.dirname(lib)}`] : [];
  return stream(fakeroot, ['-i', state, '--', ...tar, ...exclude, '-cf', r.out, '.']);
}
