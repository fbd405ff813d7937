import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests never touch the user's own config (the app's recent list): every process they start
// inherits a config folder of this run's, which the global setup removes at the end.
process.env.XDG_CONFIG_HOME = path.join(os.tmpdir(), `sy-test-config-${process.pid}`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
