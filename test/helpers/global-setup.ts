// Engine and e2e tests drive the real CLI bundle and the built renderer: make sure both are fresh.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

export default function setup(): () => void {
  execFileSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
  // The run's own config folder (vitest.config.ts), gone with the run.
  const config = process.env.XDG_CONFIG_HOME;
  return () => {
    if (config && /\/sy-test-config-\d+$/.test(config)) rmSync(config, { recursive: true, force: true });
  };
}
