/*
 * BitNet b1.58 absmean ternarization, bit-exact with RuvLLM's f32 rule (docs/formats.md §RuvLLM;
 * vectors from fixtures/absmean-rust):
 *   gamma = mean(|w|) + 1e-8        (sum accumulated in f32, left to right)
 *   t     = round(clamp(w / gamma, -1, 1))   with halves away from zero
 * Every intermediate is rounded to f32 with Math.fround. Because t is clamped
 * to ±1, rounding reduces to |w / gamma| ≥ 0.5, and because f32 division is
 * monotonic in w, that is w ≥ T for one per-block threshold T (the smallest f32
 * whose quotient rounds to ≥ 0.5): the hot loop compares instead of dividing.
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
  let sum = 0;
  for (let i = 0; i < n; i++) sum = Math.fround(sum + Math.abs(Math.fround(block[i])));
  const gamma = absmeanGamma(sum, n);
  const threshold = absmeanThreshold(gamma);
  for (let i = 0; i < n; i++) {
    const w = Math.fround(block[i]);
    codes[i] = w >= threshold ? 1 : w <= -threshold ? -1 : 0;
  }
  return { codes, scale: gamma };
}

/** gamma from a block's f32 sum of |w| and its length. */
export function absmeanGamma(absSum: number, length: number): number {
  return Math.fround(Math.fround(absSum / Math.fround(length)) + ABSMEAN_EPSILON);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The next f32 toward zero (for a positive finite input). */
function previousFloat(x: number): number {
  f32[0] = x;
  u32[0] -= 1;
  return f32[0];
}

/**
 * The smallest positive f32 w with fround(w / gamma) ≥ 0.5, for a positive
 * finite f32 gamma: codes are +1 for w ≥ T and -1 for w ≤ -T (division is odd).
 */
export function absmeanThreshold(gamma: number): number {
  // 0.5·gamma is exact and its quotient is exactly 0.5; step down while the
  // rounded quotient of the next smaller float still reaches 0.5.
  let threshold = Math.fround(0.5 * gamma);
  if (threshold === 0) return Number.MIN_VALUE; // gamma ≥ 1e-8, so unreachable in practice
  for (;;) {
    const lower = previousFloat(threshold);
    if (lower <= 0 || Math.fround(lower / gamma) < 0.5) return threshold;
    threshold = lower;
  }
}

/** round(clamp(w / gamma, -1, 1)) for an f32 w and gamma, by division: the definition. */
export function ternaryCode(w: number, gamma: number): number {
  const q = Math.fround(w / gamma);
  return q >= 0.5 ? 1 : q <= -0.5 ? -1 : 0;
}
