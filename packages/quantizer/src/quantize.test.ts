import { computeDequantError, unpackTernary } from '@trit/ternary';
import { randomFloats } from '@trit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { absmeanTernary } from './absmean.js';
import { QuantizeError } from './errors.js';
import { quantizeTensor } from './quantize.js';

function blockMse(w: Float32Array, recon: Float32Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += (w[i] - recon[i]) ** 2;
  return sum;
}

describe('quantizeTensor', () => {
  it('without optimizeScales is absmean per flat block, bit for bit (blocks may straddle rows)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        (rows, cols, blockSize, seed) => {
          const w = randomFloats(rows * cols, seed, 'laplace', 0.02);
          const tensor = quantizeTensor(w, [rows, cols], { blockSize, optimizeScales: false });
          expect(tensor.blockSize).toBe(blockSize);
          const codes = tensor.codes();
          for (let b = 0; b * blockSize < w.length; b++) {
            const start = b * blockSize;
            const end = Math.min(start + blockSize, w.length);
            const expected = absmeanTernary(w.subarray(start, end));
            expect(tensor.scales[b]).toBe(expected.scale);
            expect(Array.from(codes.subarray(start, end))).toEqual(Array.from(expected.codes));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('accepts plain number arrays', () => {
    const tensor = quantizeTensor([0.5, -0.3, 0, 0.8], [2, 2], { optimizeScales: false });
    expect(Array.from(unpackTernary(tensor.packed, 4))).toEqual([1, -1, 0, 1]);
  });

  it('rejects zero dimensions, bad block sizes and length mismatches', () => {
    const w = new Float32Array(6);
    expect(() => quantizeTensor(w, [0, 6])).toThrow(/rows must be a positive integer, got 0/);
    expect(() => quantizeTensor(w, [6, 0])).toThrow(QuantizeError);
    expect(() => quantizeTensor(w, [2, 3], { blockSize: 0 })).toThrow(/blockSize: must be a positive integer/);
    expect(() => quantizeTensor(w, [2, 3], { blockSize: -4 })).toThrow(/blockSize/);
    expect(() => quantizeTensor(w, [2, 4], {}, { name: 'blk.0.attn_q.weight' })).toThrow(
      'tensor "blk.0.attn_q.weight": expected 8 weights for shape 2×4, found 6',
    );
  });

  it('names the first non-finite weight and its value', () => {
    const w = new Float32Array(600);
    w[300] = Number.NaN;
    w[500] = Number.POSITIVE_INFINITY;
    expect(() => quantizeTensor(w, [2, 300])).toThrow('weight 300 is NaN; weights must be finite');
    w[300] = 1;
    try {
      quantizeTensor(w, [2, 300], {}, { name: 'x' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(QuantizeError);
      expect((error as QuantizeError).index).toBe(500);
      expect((error as Error).message).toBe('tensor "x": weight 500 is Infinity; weights must be finite');
    }
  });

  it('with optimizeScales never does worse than absmean on any block', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 700 }),
        fc.nat(),
        fc.constantFrom('gaussian', 'laplace', 'uniform' as const),
        (n, seed, dist) => {
          const w = randomFloats(n, seed, dist);
          const plain = quantizeTensor(w, [1, n], { optimizeScales: false }).dequantize();
          const tuned = quantizeTensor(w, [1, n], { optimizeScales: true }).dequantize();
          for (let start = 0; start < n; start += 256) {
            const end = Math.min(start + 256, n);
            expect(blockMse(w, tuned, start, end)).toBeLessThanOrEqual(
              blockMse(w, plain, start, end) * (1 + 1e-6) + 1e-12,
            );
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('with optimizeScales cuts MSE by at least 10% on Gaussian and Laplace weights', () => {
    for (const dist of ['gaussian', 'laplace'] as const) {
      const w = randomFloats(256 * 512, 11, dist, 0.02);
      const plain = computeDequantError(w, quantizeTensor(w, [256, 512], { optimizeScales: false }).dequantize());
      const tuned = computeDequantError(w, quantizeTensor(w, [256, 512], { optimizeScales: true }).dequantize());
      expect(1 - tuned.mse / plain.mse).toBeGreaterThan(0.1);
    }
  });

  it('with optimizeScales recovers BitNet-style ternary × scale weights exactly', () => {
    const s = Math.fround(0.0123);
    const w = Float32Array.from({ length: 1024 }, (_, i) => ((i * 7919) % 3 === 0 ? 0 : (i * 31) % 2 ? s : -s));
    const tuned = quantizeTensor(w, [4, 256], { optimizeScales: true });
    expect(Array.from(tuned.dequantize())).toEqual(Array.from(w));
    // Plain absmean keeps the codes but scales by mean|w|, which is smaller than s.
    const plain = quantizeTensor(w, [4, 256], { optimizeScales: false });
    expect(Array.from(plain.codes())).toEqual(Array.from(tuned.codes()));
    expect(plain.scales[0]).toBeLessThan(s);
  });

  it('keeps an all-zero block at zero codes with the epsilon scale', () => {
    const tensor = quantizeTensor(new Float32Array(256), [1, 256]);
    expect(tensor.sparsity()).toBe(1);
    expect(tensor.scales[0]).toBe(Math.fround(1e-8));
  });
});

describe('quantizeTensor overflow', () => {
  it('reports a block whose |w| sum overflows float32 instead of an infinite scale', () => {
    const w = Float32Array.of(3e38, 3e38, 1, 1);
    expect(() => quantizeTensor(w, [1, 4], { blockSize: 2 })).toThrow(
      /block 0 \(weights 0–1\): the sum of \|w\| overflows float32/,
    );
  });
});
