// What a process in an image is: argv, environment, working folder; and what
// came of running it. Shared by the sandbox, the runners and the VM wrapper.

/** docker's default PATH, for images and steps that set none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

import type { ProcessUser } from './users';

export interface RunSpec {
  argv: string[];
  env: Record<string, string>;
  workdir: string;
  /** Switch to this user (resolved in the image) before exec; root when absent. */
  user?: ProcessUser;
}

/** The exit code a stopped-at-the-timeout program reports (as timeout(1) does). */
export const TIMEOUT_CODE = 124;

export interface RunOutcome {
  code: number;
  signal: NodeJS.Signals | null;
  ms: number;
  stdout: string;
  stderr: string;
  /** Stopped at the run's --timeout (code is then TIMEOUT_CODE). */
  timedOut?: boolean;
}
