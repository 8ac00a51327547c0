// This module is one level below the package root both as source (src/) and once bundled
// (dist/index.js, dist/index.cjs, dist/worker.js), so URLs relative to it find the package's
// files either way. Keep each `new URL(literal, import.meta.url)` whole: bundlers recognise it.

/** The package root, where node-gyp-build looks for the addon (build/ or prebuilds/). */
export const packageRoot = (): URL => new URL('..', import.meta.url);

/** The directory holding the .wasm files. */
export const wasmDirectory = (): URL => new URL('../wasm/', import.meta.url);

/** The bundled worker thread script (built from src/threads/worker.ts). */
export const workerScript = (): URL => new URL('../dist/worker.js', import.meta.url);
