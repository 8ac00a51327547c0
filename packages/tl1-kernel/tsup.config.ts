import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    shims: true,
    external: ['node-gyp-build'],
  },
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
