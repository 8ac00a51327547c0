import { roundToHalf } from '@trit/ternary';
import { type DenseActivation, Q8_0_ACTIVATION_BLOCK } from './dense-types.js';

const bf16Bits = new Uint32Array(1);
const bf16Float = new Float32Array(bf16Bits.buffer);

/**
 * Rounds the inputs of a dense matrix to the grid llama.cpp's CPU matmul
 * converts them to for its weight type (the `activation` column of
 * DENSE_TYPES): f16 and bf16 round each value to nearest even (a NaN stays
 * NaN); q8_0 rounds each token's blocks of 32 to int8 with
 * d = absmax/127 stored as fp16. Returns `src` itself for f32, else `dst`.
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
  }
}
