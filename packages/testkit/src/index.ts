export { createRng, randomFloats, randomTernary, type Distribution, type Rng } from './rng.js';
export { formatTable, keep, measure, type BenchOptions, type BenchResult, type BenchRow } from './bench.js';
