// The podman runner: the docker runner's contract with podman. Images are
// found and run by their ID (the config digest): `podman load` names an OCI
// layout after its ref.name annotation ("latest"), and short names need a
// registries.conf alias, so the ID is the one name that means this image.
// Where podman is installed but cannot start containers (rlimits in some
// sandboxes), the error says so and `run --runner all` skips it.
import { exec } from '../tools/exec';
import { findTool, requireTool } from '../tools/registry';
import { DockerUnavailableError, engineRunArgs, requireArchive, startContainer } from './docker';
import { runSpec } from './process';
import type { Runner } from './runner';

/** podman's exit codes when the container could not be created or its command not started. */
const PODMAN_FAILED = new Set([125, 126, 127]);

/** A clear sentence for why podman cannot be used, or undefined when it answers. */
export async function podmanProblem(): Promise<string | undefined> {
  const r = await exec(requireTool('podman'), ['version', '--format', '{{.Client.Version}}']).catch((e: Error) => ({ code: 1, stdout: '', stderr: e.message }));
  return r.code === 0 ? undefined : `podman does not work here: ${lastLine(r.stderr) || `exit code ${r.code}`}`;
}

const lastLine = (s: string) => s.split('\n').filter(Boolean).pop() ?? '';

/**
 * The OCI runtime (runc, crun) refusing to start any container on this machine, as opposed to
 * podman refusing this run (a --workdir the image lacks, which docker would make): the first is
 * the machine's, so a comparison leaves podman out; the second is the run's result.
 */
function podmanCannotRun(code: number, stderr: string): boolean {
  return PODMAN_FAILED.has(code) && /^Error: /m.test(stderr) && /\b(runc|crun|OCI)\b/.test(stderr);
}

/** Load the archive (through its manifest.json: docker-archive transport) unless podman holds this image ID. */
export async function ensurePodmanImage(podman: string, archive: string, id: string, signal?: AbortSignal): Promise<void> {
  const have = await exec(podman, ['image', 'exists', id]);
  if (have.code === 0) return;
  if (have.code !== 1) throw new DockerUnavailableError((await podmanProblem()) ?? `podman image exists failed: ${lastLine(have.stderr)}`);
  const load = await exec(podman, ['pull', '-q', `docker-archive:${archive}`], { signal });
  if (load.code !== 0) throw new DockerUnavailableError(`podman pull docker-archive:${archive} failed: ${lastLine(load.stderr)}`);
}

/** The podman runner: images found and run by their ID. */
export const podmanRunner: Runner = {
  name: 'podman',
  needsArchive: true,
  abilities: () => ({ publish: true, probe: process.getuid?.() === 0 }),
  async problem() {
    if (!findTool('podman')) return 'podman not found (apt-get install podman)';
    return podmanProblem();
  },
  async prepare(image, request) {
    const archive = requireArchive(image, 'podman');
    runSpec(image.recipe, request.args); // the same "no command" error as the other runners
    const podman = requireTool('podman');
    await ensurePodmanImage(podman, archive, image.configDigest);
    const args = [...engineRunArgs(request.flags), image.configDigest, ...request.args];
    return {
      runner: 'podman',
      start: (io) =>
        startContainer(podman, args, request.flags, io, (code, stderr) =>
          podmanCannotRun(code, stderr) ? new DockerUnavailableError(`podman cannot run containers here: ${lastLine(stderr).replace(/^Error: /, '')}`, { cannotRun: true }) : undefined,
        ),
      terminal: async () => ({ file: podman, args: ['run', '--rm', '-it', ...args] }),
      release: async () => {},
    };
  },
};
