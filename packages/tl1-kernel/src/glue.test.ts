// The glue fused into gemm and gemmMany (KERNEL.md §10): its JS definitions against plain
// ones, and every implementation and thread count against the same steps run one by one
// (gate, then norm, then the product, then the residual), bit for bit.
import { createRng, sameFloat32 } from '@trit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quantizeTokens } from './activations.js';
import { KernelShapeError } from './errors.js';
import { useEveryKernel } from './every-kernel.js';
import { addResidual, type GatedActivation, type GemmGlue, gatedActivation } from './glue.js';
import type { PreparedMatrix, TernaryKernel } from './kernel.js';
import { loadNativeAddon } from './native/driver.js';
import { jsRmsNorm } from './norm.js';
import { caseDense, caseTernary } from './vectors.js';

const kernels = useEveryKernel();

/** relu²(g)·up as defined, with Math.max (the branchy form glue.ts avoids). */
function relu2Plain(gate: Float32Array, up: Float32Array): Float32Array {
  return gate.map((g, i) => Math.max(g, 0) * Math.max(g, 0) * (up[i] as number));
}

const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])));

describe('gatedActivation relu2', () => {
  it('gives the bits of max(g, 0)² · up for the special values', () => {
    const specials = [
      -Infinity,
      Infinity,
      Number.NaN,
      -0,
      0,
      -1e-45,
      1e-45,
      1e-20,
      -1e-20,
      -3.4e38,
      3.4e38,
      -1.5,
      2.25,
    ];
    const gate = new Float32Array(specials.flatMap((g) => specials.map(() => g)));
    const up = new Float32Array(specials.flatMap(() => specials));
    const want = relu2Plain(gate, up);
    gatedActivation(gate, up, gate.length, 'relu2');
    expect(sameBits(gate, want)).toBe(true);
  });

  it('gives the bits of max(g, 0)² · up for any float32 bit patterns (property)', () => {
    fc.assert(
      fc.property(
        fc.uint32Array({ minLength: 1, maxLength: 64 }),
        fc.uint32Array({ minLength: 64, maxLength: 64 }),
        (g, u) => {
          const gate = new Float32Array(g.buffer.slice(0));
          const up = new Float32Array(u.buffer.slice(0, 4 * g.length));
          const want = relu2Plain(gate, up);
          const out = new Float32Array(gate.length);
          gatedActivation(gate, up, gate.length, 'relu2', out);
          return sameBits(out, want);
        },
      ),
    );
  });

  it('silu and gelu follow their formulas', () => {
    const g = new Float32Array([-2, -0.5, 0, 0.5, 3]);
    const up = new Float32Array([1, 2, 3, 4, 0.5]);
    const silu = new Float32Array(5);
    const gelu = new Float32Array(5);
    gatedActivation(g, up, 5, 'silu', silu);
    gatedActivation(g, up, 5, 'gelu', gelu);
    g.forEach((x, i) => {
      expect(silu[i]).toBeCloseTo((x / (1 + Math.exp(-x))) * (up[i] as number), 6);
      // GELU's tanh form is within 1e-3 of x·Φ(x); Φ(x) = (1 + erf(x/√2))/2, erf by its series
      const erf = (z: number) => {
        let sum = 0;
        let term = z;
        for (let n = 0; n < 60; n++) {
          sum += term / (2 * n + 1);
          term *= (-z * z) / (n + 1);
        }
        return (2 / Math.sqrt(Math.PI)) * sum;
      };
      expect(Math.abs((gelu[i] as number) - x * 0.5 * (1 + erf(x / Math.SQRT2)) * (up[i] as number))).toBeLessThan(
        2e-3,
      );
    });
  });
});

describe('addResidual', () => {
  it('adds y·scale in float64 and rounds once', () => {
    const into = new Float32Array([1, 1e8, -3]);
    addResidual(into, new Float32Array([2 ** -30, 3, 0.1]), 1);
    expect(Array.from(into)).toEqual([Math.fround(1 + 2 ** -30), 1e8, Math.fround(-3 + Math.fround(0.1))]);
    addResidual(into, new Float32Array([1, 1, 1]), 0.5);
    expect(into[2]).toBe(Math.fround(Math.fround(-3 + Math.fround(0.1)) + 0.5));
  });
});

