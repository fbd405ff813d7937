// The design's import rules, enforced (VS Code's code-layering habit):
//   shared/            imports nothing of ours
//   engine/model/      imports only shared/ and no I/O modules
//   engine/*           never main, host, preload, cli or renderer
//   renderer/          imports shared/ only
import tseslint from 'typescript-eslint';

const nodeIo = ['fs', 'fs/promises', 'child_process', 'net', 'http', 'https', 'dgram', 'os', 'worker_threads'].flatMap((m) => [m, `node:${m}`]);
const rule = (patterns, paths = []) => ['error', { patterns, paths: paths.map((name) => ({ name, message: 'no I/O in the pure model' })) }];
const group = (group, message) => ({ group, message });
const regex = (regex, message) => ({ regex, message });

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', '**/out/**', 'release/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: { 'no-restricted-imports': rule([group(['**/electron/**', '**/renderer/**', 'node:*', 'electron', 'react'], 'shared/ imports nothing of ours and no platform')]) },
  },
  {
    files: ['electron/engine/model/**/*.ts'],
    rules: {
      'no-restricted-imports': rule(
        [regex('^\\.\\./(?!\\.\\./\\.\\./shared/)', 'engine/model imports only shared/'), group(['electron', 'react'], 'engine/model is pure')],
        nodeIo,
      ),
    },
  },
  {
    files: ['electron/engine/**/*.ts'],
    ignores: ['electron/engine/model/**'],
    rules: {
      'no-restricted-imports': rule([
        group(['**/main/**', '**/host/**', '**/preload/**', '**/cli/**', '**/renderer/**', 'electron', 'react'], 'the engine knows nothing of Electron, its hosts or the window'),
      ]),
    },
  },
  {
    // GitHub Desktop's rule: one module per side speaks raw IPC.
    files: ['electron/main/**/*.ts', 'electron/preload/**/*.ts'],
    ignores: ['electron/main/ipc.ts', 'electron/preload/preload.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', importNames: ['ipcMain', 'ipcRenderer'], message: 'only electron/main/ipc.ts and the preload speak IPC' }] }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': rule([group(['**/electron/**', 'node:*', 'electron', ...nodeIo], 'the renderer talks to the engine only through shared/ contracts')]),
    },
  },
);
