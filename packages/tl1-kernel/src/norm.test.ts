// RMSNorm: src/norm.ts against its float64 definition, and every implementation and
// thread count against src/norm.ts bit for bit (special values, in place, property).
import { createRng, sameFloat32 } from '@trit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KernelShapeError } from './errors.js';
import { useEveryKernel } from './every-kernel.js';
import type { TernaryKernel } from './kernel.js';
import { jsRmsNorm, type RmsNormInput } from './norm.js';

const kernels = useEveryKernel();

function input(x: Float32Array, weight: Float32Array, nTokens: number, eps: number, inPlace = false): RmsNormInput {
  const xs = new Float32Array(x);
  return { x: xs, out: inPlace ? xs : new Float32Array(x.length), weight, nTokens, n: weight.length, eps };
}

/** Every kernel's output for `make()` against jsRmsNorm's. */
function allSame(make: () => RmsNormInput): string[] {
  const want = make();
  jsRmsNorm(want);
  const wrong: string[] = [];
  for (const k of kernels) {
    const got = make();
    k.rmsNorm(got);
    if (!sameFloat32(got.out, want.out)) wrong.push(`${k.name} ×${k.threads}`);
  }
  return wrong;
}

describe('rmsNorm', () => {
  it('is x / √(mean(x²) + eps) · weight, rounded once to float32', () => {
    const rng = createRng(5);
    const n = 300;
    const x = Float32Array.from({ length: 2 * n }, () => rng.nextFloat() * 6 - 3);
    const w = Float32Array.from({ length: n }, () => rng.nextFloat() + 0.5);
    const a = input(x, w, 2, 1e-6);
    jsRmsNorm(a);
    for (let t = 0; t < 2; t++) {
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (x[t * n + i] as number) ** 2;
      const s = 1 / Math.sqrt(ss / n + 1e-6);
      for (let i = 0; i < n; i++)
        expect(a.out[t * n + i]).toBeCloseTo(Math.fround((x[t * n + i] as number) * s * (w[i] as number)), 6);
    }
  });

  it('gives the same bits on every implementation: special values, in place, rows split over threads', () => {
    expect(kernels.some((k) => k.name.startsWith('native')) || process.arch !== 'x64').toBe(true);
    const n = 4099;
    const rng = createRng(9);
    const rows = 9;
    const x = Float32Array.from({ length: rows * n }, () => rng.nextFloat() * 40 - 20);
    x.set([Number.NaN, 1], 0); // a NaN row
    x[n] = Number.POSITIVE_INFINITY; // an infinite row
    x.fill(0, 2 * n, 3 * n); // zeros: scale 1/√eps
    x.fill(1e-30, 3 * n, 4 * n); // squares below float32, not below float64
    x.fill(3e38, 4 * n, 5 * n); // squares beyond float32
    x.fill(-0, 5 * n, 5 * n + 7);
    const w = Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
    w[3] = Number.NaN;
    for (const inPlace of [false, true])
      for (const eps of [1e-5, 1e-6, 0]) expect(allSame(() => input(x, w, rows, eps, inPlace))).toEqual([]);
  });

  it('gives the same bits on every implementation (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.boolean(),
        (nTokens, n, seed, inPlace) => {
          const rng = createRng(seed);
          const x = Float32Array.from({ length: nTokens * n }, () => (rng.nextFloat() * 2 - 1) * 10 ** rng.nextInt(8));
          const w = Float32Array.from({ length: n }, () => rng.nextFloat() * 2);
          return allSame(() => input(x, w, nTokens, 1e-5, inPlace)).length === 0;
        },
      ),
      { numRuns: 60 },
    );
  });

  it('names what is wrong with its arguments', () => {
    const k = kernels[0] as TernaryKernel;
    const ok = input(new Float32Array(8), new Float32Array(4), 2, 1e-5);
    expect(() => k.rmsNorm({ ...ok, out: new Float32Array(7) })).toThrow(KernelShapeError);
    expect(() => k.rmsNorm({ ...ok, weight: new Float32Array(3), n: 4 })).toThrow(/weight length/);
    expect(() => k.rmsNorm({ ...ok, n: 0 })).toThrow(/rmsNorm: n/);
    expect(() => k.rmsNorm({ ...ok, x: [1, 2] as unknown as Float32Array })).toThrow(/Float32Array/);
  });
});