/** The steps the glue fuses, one by one with the kernel's plain calls and the JS definitions. */
function unfused(
  k: TernaryKernel,
  ms: readonly PreparedMatrix[],
  X: Float32Array,
  nTokens: number,
  glue: GemmGlue,
  residual: Float32Array | undefined,
): Float32Array[] {
  const cols = (ms[0] as PreparedMatrix).cols;
  let input = X;
  if (glue.gate) {
    input = new Float32Array(X.length);
    gatedActivation(X, glue.gate.up, X.length, glue.gate.activation, input);
  }
  if (glue.norm) {
    const out = new Float32Array(X.length);
    jsRmsNorm({ x: input, out, weight: glue.norm.weight, nTokens, n: cols, eps: glue.norm.eps });
    input = out;
  }
  const ys = ms.map((m) => k.gemm(m, input, nTokens));
  if (residual && glue.residual) addResidual(residual, ys[0] as Float32Array, glue.residual.scale);
  return ys;
}

function matrices(k: TernaryKernel, cols: number, seed: number): PreparedMatrix[] {
  const ternary = (source: string, rows: number, s: number) =>
    k.prepare(
      caseTernary({
        id: source,
        kind: 'ternary',
        rows,
        cols,
        source,
        seed: s,
        activations: 'normal',
        nTokens: 1,
      }).input,
    );
  const f16 = caseDense({
    id: 'f16',
    kind: 'dense',
    rows: 5,
    cols,
    type: 'f16',
    seed,
    activations: 'normal',
    nTokens: 1,
  });
  return [
    ternary('tq2_0', 9, seed),
    ternary('tq1_0', 4, seed + 1),
    ternary('i2_s', 16, seed + 2),
    k.prepareDense({ type: 'f16', data: f16, rows: 5, cols }),
  ];
}

