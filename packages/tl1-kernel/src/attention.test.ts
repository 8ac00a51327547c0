import { floatToHalfBits, halfToFloatTable } from '@trit/ternary';
import { createRng, sameFloat32 } from '@trit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AttentionInput, exp32, jsAttention } from './attention.js';
import { KernelShapeError } from './errors.js';
import { useEveryKernel } from './every-kernel.js';

interface Shape {
  heads: number;
  kvHeads: number;
  headDim: number;
  start: number;
  nTokens: number;
}

/** The input with an f16 cache holding the halves nearest its f32 cache. */
function asHalfCache(a: AttentionInput): AttentionInput {
  const half = (c: AttentionInput['keys']) => Uint16Array.from(c as Float32Array, (v) => floatToHalfBits(v));
  return { ...a, keys: half(a.keys), values: half(a.values), out: new Float32Array(a.out.length) };
}

/** The input with its last nTokens cache positions passed as newKeys/newValues, and garbage left in their place. */
function withNewKv(a: AttentionInput): AttentionInput {
  const n = a.nTokens * a.kvHeads * a.headDim;
  const at = a.start * a.kvHeads * a.headDim;
  const keys = a.keys.slice();
  const values = a.values.slice();
  keys.fill(7, at);
  values.fill(7, at);
  return {
    ...a,
    keys,
    values,
    newKeys: Float32Array.from((a.keys as Float32Array).subarray(at, at + n)),
    newValues: Float32Array.from((a.values as Float32Array).subarray(at, at + n)),
    out: new Float32Array(a.out.length),
  };
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
  const kernels = useEveryKernel();

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
          cache: fc.constantFrom('f32', 'f16'),
          store: fc.boolean(),
        }),
        ({ kvHeads, group, headDim, start, nTokens, seed, magnitude, cache, store }) => {
          const shape = { heads: kvHeads * group, kvHeads, headDim, start, nTokens };
          const runs = kernels.map((k) => {
            let a = makeInput(shape, seed, magnitude);
            if (store) a = withNewKv(a);
            if (cache === 'f16') a = asHalfCache(a);
            k.attention(a);
            return a;
          });
          const first = runs[0]!;
          for (let i = 1; i < runs.length; i++) {
            const a = runs[i]!;
            expect([
              kernels[i]?.name,
              kernels[i]?.threads,
              sameFloat32(a.out, first.out),
              Buffer.from(a.keys.buffer).equals(Buffer.from(first.keys.buffer)),
              Buffer.from(a.values.buffer).equals(Buffer.from(first.values.buffer)),
            ]).toEqual([kernels[i]?.name, kernels[i]?.threads, true, true, true]);
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('an f16 cache gives the bits of an f32 cache holding the same (widened) values, on every kernel', () => {
    const table = halfToFloatTable();
    for (const kernel of kernels) {
      const half = asHalfCache(makeInput({ heads: 8, kvHeads: 2, headDim: 72, start: 41, nTokens: 3 }, 5, 4));
      const wide = {
        ...half,
        keys: Float32Array.from(half.keys as Uint16Array, (b) => table[b] as number),
        values: Float32Array.from(half.values as Uint16Array, (b) => table[b] as number),
        out: new Float32Array(half.out.length),
      };
      kernel.attention(half);
      kernel.attention(wide);
      expect([kernel.name, kernel.threads, sameFloat32(half.out, wide.out)]).toEqual([
        kernel.name,
        kernel.threads,
        true,
      ]);
    }
  });

  it('stores newKeys/newValues into the cache first: copied into f32, rounded to nearest even into f16', () => {
    // Ties at 1 and at the largest half, overflow to ∞, subnormal halves and their ties, float
    // subnormals, signed zeros, infinities and NaNs (with a payload, which the half does not keep).
    const specials = [
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      65504,
      65519.99,
      65520,
      -70000,
      2 ** -24,
      2 ** -25,
      3 * 2 ** -25,
      1.5 * 2 ** -24,
      2 ** -14 - 2 ** -25,
      1e-45,
      -1e-40,
      -0,
      0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
    ];
    const nanWithPayload = new Float32Array(new Uint32Array([0xffc01234]).buffer)[0] as number;
    const rng = createRng(11);
    const bits = new Uint32Array(4096).map(() => rng.nextU32());
    // A NaN in every group of 8 too, so SIMD stores that hand such groups to scalar code are checked.
    const spread = specials.flatMap((v, i) => (i % 7 === 6 ? [v, nanWithPayload] : [v]));
    const values = Float32Array.from([...spread, nanWithPayload, ...new Float32Array(bits.buffer)]);
    const headDim = values.length;
    for (const kernel of kernels) {
      for (const type of ['f32', 'f16'] as const) {
        const make = () => (type === 'f32' ? new Float32Array(2 * headDim) : new Uint16Array(2 * headDim).fill(0x1234));
        const a: AttentionInput = {
          q: new Float32Array(headDim),
          keys: make(),
          values: make(),
          newKeys: values,
          newValues: values.map((v) => -v),
          out: new Float32Array(headDim),
          heads: 1,
          kvHeads: 1,
          headDim,
          start: 1,
          nTokens: 1,
          scale: 1,
        };
        kernel.attention(a);
        const want = (src: Float32Array) =>
          type === 'f32'
            ? new Uint8Array(src.slice().buffer)
            : new Uint8Array(Uint16Array.from(src, floatToHalfBits).buffer);
        const got = (c: AttentionInput['keys']) => new Uint8Array(c.slice(headDim).buffer);
        expect([kernel.name, type, got(a.keys), got(a.values)]).toEqual([
          kernel.name,
          type,
          want(a.newKeys!),
          want(a.newValues!),
        ]);
      }
    }
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
    const half = asHalfCache(good);
    expect(() => kernel.attention({ ...good, values: half.values })).toThrow(
      /values.*Float32Array like keys.*Uint16Array/,
    );
    expect(() => kernel.attention({ ...good, keys: new Int16Array(80) as never })).toThrow(
      /keys.*Uint16Array of halves/,
    );
    expect(() => kernel.attention({ ...good, newKeys: new Float32Array(16) })).toThrow(/both or neither/);
    expect(() => kernel.attention({ ...good, newKeys: new Float32Array(31), newValues: new Float32Array(32) })).toThrow(
      /newKeys length.*at least 32, found 31/,
    );
  });
});
