export { type BenchOptions, type BenchResult, type BenchRow, formatTable, keep, measure } from './bench.js';
export { argmax, canonicalFloat32Bytes, cosine, sameFloat32 } from './floats.js';
export { createRng, type Distribution, type Rng, randomFloats, randomTernary } from './rng.js';
