// A static busybox at /bin/busybox (the host's, or `path:` in the project),
// with a symlink for every applet. The applets are listed by running the
// binary, which is recipe content: it runs in the sandbox, alone in an empty
// root, and only an ELF executable of this machine's architecture is taken.
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { SourceOf } from '../../../shared/recipe';
import { imagePath } from '../model/path';
import type { Tree } from '../model/tree';
import { DEFAULT_PATH } from '../model/runspec';
import { TOOLS, ToolMissingError, findTool } from '../tools/registry';
import { prepareRoot, runSandboxed } from '../tools/sandbox';
import { makeWorkDir, removeWorkDir } from '../tools/workdir';
import { ElfError, ElfTruncatedError, parseElf, type ElfInfo } from './elf/parse';
import { RecipeError, type SourceContext, type SourceResult } from './types';

const AT = imagePath('/bin/busybox');

/** e_machine of the architectures Node runs on. */
const MACHINES: Partial<Record<NodeJS.Architecture, number>> = { x64: 62, arm64: 183, ia32: 3, arm: 40, riscv64: 243, ppc64: 21, s390x: 22, loong64: 258 };

/** What `busybox --list-full` may print: an applet name, in /, bin, sbin, usr/bin or usr/sbin. */
const APPLET = /^(?:(?:usr\/)?s?bin\/)?(?!\.\.?$)[^/\s]+$/;

export async function busyboxSource(s: SourceOf<'busybox'>, ctx: SourceContext): Promise<SourceResult> {
  const field = `${ctx.field}.path`;
  const hostPath = s.path !== undefined ? path.resolve(ctx.projectDir, s.path) : findTool('busybox');
  if (!hostPath) throw new ToolMissingError(TOOLS.busybox);
  const st = await fs.stat(hostPath).catch(() => {
    throw new ToolMissingError(TOOLS.busybox);
  });
  if (!st.isFile()) throw new RecipeError(field, `${hostPath} is not a regular file`);
  const elf = await hostElf(hostPath, st, field);
  const { digest, size } = await ctx.store.putHostFile(hostPath, st);
  const put: Tree = new Map([[AT, { type: 'file', mode: 0o755, uid: 0, gid: 0, size, digest }]]);
  if (s.links) {
    for (const applet of await appletPaths(hostPath, elf, digest, ctx, field)) {
      const p = imagePath(applet);
      if (p !== AT) put.set(p, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target: AT });
    }
  }
  return { put, remove: [] };
}

/** The file's ELF header, refused unless it is an executable of this machine's architecture. */
async function hostElf(hostPath: string, st: Stats, field: string): Promise<ElfInfo> {
  const fh = await fs.open(hostPath, 'r');
  try {
    let want = Math.min(st.size, 64 * 1024);
    for (;;) {
      const buf = Buffer.alloc(want);
      const { bytesRead } = await fh.read(buf, 0, want, 0);
      try {
        const info = parseElf(buf.subarray(0, bytesRead));
        const machine = MACHINES[process.arch];
        if (info.type !== 2 && info.type !== 3) throw new RecipeError(field, `${hostPath} is an ELF file but not an executable (e_type ${info.type})`);
        if (machine !== undefined && info.machine !== machine) throw new RecipeError(field, `${hostPath} is an executable for another architecture (ELF machine ${info.machine}; this machine is ${process.arch})`);
        return info;
      } catch (e) {
        if (e instanceof ElfTruncatedError && e.needed > want && e.needed <= st.size) want = e.needed;
        else if (e instanceof ElfError) throw new RecipeError(field, `${hostPath} is not an ELF executable (${e.message})`);
        else throw e;
      }
    }
  } finally {
    await fh.close();
  }
}

/** `busybox --list-full`, run in the sandbox, remembered per busybox binary. */
async function appletPaths(hostPath: string, elf: ElfInfo, digest: string, ctx: SourceContext, field: string): Promise<string[]> {
  const key = `busybox-applets-${digest}`;
  const cached = await ctx.cache.get<string[]>(key);
  if (cached) return cached;
  if (elf.interp) throw new RecipeError(field, `${hostPath} is dynamically linked (${elf.interp}): links needs a static busybox (apt-get install busybox-static)`);
  const work = await makeWorkDir('busybox');
  let stdout: string;
  try {
    const root = path.join(work, 'root');
    await fs.mkdir(root);
    const prepared = await prepareRoot(root, [{ src: hostPath, at: AT }]);
    const r = await runSandboxed(
      { prepared, work, identity: { kind: 'builder' }, process: { argv: [AT, '--list-full'], env: { PATH: DEFAULT_PATH }, workdir: '/' } },
      { signal: ctx.signal },
    );
    if (r.code !== 0) throw new RecipeError(field, `${hostPath} --list-full failed with exit code ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
    stdout = r.stdout;
  } finally {
    await removeWorkDir(work);
  }
  const applets = stdout.split('\n').filter(Boolean);
  const bad = applets.find((a) => !APPLET.test(a));
  if (bad !== undefined) throw new RecipeError(field, `${hostPath} --list-full printed ${JSON.stringify(bad.slice(0, 100))}, which is not an applet path`);
  await ctx.cache.put(key, applets);
  return applets;
}
