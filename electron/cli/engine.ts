// The engine side of the CLI, bundled as CommonJS (dist/cli-engine.cjs) and
// loaded by the entry (index.ts) through its V8 code cache.
export { main } from './main';
export { cacheOption } from './args';
