import { defineConfig } from 'vitest/config';

// Node 20's V8 runs relaxed-SIMD wasm only behind this flag (Node 22 and later by
// default). With it the tests check the relaxed-SIMD build next to plain SIMD128.
const nodeMajor = Number(process.versions.node.split('.')[0]);

export default defineConfig({
  test: { execArgv: nodeMajor < 22 ? ['--experimental-wasm-relaxed-simd'] : [] },
});
