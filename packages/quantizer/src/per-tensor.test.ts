import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuantizeError } from './errors.js';
import { PER_TENSOR_EPSILON, perTensorAbsmean } from './per-tensor.js';

/** transformers' WeightQuant step by step in float32, rounding halves to even as torch.round does. */
function weightQuant(w: readonly number[]): { codes: number[]; gamma: number } {
  const mean = Math.fround(w.reduce((s, x) => s + Math.abs(Math.fround(x)), 0) / w.length);
  const gamma = Math.fround(Math.max(mean, PER_TENSOR_EPSILON));
  const s = Math.fround(1 / gamma);
  const roundHalfEven = (x: number) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  return { codes: w.map((x) => Math.max(-1, Math.min(1, roundHalfEven(Math.fround(Math.fround(x) * s))))), gamma };
}

describe('perTensorAbsmean', () => {
  it('uses one scale for the whole matrix and rounds halves to even', () => {
    // mean|w| = 0.5: 0.25·2 = 0.5 is a half and rounds to 0; 0.75·2 = 1.5 clamps to 1.
    const { codes, scale } = perTensorAbsmean([0.25, -0.25, 0.75, -0.75, 0.5, -0.5]);
    expect(scale).toBe(0.5);
    expect([...codes]).toEqual([0, 0, 1, -1, 1, -1]);
  });

  it('clamps mean|W| at 1e-5 as transformers does', () => {
    const { codes, scale } = perTensorAbsmean([0, 0, 4e-6, -8e-6]);
    expect(scale).toBe(Math.fround(1e-5));
    expect([...codes]).toEqual([0, 0, 0, -1]);
  });

  it('matches the float32 definition on random matrices', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: 1, maxLength: 300 }), (w) => {
        const got = perTensorAbsmean(w);
        const want = weightQuant(w);
        expect(got.scale).toBe(want.gamma);
        expect([...got.codes]).toEqual(want.codes.map((c) => c + 0));
      }),
    );
  });

  it('refuses non-finite weights and empty tensors, naming the tensor', () => {
    expect(() => perTensorAbsmean([1, Number.NaN], { name: 'q' })).toThrow(QuantizeError);
    expect(() => perTensorAbsmean([1, Number.NaN], { name: 'q' })).toThrow(/tensor "q": weight 1 is NaN/);
    expect(() => perTensorAbsmean([])).toThrow(/no weights/);
  });
});
