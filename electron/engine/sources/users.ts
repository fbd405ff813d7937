// Users and groups: entries in /etc/passwd, /etc/group and /etc/shadow (merged
// with whatever the image already has; /etc/gshadow too when the image has
// one, as Debian's do, so grpck finds every group in both) and a home folder
// owned by each user.
import type { ImagePath } from '../../../shared/brand';
import type { SourceOf } from '../../../shared/recipe';
import { imagePath } from '../model/path';
import type { Entry, Tree } from '../model/tree';
import { RecipeError, type SourceContext, type SourceResult } from './types';

const PASSWD = '/etc/passwd' as ImagePath;
const GROUP = '/etc/group' as ImagePath;
const SHADOW = '/etc/shadow' as ImagePath;
const GSHADOW = '/etc/gshadow' as ImagePath;

/**
 * Colon-separated database lines keyed by their first field, order kept.
 * What the recipe adds is checked again here (the schema checked it first):
 * a ":" or a newline in a field would forge fields or whole entries.
 */
class Db {
  private rows = new Map<string, string[]>();
  constructor(text: string) {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const f = line.split(':');
      this.rows.set(f[0], f);
    }
  }
  get(name: string): string[] | undefined {
    return this.rows.get(name);
  }
  set(fields: string[]): void {
    // Only what forges: fields kept from the image's own lines may hold other oddities.
    const bad = fields.find((f) => /[:\n\0]/.test(f));
    if (bad !== undefined) throw new Error(`refusing to write ${JSON.stringify(bad)} into the entry of ${JSON.stringify(fields[0])}: ":", a newline or NUL would forge fields or entries`);
    this.rows.set(fields[0], fields);
  }
  values(): string[][] {
    return [...this.rows.values()];
  }
  toString(): string {
    return this.values().map((f) => f.join(':') + '\n').join('');
  }
}

export async function usersSource(s: SourceOf<'users'>, ctx: SourceContext): Promise<SourceResult> {
  const read = async (p: ImagePath, fallback: string): Promise<{ text: string; entry?: Entry }> => {
    const e = ctx.state.get(p);
    if (!e) return { text: fallback };
    if (e.type !== 'file') throw new RecipeError(ctx.field, `${p} in the image is a ${e.type}, not a file`);
    return { text: (await ctx.store.read(e.digest!)).toString('utf8'), entry: e };
  };
  const passwdFile = await read(PASSWD, 'root:x:0:0:root:/root:/bin/sh\n');
  const groupFile = await read(GROUP, 'root:x:0:\n');
  const shadowFile = await read(SHADOW, 'root:*:0:0:99999:7:::\n');
  const passwd = new Db(passwdFile.text);
  const group = new Db(groupFile.text);
  const shadow = new Db(shadowFile.text);
  const days = String(Math.floor(ctx.epoch / 86400));

  /** Groups this source wrote or gave members: their gshadow rows follow. */
  const touched = new Set<string>();
  s.groups.forEach((g) => {
    group.set([g.name, 'x', String(g.gid), group.get(g.name)?.[3] ?? '']);
    touched.add(g.name);
  });
  const put: Tree = new Map();
  s.users.forEach((u, i) => {
    const gid = u.gid ?? u.uid;
    const home = u.home ?? `/home/${u.name}`;
    if (!group.values().some((g) => g[2] === String(gid))) {
      group.set([u.name, 'x', String(gid), '']);
      touched.add(u.name);
    }
    passwd.set([u.name, 'x', String(u.uid), String(gid), u.gecos, home, u.shell]);
    shadow.set([u.name, '*', days, '0', '99999', '7', '', '', '']);
    u.groups.forEach((gname, j) => {
      const g = group.get(gname);
      if (!g) throw new RecipeError(`${ctx.field}.users[${i}].groups[${j}]`, `no group named "${gname}" (declare it under groups)`);
      const members = g[3] ? g[3].split(',') : [];
      if (!members.includes(u.name)) g[3] = [...members, u.name].join(',');
      touched.add(gname);
    });
    const hp = imagePath(home);
    if (!ctx.state.has(hp) && hp !== '/') put.set(hp, { type: 'dir', mode: 0o755, uid: u.uid, gid, size: 0 });
  });

  const file = async (text: string, old: Entry | undefined, mode: number): Promise<Entry> => {
    const { digest, size } = await ctx.store.putBytes(text);
    return { type: 'file', mode: old?.mode ?? mode, uid: old?.uid ?? 0, gid: old?.gid ?? 0, size, digest };
  };
  put.set(PASSWD, await file(passwd.toString(), passwdFile.entry, 0o644));
  put.set(GROUP, await file(group.toString(), groupFile.entry, 0o644));
  put.set(SHADOW, await file(shadow.toString(), shadowFile.entry, 0o640));
  if (ctx.state.get(GSHADOW)?.type === 'file') {
    const gshadowFile = await read(GSHADOW, '');
    const gshadow = new Db(gshadowFile.text);
    // No group password ("!"), the image's administrators kept, the members as /etc/group lists them.
    for (const name of touched) {
      const old = gshadow.get(name);
      gshadow.set([name, old?.[1] ?? '!', old?.[2] ?? '', group.get(name)![3]]);
    }
    put.set(GSHADOW, await file(gshadow.toString(), gshadowFile.entry, 0o640));
  }
  return { put, remove: [] };
}
