import { QuantizeError } from './errors.js';

/*
 * BitNet's quantization-aware training ternarizes each weight matrix with one
 * scale for the whole matrix (transformers' WeightQuant, bitnet.cpp's
 * weight_quant; docs/formats.md §Hugging Face BitNet checkpoints):
 *   gamma = max(mean|W|, 1e-5)              (float32)
 *   s     = 1 / gamma                       (float32)
 *   code  = clamp(round(w · s), -1, 1)      round: halves to even, as torch.round
 * Because codes are clamped to ±1, half-to-even rounding means |w·s| must
 * exceed 0.5: exactly 0.5 rounds to 0. Example: gamma = 0.5, w = 0.25 gives
 * w·s = 0.5 → 0 (absmeanTernary, which rounds halves away, gives 1).
 */

/** transformers' clamp on mean|W| before inverting it. */
export const PER_TENSOR_EPSILON = 1e-5;

export interface PerTensorAbsmeanResult {
  /** Ternary values, one per weight. */
  codes: Int8Array;
  /** gamma = max(mean|W|, 1e-5) as float32: the dequantized weight is code × gamma. */
  scale: number;
}

/**
 * Per-tensor absmean, the codes a BitNet checkpoint was trained against.
 * The mean is summed in float64 and rounded once to float32 (torch sums a
 * float32 tensor pairwise; the two agree except within an ulp of a boundary).
 */
export function perTensorAbsmean(
  weights: Float32Array | ArrayLike<number>,
  options: { name?: string } = {},
): PerTensorAbsmeanResult {
  const n = weights.length;
  if (n === 0) throw new QuantizeError('a tensor with no weights has no absmean', options.name);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (!Number.isFinite(w)) throw new QuantizeError(`weight ${i} is ${w}; weights must be finite`, options.name, i);
    sum += Math.abs(w);
  }
  const gamma = Math.fround(Math.max(Math.fround(sum / n), PER_TENSOR_EPSILON));
  const inverse = Math.fround(1 / gamma);
  const codes = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const x = Math.fround(Math.fround(weights[i]) * inverse);
    codes[i] = x > 0.5 ? 1 : x < -0.5 ? -1 : 0;
  }
  return { codes, scale: gamma };
}
