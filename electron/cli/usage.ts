// Every usage text of the CLI, in a module that loads nothing of the engine:
// `scratchyard --help` prints these from the small entry bundle (dist/cli.mjs)
// without loading the engine bundle at all.
import { defaultCacheDir } from '../engine/store/cache';

export const REGISTRY_USAGE = `IMAGE: a file or folder (docker-archive, OCI layout), or docker://REGISTRY/NAME:TAG, docker-daemon:NAME:TAG,
                 containers-storage:NAME:TAG, oci:PATH[:REF], docker-archive:PATH; registries take --tls-verify=false,
                 --creds USER:PASSWORD, --authfile FILE, --cert-dir DIR (plain HTTP only for 127.0.0.0/8 and localhost)`;

export const RUN_USAGE = `run [PROJECT] [--runner chroot|vm|docker|podman|all] [--entrypoint PROG] [-e|--env K=V]... [--user USER[:GROUP]]
    [--workdir DIR] [--network none|host] [-p|--publish HOST:CONTAINER]... [--timeout SECONDS]
    [--probe 'CMD' [--probe-timeout SECONDS]] [--kernel PATH] [--accel auto|kvm|tcg] [--json] [-- CMD ARGS...]`;

/** `run --help`: the flags that need more than their name. */
export const RUN_HELP = `  -p HOST:CONTAINER   publish a port on 127.0.0.1:HOST (docker, podman; the run gets the engine's private
                      network, so not with --network none|host); the chroot and the VM say "not supported"
  --probe 'CMD'       test-run a service: start the image's process, run CMD (a shell command line, with this
                      machine's tools, read-only) beside it in its network every 200 ms until it exits 0 or the
                      probe timeout passes, then stop the service. The run's exit code and stdout are the
                      probe's. chroot, and docker/podman as root; not the VM
  --probe-timeout S   give up probing after S seconds (default 10)`;

export const PUSH_USAGE = `push [PROJECT] [DEST] [--tls-verify=false] [--creds USER:PASSWORD] [--authfile FILE] [--cert-dir DIR] [--json]
                 build the OCI layout and copy it to a registry, digests preserved; DEST: docker://REGISTRY/NAME:TAG
                 (default docker:// + the recipe's tag); prints the manifest digest, which equals the built one`;

export const IMAGES_USAGE = `images [--json]   the local docker and podman images (name, tag, id, size, created) and the reference
                 each opens by (inspect, ls, diff, Open image…); an engine that is missing or down is a note on stderr`;

export const CACHE_USAGE = `cache du [--json]                    what the cache holds, by kind
  cache verify [--json]                re-hash every blob and pack, check node results; drop bad ones (exit 1 if any)
  cache gc [--keep-storage SIZE] [--dry-run] [--json]
                 keep what the projects built here last used, fetched base images included; SIZE (2GB, 500MB)
                 drops the least recently built first`;

export const INIT_USAGE = `init --from REF [DIR]   a new project on the base image REF (docker-archive:F, oci:DIR[:TAG], a path…), pinned by digest`;

export const SBOM_USAGE = `sbom [IMAGE|PROJECT] [--format cyclonedx|spdx] [-o FILE]   packages (dpkg status, status.d/) and files; CycloneDX 1.6 or SPDX 2.3 JSON`;

export const INSPECT_USAGE = `inspect [PROJECT|IMAGE] [--json] [--ci [--lowest-efficiency R] [--highest-wasted-bytes N] [--highest-user-wasted-percent R] [--dive]]
                 layers, totals, wasted space and efficiency (ours, and dive's count beside it);
                 --ci exits 1 when a threshold fails (defaults as dive's: efficiency 0.9, user-wasted 0.1;
                 "disabled" turns one off); --dive applies them to dive's figures instead of ours
  diff A B [--filelist] [--json] [--exit-code]
                 added (A), removed (D) and changed (M) paths from A to B, each a PROJECT or an IMAGE,
                 or IMAGE#LAYER / PROJECT#LAYER for the filesystem after one layer (a layer's name, its
                 number from 1 as inspect prints it, or a digest prefix); --filelist: a diff of the checksummed file lists;
                 --exit-code: exit 1 when they differ, 2 on trouble (as diff(1))
                 ${REGISTRY_USAGE}`;

export const USAGE = `usage: scratchyard <command> [options]

commands:
  build [PROJECT] [--out DIR] [--format docker,oci,rootfs,initrd] [--gzip] [--no-gzip] [--json] [--strict] [--locked]
        [--cache-from docker://REPO] [--cache-to docker://REPO] [--tls-verify=false] [--creds USER:PASS] [--authfile F] [--cert-dir DIR]
                 --gzip: gzip layers; --no-gzip: a plain .cpio initrd; --strict: exit 1 on host-source warnings;
                 --cache-from/--cache-to: a registry repository shared by many machines as the build cache;
                 the registry flags reach them and the recipe's image sources alike
                 --sbom / --no-sbom: write NAME.cdx.json and NAME.spdx.json (default: the recipe's sbom, on)
                 --locked: install scratchyard.lock's Debian versions, exit 1 on any drift from the lock
  ${INIT_USAGE}
  ${RUN_USAGE}
  ls [PROJECT|IMAGE] [--layer NAME|N|DIGEST]   IMAGE: a file, folder or reference as inspect takes it; N counts from 1
  ${INSPECT_USAGE}
  ${PUSH_USAGE}
  ${IMAGES_USAGE}
  ${CACHE_USAGE}
  ${SBOM_USAGE}
  doctor [--json]
  gui [PROJECT] [--port N] [--no-open]   the app in a browser (browser mode), on 127.0.0.1
  schema

every command takes --cache DIR (default: ${defaultCacheDir()})
exit codes: 0 success, 1 failure (a full or read-only cache or output folder too), 2 bad usage or bad recipe;
run exits with the program's code`;

/** That command's lines of the usage text (and what every command takes); the whole text for an unknown command. */
export function usageText(cmd: string | undefined): string {
  const lines = USAGE.split('\n');
  const start = cmd === undefined ? -1 : lines.findIndex((l) => l.startsWith(`  ${cmd} `) || l === `  ${cmd}`);
  if (start === -1) return USAGE;
  let end = start + 1;
  // Continuation lines, and further lines of the same command (cache du, cache verify…).
  while (end < lines.length && (/^ {3,}/.test(lines[end]) || lines[end].startsWith(`  ${cmd} `))) end++;
  const own = lines.slice(start, end).map((l) => l.replace(/^ {2}/, ''));
  return `usage: scratchyard ${own.join('\n')}\n\n${lines.find((l) => l.startsWith('every command'))}`;
}

/** `scratchyard CMD --help`. */
export function usageOf(cmd: string): () => number {
  return () => {
    process.stdout.write(usageText(cmd) + '\n');
    return 0;
  };
}
