// What a process in an image is: argv, environment, working folder; and what
// came of running it. Shared by the sandbox, the runners and the VM wrapper.

/** docker's default PATH, for images and steps that set none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunSpec {
  argv: string[];
  env: Record<string, string>;
  workdir: string;
}

export interface RunOutcome {
  code: number;
  signal: NodeJS.Signals | null;
  ms: number;
  stdout: string;
  stderr: string;
}
