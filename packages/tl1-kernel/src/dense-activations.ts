import { roundToHalf } from '@trit/ternary';
import { type DenseActivation, Q8_0_ACTIVATION_BLOCK, Q8_K_ACTIVATION_BLOCK } from './dense-types.js';

const bf16Bits = new Uint32Array(1);
const bf16Float = new Float32Array(bf16Bits.buffer);

/**
 * Rounds the inputs of a dense matrix to the grid llama.cpp's CPU matmul
 * converts them to for its weight type (the `activation` column of
 * DENSE_TYPES): f16 and bf16 round each value to nearest even (a NaN stays
 * NaN); q8_0 rounds each token's blocks of 32 to int8 with
 * d = absmax/127 stored as fp16; q8_k rounds blocks of 256 as ggml's
 * quantize_row_q8_K_ref (docs/formats.md §vec_dot_type), a block holding a NaN
 * or an infinity becoming all NaN. Returns `src` itself for f32, else `dst`.
 * Matching this makes results follow llama.cpp's, not just the exact math.
 */
export function roundDenseActivations(
  activation: DenseActivation,
  src: Float32Array,
  cols: number,
  dst: Float32Array,
): Float32Array {
  const n = src.length;
  switch (activation) {
    case 'f32':
      return src;
    case 'f16':
      for (let i = 0; i < n; i++) dst[i] = roundToHalf(src[i]);
      return dst;
    case 'bf16':
      for (let i = 0; i < n; i++) {
        bf16Float[0] = src[i];
        const u = bf16Bits[0];
        bf16Bits[0] = (u & 0x7fffffff) > 0x7f800000 ? u | 0x400000 : ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
        dst[i] = bf16Float[0];
      }
      return dst;
    case 'q8_0':
      // Blocks start at each token's first value (q8_0 weights have cols % 32 == 0, so they never straddle tokens).
      for (let token = 0; token < n; token += cols) {
        const tokenEnd = Math.min(token + cols, n);
        for (let b = token; b < tokenEnd; b += Q8_0_ACTIVATION_BLOCK) {
          const end = Math.min(b + Q8_0_ACTIVATION_BLOCK, tokenEnd);
          let amax = 0;
          for (let i = b; i < end; i++) amax = Math.max(amax, Math.abs(src[i]));
          const d = Math.fround(amax / 127);
          const id = d === 0 ? 0 : Math.fround(1 / d);
          const dh = roundToHalf(d);
          for (let i = b; i < end; i++) {
            const x = Math.fround(src[i] * id);
            dst[i] = Math.fround(Math.sign(x) * Math.round(Math.abs(x)) * dh);
          }
        }
      }
      return dst;
    case 'q8_k':
      for (let token = 0; token < n; token += cols) {
        const tokenEnd = Math.min(token + cols, n);
        for (let b = token; b < tokenEnd; b += Q8_K_ACTIVATION_BLOCK)
          roundQ8K(src, b, Math.min(b + Q8_K_ACTIVATION_BLOCK, tokenEnd), dst);
      }
      return dst;
  }
}

/** ggml's nearest_int: 1.5·2^23 added in float32 rounds to an integer, ties to even. */
const nearestInt = (value: number): number => Math.fround(value + 12582912) - 12582912;

/** One q8_k block [begin, end): q = min(127, nearest(x · iscale)) with iscale = −127/max, value q · (1/iscale). */
function roundQ8K(src: Float32Array, begin: number, end: number, dst: Float32Array): void {
  let max = 0;
  let amax = 0;
  for (let i = begin; i < end; i++) {
    const ax = Math.abs(src[i]);
    if (!(ax < Number.POSITIVE_INFINITY)) {
      dst.fill(Number.NaN, begin, end);
      return;
    }
    if (ax > amax) {
      amax = ax;
      max = src[i];
    }
  }
  if (amax === 0) {
    dst.fill(0, begin, end);
    return;
  }
  const iscale = Math.fround(-127 / max);
  const d = Math.fround(1 / iscale);
  for (let i = begin; i < end; i++) dst[i] = Math.fround(Math.min(127, nearestInt(Math.fround(iscale * src[i]))) * d);
}
