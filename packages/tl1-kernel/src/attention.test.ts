import { createRng, sameFloat32 } from '@trit/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttentionInput, exp32, jsAttention } from './attention.js';
import { KernelShapeError } from './errors.js';
import type { TernaryKernel } from './kernel.js';
import { loadKernel } from './select.js';

interface Shape {
  heads: number;
  kvHeads: number;
  headDim: number;
  start: number;
  nTokens: number;
}

function makeInput(shape: Shape, seed: number, magnitude = 1): AttentionInput {
  const rng = createRng(seed);
  const { heads, kvHeads, headDim, start, nTokens } = shape;
  const fill = (n: number) => Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * magnitude);
  const cache = (start + nTokens) * kvHeads * headDim;
  return {
    q: fill(nTokens * heads * headDim),
    keys: fill(cache),
    values: fill(cache),
    out: new Float32Array(nTokens * heads * headDim),
    ...shape,
    scale: 1 / Math.sqrt(headDim),
  };
}

/** Attention in float64 with Math.exp: what the float32 kernels approximate. */
function reference(a: AttentionInput): Float64Array {
  const { heads, kvHeads, headDim: hd, start, nTokens } = a;
  const out = new Float64Array(nTokens * heads * hd);
  const group = heads / kvHeads;
  for (let t = 0; t < nTokens; t++)
    for (let h = 0; h < heads; h++) {
      const span = start + t + 1;
      const kvAt = Math.floor(h / group) * hd;
      const s = new Float64Array(span);
      for (let p = 0; p < span; p++) {
        let dot = 0;
        for (let i = 0; i < hd; i++) dot += a.q[(t * heads + h) * hd + i] * a.keys[p * kvHeads * hd + kvAt + i];
        s[p] = dot * a.scale;
      }
      const max = Math.max(...s);
      let sum = 0;
      for (let p = 0; p < span; p++) sum += s[p] = Math.exp(s[p] - max);
      for (let p = 0; p < span; p++)
        for (let i = 0; i < hd; i++)
          out[(t * heads + h) * hd + i] += (s[p] / sum) * a.values[p * kvHeads * hd + kvAt + i];
    }
  return out;
}

describe('exp32', () => {
  it('is within 2e-7 relative of Math.exp over the softmax range, and exact at 0', () => {
    expect(exp32(0)).toBe(1);
    let worst = 0;
    for (let x = -87; x <= 0; x += 0.00137) {
      const e = exp32(Math.fround(x));
      const exact = Math.exp(Math.fround(x));
      worst = Math.max(worst, Math.abs(e - exact) / exact);
      expect(e).toBe(Math.fround(e));
    }
    expect(worst).toBeLessThan(2e-7);
  });

  it('underflows to 0 below -87 and propagates NaN', () => {
    expect(exp32(-87.5)).toBe(0);
    expect(exp32(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(exp32(Number.NaN)).toBeNaN();
  });
});

describe('attention', () => {
  const kernels: TernaryKernel[] = [];
  beforeAll(async () => {
    for (const implementation of ['js', 'wasm', 'native'] as const) {
      for (const threads of [1, 2]) {
        try {
          kernels.push(await loadKernel({ implementation, threads }));
        } catch (error) {
          if (implementation === 'native' && process.arch === 'x64') throw error;
        }
      }
    }
  });
  afterAll(async () => {
    for (const k of kernels) await k.dispose();
  });

  it('matches float64 attention closely (GQA, prefill after a cached prefix)', () => {
    const a = makeInput({ heads: 8, kvHeads: 2, headDim: 64, start: 37, nTokens: 5 }, 1, 2);
    jsAttention(a);
    const exact = reference(a);
    let err = 0;
    let norm = 0;
    for (let i = 0; i < exact.length; i++) {
      err += (a.out[i] - exact[i]) ** 2;
      norm += exact[i] ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(1e-6);
  });

  it('gives the same bits on every kernel and thread count, for any shape', () => {
    expect(kernels.length).toBeGreaterThanOrEqual(process.arch === 'x64' ? 6 : 2);
    fc.assert(
      fc.property(
        fc.record({
          kvHeads: fc.integer({ min: 1, max: 4 }),
          group: fc.constantFrom(1, 2, 3, 4, 5, 6, 8),
          headDim: fc.oneof(fc.constantFrom(8, 32, 64, 128), fc.integer({ min: 1, max: 80 })),
          start: fc.integer({ min: 0, max: 90 }),
          nTokens: fc.integer({ min: 1, max: 9 }),
          seed: fc.integer({ min: 0, max: 1e6 }),
          magnitude: fc.constantFrom(0.1, 1, 8),
        }),
        ({ kvHeads, group, headDim, start, nTokens, seed, magnitude }) => {
          const shape = { heads: kvHeads * group, kvHeads, headDim, start, nTokens };
          const outs = kernels.map((k) => {
            const a = makeInput(shape, seed, magnitude);
            k.attention(a);
            return a.out;
          });
          for (let i = 1; i < outs.length; i++)
            expect([kernels[i]?.name, kernels[i]?.threads, sameFloat32(outs[i]!, outs[0]!)]).toEqual([
              kernels[i]?.name,
              kernels[i]?.threads,
              true,
            ]);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('a token sees exactly the positions up to its own', () => {
    const kernel = kernels.at(-1)!;
    const a = makeInput({ heads: 2, kvHeads: 1, headDim: 16, start: 3, nTokens: 2 }, 9);
    kernel.attention(a);
    const first = a.out.slice(0, 32);
    // Changing position 4 (seen only by the second token) leaves the first token's output alone.
    a.keys.fill(5, 4 * 16, 5 * 16);
    a.values.fill(-3, 4 * 16, 5 * 16);
    kernel.attention(a);
    expect(sameFloat32(a.out.slice(0, 32), first)).toBe(true);
    // A single position: softmax weight 1, so the output is that value row.
    const one = makeInput({ heads: 1, kvHeads: 1, headDim: 24, start: 0, nTokens: 1 }, 4);
    kernel.attention(one);
    expect(Array.from(one.out)).toEqual(Array.from(one.values));
  });

  it('propagates NaN instead of hiding it', () => {
    for (const kernel of kernels) {
      const a = makeInput({ heads: 1, kvHeads: 1, headDim: 16, start: 20, nTokens: 1 }, 2);
      a.keys[5 * 16 + 3] = Number.NaN;
      kernel.attention(a);
      expect([kernel.name, Number.isNaN(a.out[0])]).toEqual([kernel.name, true]);
    }
  });

  it('rejects bad shapes with a KernelShapeError naming the argument', () => {
    const kernel = kernels[0]!;
    const good = makeInput({ heads: 4, kvHeads: 2, headDim: 8, start: 2, nTokens: 2 }, 3);
    expect(() => kernel.attention({ ...good, heads: 3 })).toThrow(/heads.*multiple of kvHeads/);
    expect(() => kernel.attention({ ...good, start: 3 })).toThrow(/keys length.*at least 80, found 64/);
    expect(() => kernel.attention({ ...good, out: new Float32Array(3) })).toThrow(KernelShapeError);
    expect(() => kernel.attention({ ...good, nTokens: 0 })).toThrow(/nTokens/);
    expect(() => kernel.attention({ ...good, scale: Number.NaN })).toThrow(/scale/);
  });
});
