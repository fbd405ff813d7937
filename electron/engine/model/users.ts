// config.user resolved the way docker (runc) resolves it: against the IMAGE's
// own /etc/passwd and /etc/group, never the host's. Pure: the caller reads
// the two files from the image tree.

export interface ProcessUser {
  uid: number;
  gid: number;
  /** Supplementary groups (the primary gid first, as runc sets them). */
  groups: number[];
  /** The account's home from passwd, or "/" (docker's default HOME). */
  home: string;
}

export class UserLookupError extends Error {}

interface PasswdRow {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupRow {
  name: string;
  gid: number;
  members: string[];
}

const isId = (s: string) => /^[0-9]+$/.test(s) && Number(s) <= 4294967294;

function parsePasswd(text: string): PasswdRow[] {
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7 && isId(f[2]) && isId(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' }));
}

function parseGroup(text: string): GroupRow[] {
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && isId(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: f[3].split(',').filter(Boolean) }));
}

/**
 * "name", "uid", "name:group" or "uid:gid" (grammar checked by the recipe
 * schema / the CLI). A name must exist in passwd (group in group); a number
 * need not. Without an explicit group: the passwd gid (0 when the uid has no
 * entry) plus every group listing the account as a member.
 */
/** `field`: where the spec came from, for the message (the recipe's config.user, or a run's --user). */
export function resolveUser(spec: string | undefined, passwd: string | undefined, group: string | undefined, field = 'config.user'): ProcessUser {
  const users = parsePasswd(passwd ?? '');
  const groups = parseGroup(group ?? '');
  const [u, g] = (spec || '0').split(':', 2);
  const row = isId(u) ? users.find((r) => r.uid === Number(u)) : users.find((r) => r.name === u);
  if (!row && !isId(u)) throw new UserLookupError(`${field} "${spec}": no user "${u}" in the image's /etc/passwd`);
  const uid = row?.uid ?? Number(u);
  let gid = row?.gid ?? 0;
  if (g !== undefined) {
    const grow = isId(g) ? undefined : groups.find((r) => r.name === g);
    if (!isId(g) && !grow) throw new UserLookupError(`${field} "${spec}": no group "${g}" in the image's /etc/group`);
    gid = grow?.gid ?? Number(g);
  }
  const extra = row && g === undefined ? groups.filter((r) => r.members.includes(row.name)).map((r) => r.gid) : [];
  return { uid, gid, groups: [...new Set([gid, ...extra])], home: row?.home ?? '/' };
}
