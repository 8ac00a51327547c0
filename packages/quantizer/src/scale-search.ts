import { absmeanThreshold } from './absmean.js';

/*
 * optimizeScales: for a block with ternary codes t, the scale minimizing
 * Σ(w − s·t)² is s = Σ w·t / Σ t² = S / C, where S is the sum of |w| over
 * non-zero codes and C their count; the block's error is then Σw² − S²/C.
 * So the best zero threshold is the one maximizing S²/C. We try plain
 * absmean's codes and a grid of thresholds θ = m·mean|w|, and keep the best.
 * Each grid candidate needs S and C, which one histogram pass gives for all.
 */

/** Threshold multiples of mean|w|: 0.30, 0.35, …, 1.20, i.e. (6 + j) / 20. */
const GRID_SIZE = 19;

/**
 * A weight's position on the grid: x = 20·|w|/mean − 6, so that it is non-zero
 * under grid threshold j exactly when x ≥ j. The histogram and the final
 * coding both go through this one function, so they agree at the boundaries.
 */
function gridPosition(absWeight: number, inverseMean: number): number {
  return absWeight * inverseMean * 20 - 6;
}

/**
 * Histogram bucket: how many grid thresholds the weight reaches, clamp(⌊x⌋ + 1, 0, 19).
 * Branch-free, because on real weights these comparisons are coin flips.
 */
function bucketOf(position: number): number {
  // x ≥ -6 since |w| ≥ 0; capping it keeps the int32 truncation exact.
  const k = ((Math.min(position, 64) + 7) | 0) - 6;
  const atLeastZero = k & ~(k >> 31);
  const excess = atLeastZero - GRID_SIZE;
  return GRID_SIZE + (excess & (excess >> 31));
}

/** The chosen coding of one block. */
export interface BlockChoice {
  /** -1: plain absmean codes; j ≥ 0: grid threshold j (non-zero when the grid position ≥ j). */
  threshold: number;
  scale: number;
  /** 1 / mean|w|, for re-deriving buckets when coding. */
  inverseMean: number;
}

/** Reusable scratch for the threshold search, so a tensor allocates it once. */
export class ThresholdSearch {
  private readonly sums = new Float64Array(GRID_SIZE + 1);
  private readonly counts = new Float64Array(GRID_SIZE + 1);

  /** Picks the lowest-error coding of w[start, end), given its f32 absmean gamma and |w| sum. */
  choose(w: Float32Array, start: number, end: number, gamma: number, absSum: number): BlockChoice {
    if (absSum === 0) return { threshold: -1, scale: gamma, inverseMean: 0 };
    const { sums, counts } = this;
    sums.fill(0);
    counts.fill(0);
    const inverseMean = (end - start) / absSum;
    const absmeanCutoff = absmeanThreshold(gamma);
    let absmeanSum = 0;
    let absmeanCount = 0;
    for (let i = start; i < end; i++) {
      const x = w[i];
      const a = Math.abs(x);
      const hit = (a >= absmeanCutoff) as unknown as number;
      absmeanSum += a * hit;
      absmeanCount += hit;
      const k = bucketOf(gridPosition(a, inverseMean));
      sums[k] += a;
      counts[k]++;
    }
    let bestThreshold = -1;
    let bestSum = absmeanSum;
    let bestCount = absmeanCount;
    let bestGain = absmeanCount > 0 ? (absmeanSum * absmeanSum) / absmeanCount : 0;
    let tailSum = 0;
    let tailCount = 0;
    for (let j = GRID_SIZE - 1; j >= 0; j--) {
      tailSum += sums[j + 1];
      tailCount += counts[j + 1];
      if (tailCount === 0) continue;
      const gain = (tailSum * tailSum) / tailCount;
      if (gain > bestGain) {
        bestGain = gain;
        bestThreshold = j;
        bestSum = tailSum;
        bestCount = tailCount;
      }
    }
    if (bestCount === 0) return { threshold: -1, scale: gamma, inverseMean };
    return { threshold: bestThreshold, scale: Math.fround(bestSum / bestCount), inverseMean };
  }
}

/** The seed code (t + 1) of w under grid threshold `threshold` chosen by {@link ThresholdSearch.choose}. */
export function thresholdSeedCode(w: number, threshold: number, inverseMean: number): number {
  const nonZero = (gridPosition(Math.abs(w), inverseMean) >= threshold) as unknown as number;
  const positive = (w > 0) as unknown as number;
  return 1 + nonZero * (2 * positive - 1);
}
