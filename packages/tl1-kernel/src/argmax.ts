/**
 * Argmax (KERNEL.md §9): the index of the largest of the first `count` values, the lowest
 * index on ties (−0 and +0 are equal), NaNs never chosen, and 0 when no value exceeds −∞.
 * This JS version is the definition; the native one gives the same index.
 */

import { KernelShapeError } from './errors.js';

export function checkArgmax(values: Float32Array, count: number): void {
  if (!(values instanceof Float32Array)) throw new KernelShapeError('argmax: values', 'a Float32Array', typeof values);
  if (!Number.isSafeInteger(count) || count < 0 || count > values.length)
    throw new KernelShapeError('argmax: count', `an integer in 0…${values.length} (values.length)`, count);
}

export function jsArgmax(values: Float32Array, count: number): number {
  let best = 0;
  let value = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const v = values[i] as number;
    if (v > value) {
      value = v;
      best = i;
    }
  }
  return best;
}