describe('gemm and gemmMany with glue', () => {
  const cols = 512;

  function check(
    activation: GatedActivation | undefined,
    withNorm: boolean,
    scale: number | undefined,
    nTokens: number,
    seed: number,
  ): string[] {
    const rng = createRng(seed);
    const X = Float32Array.from({ length: nTokens * cols }, () => (rng.nextFloat() * 2 - 1) * 4);
    const up = Float32Array.from({ length: nTokens * cols }, () => rng.nextFloat() * 2 - 1);
    const weight = Float32Array.from({ length: cols }, () => rng.nextFloat() + 0.5);
    const base = Float32Array.from({ length: 64 * nTokens }, () => rng.nextFloat() * 10 - 5);
    const wrong: string[] = [];
    for (const k of kernels) {
      const ms = matrices(k, cols, seed);
      const glueFor = (into: Float32Array | undefined): GemmGlue => ({
        ...(activation ? { gate: { up, activation } } : {}),
        ...(withNorm ? { norm: { weight, eps: 1e-5 } } : {}),
        ...(into && scale !== undefined ? { residual: { into, scale } } : {}),
      });
      // one matrix at a time, each with a residual
      for (const [i, m] of ms.entries()) {
        const wantInto = base.slice(0, nTokens * m.rows);
        const [want] = unfused(k, [m], X, nTokens, glueFor(wantInto), wantInto);
        const gotInto = base.slice(0, nTokens * m.rows);
        const Xc = X.slice();
        const got = k.gemm(m, Xc, nTokens, undefined, glueFor(gotInto));
        if (!sameFloat32(got, want as Float32Array)) wrong.push(`${k.name} ×${k.threads} gemm[${i}]`);
        if (!sameFloat32(gotInto, wantInto)) wrong.push(`${k.name} ×${k.threads} gemm[${i}] residual`);
        if (!sameFloat32(Xc, X)) wrong.push(`${k.name} ×${k.threads} gemm[${i}] wrote X`);
      }
      // all of them over one glued input
      const want = unfused(k, ms, X, nTokens, glueFor(undefined), undefined);
      const got = ms.map((m) => new Float32Array(nTokens * m.rows));
      k.gemmMany(ms, X, nTokens, got, glueFor(undefined));
      got.forEach((y, i) => {
        if (!sameFloat32(y, want[i] as Float32Array)) wrong.push(`${k.name} ×${k.threads} gemmMany[${i}]`);
      });
    }
    return wrong;
  }

  it('gives the bits of the steps one by one on every implementation, for each activation, with and without the norm', () => {
    expect(kernels.some((k) => k.name.startsWith('native')) || process.arch !== 'x64').toBe(true);
    for (const activation of ['relu2', 'silu', 'gelu', undefined] as const)
      for (const withNorm of [true, false]) expect(check(activation, withNorm, 1, 3, 11)).toEqual([]);
    expect(check('relu2', true, 0.75, 1, 12)).toEqual([]);
    expect(check(undefined, false, 2.5, 5, 13)).toEqual([]);
  });

  it('gives the bits of the steps one by one for gates of special values (−∞, ±0, NaN, huge, tiny)', () => {
    const rng = createRng(3);
    const T = 5;
    const n = T * cols;
    const X = Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
    // each token's own specials, so one degenerate value does not hide another
    for (let i = 0; i < cols; i += 7) X[i] = Number.NEGATIVE_INFINITY;
    X[cols + 7] = Number.NaN;
    for (let i = 2 * cols; i < 3 * cols; i += 3) X[i] = i % 2 ? -0 : 0;
    for (let i = 2 * cols + 1; i < 3 * cols; i += 11) X[i] = i % 2 ? 1e-30 : -1e-45;
    X[3 * cols + 9] = 3e38;
    X[4 * cols + 9] = -3e38;
    const up = Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
    const weight = Float32Array.from({ length: cols }, () => rng.nextFloat() + 0.5);
    for (const k of kernels)
      for (const m of matrices(k, cols, 4))
        for (const glue of [
          { gate: { up, activation: 'relu2' as const } },
          { gate: { up, activation: 'relu2' as const }, norm: { weight, eps: 1e-6 } },
        ]) {
          const [want] = unfused(k, [m], X, T, glue, undefined);
          expect([
            k.name,
            k.threads,
            m.rows,
            sameFloat32(k.gemm(m, X, T, undefined, glue), want as Float32Array),
          ]).toEqual([k.name, k.threads, m.rows, true]);
        }
  });

  it('gives the bits of the steps one by one on every implementation (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<GatedActivation | undefined>('relu2', 'silu', undefined),
        fc.boolean(),
        fc.constantFrom(1, 0.5, -3),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (activation, withNorm, scale, nTokens, seed) => check(activation, withNorm, scale, nTokens, seed).length === 0,
      ),
      { numRuns: 12 },
    );
  });

  it('rejects a glue that does not fit the call, naming the field', () => {
    for (const k of kernels) {
      const [m] = matrices(k, cols, 1) as [PreparedMatrix];
      const X = new Float32Array(2 * cols);
      const up = new Float32Array(2 * cols);
      const weight = new Float32Array(cols);
      const bad: [GemmGlue, RegExp][] = [
        [{ gate: { up: up.subarray(1), activation: 'relu2' } }, /glue\.gate\.up length/],
        [{ gate: { up, activation: 'swish' as GatedActivation } }, /glue\.gate\.activation/],
        [{ norm: { weight: weight.subarray(1), eps: 1e-5 } }, /glue\.norm\.weight length/],
        [{ norm: { weight, eps: Number.NaN } }, /glue\.norm\.eps/],
        [{ residual: { into: new Float32Array(3), scale: 1 } }, /glue\.residual\.into length/],
        [
          { residual: { into: new Float32Array(2 * m.rows), scale: Number.POSITIVE_INFINITY } },
          /glue\.residual\.scale/,
        ],
      ];
      for (const [glue, message] of bad) {
        expect(() => k.gemm(m, X, 2, undefined, glue)).toThrow(KernelShapeError);
        expect(() => k.gemm(m, X, 2, undefined, glue)).toThrow(message);
      }
      const two = [m, m];
      const ys = [new Float32Array(2 * m.rows), new Float32Array(2 * m.rows)];
      expect(() => k.gemmMany(two, X, 2, ys, { residual: { into: new Float32Array(2 * m.rows), scale: 1 } })).toThrow(
        /gemmMany: glue\.residual/,
      );
    }
  });
});

