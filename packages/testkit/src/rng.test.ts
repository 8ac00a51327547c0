import { describe, expect, it } from 'vitest';
import { createRng, randomFloats, randomTernary } from './rng.js';

describe('createRng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    const sb = Array.from({ length: 8 }, () => b.nextU32());
    const sc = Array.from({ length: 8 }, () => c.nextU32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('produces deviates with the expected moments', () => {
    const n = 200_000;
    for (const [dist, variance] of [
      ['gaussian', 1],
      ['laplace', 2],
      ['uniform', 1 / 3],
    ] as const) {
      const x = randomFloats(n, 7, dist);
      let sum = 0;
      let sq = 0;
      for (const v of x) {
        sum += v;
        sq += v * v;
      }
      const mean = sum / n;
      expect(Math.abs(mean)).toBeLessThan(0.02);
      expect(sq / n - mean * mean).toBeCloseTo(variance, 1);
    }
  });

  it('makes ternary data with the requested zero fraction', () => {
    const t = randomTernary(100_000, 3, 0.25);
    let zeros = 0;
    for (const v of t) {
      expect(v === -1 || v === 0 || v === 1).toBe(true);
      if (v === 0) zeros++;
    }
    expect(zeros / t.length).toBeCloseTo(0.25, 2);
  });
});
