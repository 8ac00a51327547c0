import { ternaryCode } from './absmean.js';

/*
 * optimizeScales: for a block with ternary codes t, the scale minimizing
 * Σ(w − s·t)² is s = Σ w·t / Σ t² = S / C, where S is the sum of |w| over
 * non-zero codes and C their count; the block's error is then Σw² − S²/C.
 * So the best zero threshold is the one maximizing S²/C. We try plain
 * absmean's codes and a grid of thresholds θ = m·mean|w|, and keep the best.
 * Each grid candidate needs S and C, which one histogram pass gives for all.
 */

/** Threshold multiples of mean|w|: 0.30, 0.35, …, 1.20. */
const LOWEST_MULTIPLE = 0.3;
const MULTIPLE_STEP = 0.05;
const GRID_SIZE = 19;

/**
 * How many grid thresholds lie at or below r = |w| / mean|w|. A weight is
 * non-zero under grid threshold j exactly when its bucket exceeds j, so the
 * histogram and the final coding agree even at boundaries.
 */
function bucketOf(ratio: number): number {
  if (ratio < LOWEST_MULTIPLE) return 0;
  const k = Math.floor((ratio - LOWEST_MULTIPLE) / MULTIPLE_STEP) + 1;
  return k < GRID_SIZE ? k : GRID_SIZE;
}

/** The chosen coding of one block. */
export interface BlockChoice {
  /** -1: plain absmean codes; j ≥ 0: non-zero when bucket > j. */
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
    let absmeanSum = 0;
    let absmeanCount = 0;
    for (let i = start; i < end; i++) {
      const x = w[i];
      const a = Math.abs(x);
      if (ternaryCode(x, gamma) !== 0) {
        absmeanSum += a;
        absmeanCount++;
      }
      const k = bucketOf(a * inverseMean);
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

/** The code of w under a grid threshold chosen by {@link ThresholdSearch.choose}. */
export function thresholdCode(w: number, threshold: number, inverseMean: number): number {
  if (bucketOf(Math.abs(w) * inverseMean) <= threshold) return 0;
  return w > 0 ? 1 : -1;
}
