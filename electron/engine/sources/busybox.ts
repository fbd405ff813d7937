// The host's static busybox at /bin/busybox, with a symlink for every applet.
import { promises as fs } from 'node:fs';
import type { SourceOf } from '../../../shared/recipe';
import type { ImagePath } from '../../../shared/brand';
import { imagePath } from '../model/path';
import type { Tree } from '../model/tree';
import { execOk } from '../tools/exec';
import { TOOLS, ToolMissingError, findTool } from '../tools/registry';
import type { SourceContext, SourceResult } from './types';

const AT = '/bin/busybox' as ImagePath;

export async function busyboxSource(s: SourceOf<'busybox'>, ctx: SourceContext): Promise<SourceResult> {
  const hostPath = s.path ?? findTool('busybox');
  if (!hostPath) throw new ToolMissingError(TOOLS.busybox);
  const st = await fs.stat(hostPath).catch(() => {
    throw new ToolMissingError(TOOLS.busybox);
  });
  const { digest, size } = await ctx.store.putHostFile(hostPath, st);
  const put: Tree = new Map([[AT, { type: 'file', mode: 0o755, uid: 0, gid: 0, size, digest }]]);
  if (s.links) {
    for (const applet of await appletPaths(hostPath, digest, ctx)) {
      const p = imagePath(applet);
      if (p !== AT) put.set(p, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target: AT });
    }
  }
  return { put, remove: [] };
}

/** `busybox --list-full`, remembered per busybox binary. */
async function appletPaths(hostPath: string, digest: string, ctx: SourceContext): Promise<string[]> {
  const key = `busybox-applets-${digest}`;
  const cached = await ctx.cache.get<string[]>(key);
  if (cached) return cached;
  const { stdout } = await execOk(hostPath, ['--list-full']);
  const applets = stdout.split('\n').filter(Boolean);
  await ctx.cache.put(key, applets);
  return applets;
}
