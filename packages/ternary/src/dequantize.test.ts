import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeDequantError, dequantizeBitnetBlock, dequantizeBitnetT158 } from './dequantize.js';
import { TernaryLengthError, TernaryValueError } from './errors.js';
import { packTernary } from './pack.js';

describe('dequantizeBitnetT158', () => {
  it('multiplies codes by the scale of their flat block', () => {
    const codes = Int8Array.from({ length: 600 }, (_, i) => (i % 3) - 1);
    const scales = Float32Array.of(0.5, 2, -1.5);
    const out = dequantizeBitnetT158(packTernary(codes), scales, 600);
    for (let i = 0; i < 600; i++) expect(out[i]).toBe(Math.fround(codes[i] * scales[i >> 8]));
    const small = dequantizeBitnetT158(packTernary(Int8Array.of(1, -1, 1, 0, 1)), Float32Array.of(3, 4), 5, 3);
    expect(Array.from(small)).toEqual([3, -3, 3, 0, 4]);
  });

  it('errors on short data instead of returning fewer values', () => {
    expect(() => dequantizeBitnetT158(new Uint8Array(63), Float32Array.of(1), 256)).toThrow(TernaryLengthError);
    expect(() => dequantizeBitnetT158(new Uint8Array(128), Float32Array.of(1), 512)).toThrow(
      /scales: expected 2, found 1/,
    );
    expect(() => dequantizeBitnetT158(new Uint8Array(64), Float32Array.of(1), 256, 0)).toThrow(TernaryValueError);
  });

  it('dequantizes a single 64-byte block', () => {
    const codes = Int8Array.from({ length: 256 }, (_, i) => ((i * 5) % 3) - 1);
    const out = new Float32Array(256);
    dequantizeBitnetBlock(packTernary(codes), 0.25, out);
    expect(Array.from(out)).toEqual(Array.from(codes, (c) => c * 0.25));
    expect(() => dequantizeBitnetBlock(new Uint8Array(10), 1, out)).toThrow(TernaryLengthError);
  });
});

describe('computeDequantError', () => {
  it('returns MAE, MSE and max abs error', () => {
    expect(computeDequantError([1, 2, 3], [1, 0, 4])).toEqual({ mae: 1, mse: 5 / 3, maxAbs: 2 });
    expect(computeDequantError([], [])).toEqual({ mae: 0, mse: 0, maxAbs: 0 });
    expect(computeDequantError([Number.NaN, 0], [0, 5]).maxAbs).toBeNaN();
    expect(() => computeDequantError([1], [1, 2])).toThrow(TernaryLengthError);
  });

  it('is zero exactly for equal inputs and symmetric', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 })), (xs) => {
        expect(computeDequantError(xs, xs)).toEqual({ mae: 0, mse: 0, maxAbs: 0 });
        const ys = xs.map((x) => x + 1);
        const forward = computeDequantError(xs, ys);
        expect(computeDequantError(ys, xs)).toEqual(forward);
      }),
    );
  });
});