describe.runIf(process.arch === 'x64')('the addon’s quantizeGlued', () => {
  it('checks its arguments', async () => {
    const addon = await loadNativeAddon();
    const X = new Float32Array(256);
    const q = new Int8Array(512);
    const prefix = new Int32Array(514);
    const scales = new Float32Array(1);
    const call = (up: Float32Array | null, act: number, w: Float32Array | null, eps: number) => () =>
      addon.quantizeGlued?.(X, 1, 256, 384, q, prefix, scales, up, act, w, eps);
    expect(call(null, 1, null, 0)).toThrow(/activation: expected 1 \(relu2\) with up and 0 without/);
    expect(call(new Float32Array(256), 0, null, 0)).toThrow(/activation/);
    expect(call(new Float32Array(255), 1, null, 0)).toThrow(/up\.length: expected >= nTokens\*cols = 256, found 255/);
    expect(call(null, 0, new Float32Array(255), 0)).toThrow(/weight\.length: expected >= cols = 256, found 255/);
    expect(call(null, 0, new Float32Array(256), -1)).toThrow(/eps/);
    expect(call(null, 2, null, 0)).toThrow(/activation/);
    expect(() =>
      (addon.quantizeGlued as unknown as (...a: unknown[]) => void)(X, 1, 256, 384, q, prefix, scales),
    ).toThrow(/quantizeGlued: expected 11 arguments/);
  });

  it('gives the bits of the steps one by one at any length, on every instruction set', async () => {
    const addon = await loadNativeAddon();
    const isas = ['avx512gfni', 'avx2', 'scalar'].filter((isa) => {
      try {
        addon.setIsa(isa);
        return true;
      } catch {
        return false;
      }
    });
    const specials = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NaN, -0, 0, 3e38, -3e38, 1e-45, -2.5];
    try {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 1, max: 3 }),
          fc.boolean(),
          fc.boolean(),
          fc.integer({ min: 0, max: 0xffffffff }),
          (cols, nTokens, withUp, withNorm, seed) => {
            const rng = createRng(seed);
            const value = () =>
              rng.nextFloat() < 0.1
                ? (specials[rng.nextInt(specials.length)] as number)
                : (rng.nextFloat() * 2 - 1) * 8;
            const X = Float32Array.from({ length: nTokens * cols }, value);
            const up = withUp ? Float32Array.from({ length: nTokens * cols }, value) : null;
            const weight = withNorm ? Float32Array.from({ length: cols }, () => rng.nextFloat() + 0.5) : null;
            const input = X.slice();
            if (up) gatedActivation(X, up, X.length, 'relu2', input);
            if (weight) jsRmsNorm({ x: input, out: input, weight, nTokens, n: cols, eps: 1e-5 });
            const qStride = cols + 5;
            const want = quantizeTokens(input, nTokens, cols, qStride);
            for (const isa of isas) {
              addon.setIsa(isa);
              const q = new Int8Array(nTokens * qStride).fill(99);
              const prefix = new Int32Array(nTokens * (qStride + 1)).fill(99);
              const actScales = new Float32Array(nTokens);
              addon.quantizeGlued?.(X, nTokens, cols, qStride, q, prefix, actScales, up, up ? 1 : 0, weight, 1e-5);
              expect([isa, Array.from(q), Array.from(prefix), sameFloat32(actScales, want.actScales)]).toEqual([
                isa,
                Array.from(want.q),
                Array.from(want.prefix),
                true,
              ]);
            }
          },
        ),
        { numRuns: 200 },
      );
    } finally {
      addon.setIsa('auto');
    }
  });
});
