/**
 * RMSNorm (KERNEL.md §8): for each of nTokens rows of n floats,
 * out = x · (1 / √(mean(x²) + eps)) · weight, with the sum of squares in float64,
 * in index order, and each product rounded to float64 before the float32 store.
 * This JS version is the definition; the native one gives the same bits.
 */

import { KernelShapeError } from './errors.js';

export interface RmsNormInput {
  /** nTokens × n floats. */
  x: Float32Array;
  /** nTokens × n floats; may be x itself. */
  out: Float32Array;
  /** n floats. */
  weight: Float32Array;
  nTokens: number;
  n: number;
  eps: number;
}

export function checkRmsNorm(a: RmsNormInput): void {
  if (!Number.isSafeInteger(a.nTokens) || a.nTokens < 0)
    throw new KernelShapeError('rmsNorm: nTokens', 'a non-negative integer', a.nTokens);
  if (!Number.isSafeInteger(a.n) || a.n < 1) throw new KernelShapeError('rmsNorm: n', 'a positive integer', a.n);
  for (const [name, array, need] of [
    ['x', a.x, a.nTokens * a.n],
    ['out', a.out, a.nTokens * a.n],
    ['weight', a.weight, a.n],
  ] as const) {
    if (!(array instanceof Float32Array))
      throw new KernelShapeError(`rmsNorm: ${name}`, 'a Float32Array', typeof array);
    if (array.length < need) throw new KernelShapeError(`rmsNorm: ${name} length`, `at least ${need}`, array.length);
  }
  if (typeof a.eps !== 'number') throw new KernelShapeError('rmsNorm: eps', 'a number', typeof a.eps);
}

export function jsRmsNorm({ x, out, weight, nTokens, n, eps }: RmsNormInput): void {
  for (let t = 0, at = 0; t < nTokens; t++, at += n) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i] as number;
      sum += v * v;
    }
    const scale = 1 / Math.sqrt(sum / n + eps);
    for (let i = 0; i < n; i++) out[at + i] = (x[at + i] as number) * scale * (weight[i] as number);
  }
}
