// Bundle the CLI into one file: a whole `scratchyard` process starts in tens of
// milliseconds instead of paying for a TypeScript loader on every call.
import { build } from 'esbuild';

await build({
  entryPoints: ['electron/cli/index.ts'],
  outfile: 'dist/cli.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // node-pty is native (loaded at run time); ws's optional speed-ups are not used.
  external: ['node-pty', 'bufferutil', 'utf-8-validate'],
  // CommonJS dependencies (tar-stream) call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
