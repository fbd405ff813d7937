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

// The engine's folder order (docs/architecture.md): imports only go down it.
// Folders of one rank (run, inspect) do not import each other; entry/ holds the
// orchestration that builds and then exports, runs or inspects.
const ENGINE_ORDER = [['model'], ['tools'], ['store'], ['oci'], ['sources'], ['graph'], ['export'], ['run', 'inspect'], ['entry']];
const notEngine = group(['**/main/**', '**/host/**', '**/preload/**', '**/cli/**', '**/renderer/**', 'electron', 'react'], 'the engine knows nothing of Electron, its hosts or the window');

function engineOrder() {
  return ENGINE_ORDER.flatMap((rank, r) =>
    rank
      .filter((folder) => folder !== 'model')
      .flatMap((folder) => {
        const above = ENGINE_ORDER.flatMap((other, o) => (o > r ? other : o === r ? other.filter((x) => x !== folder) : []));
        const message = `engine/${folder} may import only folders below it (${ENGINE_ORDER.slice(0, r).flat().join(', ')})`;
        // A file at depth d inside engine/FOLDER reaches a sibling folder with d "../".
        return [1, 2].map((depth) => ({
          files: [depth === 1 ? `electron/engine/${folder}/*.ts` : `electron/engine/${folder}/*/**/*.ts`],
          rules: { 'no-restricted-imports': rule([notEngine, regex(`^(\\.\\./){${depth}}(${above.join('|')})(/|$)`, message)]) },
        }));
      }),
  );
}

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
  ...engineOrder(),
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
