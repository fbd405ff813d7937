// Small projects written by tests, and independent readings of what we built.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, sh } from './env';

/** A project folder with the given recipe text (and extra files). */
export function writeProject(dir: string, yaml: string, files: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'scratchyard.yaml'), yaml);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

/** A copy of a bundled example (assets/examples/NAME), without its out/ folder. */
export function copyExample(name: string, dir: string): string {
  cpSync(path.join(REPO, 'assets/examples', name), dir, { recursive: true, filter: (src) => !src.endsWith(`${path.sep}out`) });
  return dir;
}

/** A copy of the bundled hello example under another image tag. */
export function helloCopy(dir: string, tag: string): string {
  copyExample('hello', dir);
  const file = path.join(dir, 'scratchyard.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^tag: .*$/m, `tag: ${tag}`));
  return dir;
}

/**
 * The seed's file list of a real folder, read with find(1) rather than with
 * our scanner: `./path 0100755-uid-gid-<sha256>`, root first, sorted.
 */
export function fileListOfFolder(root: string, opts: { ids?: boolean } = {}): string[] {
  const r = sh('find', ['.', '-printf', '%p\\t%y\\t%m\\t%U\\t%G\\n'], { cwd: root });
  if (r.code !== 0) throw new Error(r.stderr);
  const TYPE: Record<string, number> = { f: 0o100000, d: 0o040000, l: 0o120000, c: 0o020000, b: 0o060000, p: 0o010000 };
  const lines = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [p, y, m, u, g] = line.split('\t');
      const abs = path.join(root, p);
      const digest =
        y === 'f' ? createHash('sha256').update(readFileSync(abs)).digest('hex') : y === 'l' ? createHash('sha256').update(readlinkSync(abs)).digest('hex') : '0';
      const mode = (TYPE[y] | parseInt(m, 8)).toString(8).padStart(7, '0');
      return `${p} ${mode}-${opts.ids === false ? 'x' : u}-${opts.ids === false ? 'x' : g}-${digest}`;
    });
  return lines.sort((a, b) => (a.split(' ')[0] < b.split(' ')[0] ? -1 : 1));
}
