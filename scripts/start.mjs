// `npm start`: until the desktop app lands (issue 3), build the bundled example
// with the CLI and run it in a user-namespace chroot.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const node = process.execPath;
execFileSync(node, [path.join(root, 'scripts/ensure-deps.mjs')], { stdio: 'inherit' });
execFileSync(node, [path.join(root, 'scripts/build-cli.mjs')], { stdio: 'inherit', cwd: root });
const cli = path.join(root, 'bin/scratchyard');
const example = path.join(root, 'assets/examples/hello');
const step = (args) => {
  console.error(`$ scratchyard ${args.join(' ')}`);
  const r = spawnSync(node, [cli, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
step(['build', example]);
step(['run', example, '--runner', 'chroot']);
console.error(`\nThe image is in ${path.join(example, 'out')}: hello.docker.tar (docker load -i), hello.oci/ (skopeo, umoci), hello.rootfs.tar (docker import).`);
