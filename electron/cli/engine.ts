// The engine side of the CLI, bundled as CommonJS (dist/cli-engine.cjs) and
// loaded by the entry (index.ts) through its V8 code cache.
import { config } from 'zod';

// A CLI process parses each schema a few times at most: zod's JIT (object
// parsers generated with new Function on first use) costs more than it saves,
// and generated code is outside the V8 code cache. Same checks, same messages.
config({ jitless: true });

export { main } from './main';
export { cacheOption } from './args';
export { heapSized } from '../engine/tools/heap';
