// Bundle the Node side: the CLI (one ESM file, so a whole `scratchyard` process
// starts in tens of milliseconds rather than paying a TypeScript loader on
// every call) and Electron's main process and sandboxed preload (CommonJS).
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // node-pty is native (loaded at run time); ws's optional speed-ups are not used.
  // @cyclonedx/cyclonedx-library's optional XML and validation plug-ins are not used at run time (tests validate with ajv).
  external: ['node-pty', 'bufferutil', 'utf-8-validate', 'electron', 'xmlbuilder2', 'libxmljs2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019'],
};

await Promise.all([
  build({
    ...common,
    entryPoints: ['electron/cli/index.ts'],
    outfile: 'dist/cli.mjs',
    format: 'esm',
    // CommonJS dependencies (tar-stream) call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  }),
  build({ ...common, entryPoints: ['electron/main/main.ts'], outfile: 'dist/electron/main.cjs', format: 'cjs' }),
  build({ ...common, entryPoints: ['electron/preload/preload.ts'], outfile: 'dist/electron/preload.cjs', format: 'cjs', external: ['electron'] }),
]);
