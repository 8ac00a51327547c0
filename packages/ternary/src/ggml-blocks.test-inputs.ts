import { createRng, randomFloats } from '@trit/testkit';
import type { GgmlBlockCodec } from './ggml-blocks.js';

// Inputs shared by the ggml block-codec tests: the oracle test runs llama.cpp's
// quantizers on them, and ggml-blocks.test.ts holds the digests of its answers.

/** Blocks that reach every branch of the reference quantizers, plus seeded random ones. */
export function quantizerInputs(codec: GgmlBlockCodec, seed: number): Float32Array {
  const n = codec.blockElements;
  const blocks: Float32Array[] = [];
  const rng = createRng(seed);
  blocks.push(new Float32Array(n)); // all zero
  blocks.push(new Float32Array(n).fill(0.75)); // constant positive: min > 0 paths
  blocks.push(new Float32Array(n).fill(-2.5));
  blocks.push(Float32Array.from({ length: n }, (_, i) => (i === 7 ? 3 : 0))); // one spike
  blocks.push(Float32Array.from({ length: n }, () => (rng.gaussian() * 1e-18) as number)); // below GROUP_MAX_EPS
  blocks.push(Float32Array.from({ length: n }, (_, i) => (i % 17) - 8)); // integers: ties at halves
  blocks.push(Float32Array.from({ length: n }, (_, i) => ((i * 37) % 64) / 8 - 4));
  blocks.push(Float32Array.from({ length: n }, () => rng.nextFloat() * 5)); // positive only
  blocks.push(Float32Array.from({ length: n }, () => -rng.nextFloat() * 5)); // negative only
  blocks.push(Float32Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : rng.gaussian()))); // zero half
  blocks.push(Float32Array.from({ length: n }, (_, i) => (i % 32 < 16 ? 1e-6 : 1e3) * rng.gaussian())); // mixed scales
  for (let b = 0; b < 48; b++) {
    const distribution = (['gaussian', 'laplace', 'uniform'] as const)[b % 3];
    const scale = 10 ** (rng.nextFloat() * 8 - 5);
    blocks.push(randomFloats(n, seed * 1000 + b, distribution, scale));
  }
  const out = new Float32Array(blocks.length * n);
  for (const [b, block] of blocks.entries()) out.set(block, b * n);
  return out;
}
