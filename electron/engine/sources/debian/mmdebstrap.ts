// mmdebstrap in its own user namespace (unshare mode as a normal user, root
// mode as root), writing a tarball. The .debs apt has are synced in from the
// cached download before the install and synced out after it.
//
// Recipe values reach mmdebstrap only in checked shapes (shared/grammar.ts):
// variant from an enum, components and package names by Debian's grammars
// (no ",", no spaces, no shell characters: they also go into a hook's shell
// command), suite and mirrors (sources.list lines of checked words) as positionals after "--" (mmdebstrap's
// Getopt::Long permutes, so without it an option-shaped positional would be
// read as an option, e.g. a mirror "--setup-hook=…").
import type { SourceOf } from '../../../../shared/recipe';

/**
 * `mirrors`: sources.list lines (the suite, -updates, -security; or a locked
 * build's local repository). `listsDir`: where dpkg's log and the archives'
 * (In)Release files are copied before the cleanup removes them, for the lock.
 */
export function mmdebstrapArgs(s: SourceOf<'debian'>, mirrors: string[], debDir: string, out: string, listsDir?: string): string[] {
  return [
    '--verbose',
    `--variant=${s.variant}`,
    `--components=${s.components.join(',')}`,
    ...(s.include.length ? [`--include=${s.include.join(',')}`] : []),
    '--format=tar',
    // Keep the Essential packages' .debs too, or the cached download would lack most of minbase.
    '--skip=essential/unlink',
    `--setup-hook=mkdir -p "$1"/var/cache/apt/archives/`,
    `--setup-hook=sync-in ${debDir} /var/cache/apt/archives/`,
    `--customize-hook=sync-out /var/cache/apt/archives ${debDir}`,
    // Before mmdebstrap's cleanup removes them: dpkg's log (the install order) and the archives' Release files.
    ...(listsDir ? [`--customize-hook=cp "$1"/var/log/dpkg.log "$1"/var/lib/apt/lists/*Release ${listsDir}/ 2>/dev/null || true`] : []),
    // mmdebstrap has no --exclude: purge what the recipe excludes once everything is in
    // (dependencies be damned, as with debootstrap's --exclude).
    ...(s.exclude.length ? [`--customize-hook=chroot "$1" dpkg --purge --force-depends --force-remove-essential -- ${s.exclude.join(' ')}`] : []),
    '--',
    s.suite,
    out,
    ...mirrors,
  ];
}
