import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base';

export default defineConfig([
  // shims: import.meta.url in the CJS build locates the wasm files and the addon.
  { ...libraryBuild, shims: true, external: ['node-gyp-build'] },
  {
    // The worker thread script: one self-contained ESM file next to index.js.
    entry: { worker: 'src/worker.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    noExternal: [/.*/],
    external: ['node:worker_threads', 'node:url', 'node:module'],
  },
]);
