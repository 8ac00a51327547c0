/*
 * BitNet b1.58 absmean ternarization, bit-exact with RuvLLM's f32 Rust:
 *   gamma = mean(|w|) + 1e-8        (sum accumulated in f32, left to right)
 *   t     = round(clamp(w / gamma, -1, 1))   with halves away from zero
 * Every intermediate is rounded to f32 with Math.fround. Because t is clamped
 * to ±1, rounding reduces to |w / gamma| ≥ 0.5.
 */

export const ABSMEAN_EPSILON = Math.fround(1e-8);

export interface AbsmeanResult {
  /** Ternary values, one per weight. */
  codes: Int8Array;
  /** gamma: the block's scale (dequantized weight = code × scale). */
  scale: number;
}

/** Quantizes one block with plain absmean. An empty block gives scale 1e-8. */
export function absmeanTernary(block: ArrayLike<number>): AbsmeanResult {
  const n = block.length;
  const codes = new Int8Array(n);
  if (n === 0) return { codes, scale: ABSMEAN_EPSILON };
  const gamma = absmeanGamma(block, 0, n);
  for (let i = 0; i < n; i++) codes[i] = ternaryCode(Math.fround(block[i]), gamma);
  return { codes, scale: gamma };
}

/** gamma of block[start, end): f32 mean of |w| plus 1e-8. Inputs must be finite. */
export function absmeanGamma(block: ArrayLike<number>, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = Math.fround(sum + Math.abs(Math.fround(block[i])));
  return Math.fround(Math.fround(sum / Math.fround(end - start)) + ABSMEAN_EPSILON);
}

/** round(clamp(w / gamma, -1, 1)) for an f32 w and gamma. */
export function ternaryCode(w: number, gamma: number): number {
  const q = Math.fround(w / gamma);
  return q >= 0.5 ? 1 : q <= -0.5 ? -1 : 0;
}
