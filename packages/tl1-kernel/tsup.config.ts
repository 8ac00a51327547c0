import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base';

export default defineConfig([
  {
    ...libraryBuild,
    // `contract`: types, the dense-type table and the errors, with no addon, wasm or worker code.
    entry: { index: 'src/index.ts', contract: 'src/contract.ts' },
    // Shared chunks in CJS too, so both entries hand out the same error classes.
    splitting: true,
    // shims: import.meta.url in the CJS build locates the wasm files and the addon (src/package-files.ts).
    shims: true,
    external: ['node-gyp-build'],
  },
  {
    // The worker thread script: one self-contained ESM file next to index.js (dist/worker.js).
    entry: { worker: 'src/threads/worker.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    noExternal: [/.*/],
    external: ['node:worker_threads', 'node:url', 'node:module'],
  },
]);
