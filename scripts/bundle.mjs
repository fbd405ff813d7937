// Bundle the Node side: the CLI (a small ESM entry and one CommonJS engine
// bundle, so a whole `scratchyard` process starts in tens of milliseconds
// rather than paying a TypeScript loader on every call) and Electron's main process and sandboxed preload (CommonJS).
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
  // The CLI's entry: usage text and the code-cache loader, nothing of the engine
  // (`scratchyard --help` starts about as fast as node itself).
  build({ ...common, entryPoints: ['electron/cli/index.ts'], outfile: 'dist/cli.mjs', format: 'esm' }),
  // Everything else, as CommonJS for vm.Script (the only code cache Node 20
  // offers), which index.ts loads from its own folder. Commands import their
  // modules with import(), which esbuild turns into lazily run module bodies.
  build({
    ...common,
    entryPoints: ['electron/cli/engine.ts'],
    outfile: 'dist/cli-engine.cjs',
    format: 'cjs',
    // the entry passes the bundle's own URL in (vm.Script has no import.meta)
    define: { 'import.meta.url': '__importMetaUrl' },
    supported: { 'dynamic-import': false },
    // ASCII only, so the entry decodes it as latin1 into a one-byte string (no UTF-8 decoding on every start).
    charset: 'ascii',
    // Without comments and indentation the bundle reads, hashes and compiles faster (stack traces go through the source map).
    minifyWhitespace: true,
  }),
  build({ ...common, entryPoints: ['electron/main/main.ts'], outfile: 'dist/electron/main.cjs', format: 'cjs' }),
  build({ ...common, entryPoints: ['electron/preload/preload.ts'], outfile: 'dist/electron/preload.cjs', format: 'cjs', external: ['electron'] }),
]);
