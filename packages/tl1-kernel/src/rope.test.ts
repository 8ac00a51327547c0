// Rotary position embedding: src/rope.ts against its definition, and attention with `rope` on
// every implementation against rotating q and newKeys first and attending without it, bit for bit.
import { floatToHalfBits } from '@trit/ternary';
import { createRng, sameFloat32 } from '@trit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttentionInput } from './attention.js';
import { KernelShapeError } from './errors.js';
import { useEveryKernel } from './every-kernel.js';
import { loadNativeAddon } from './native/driver.js';
import { applyRope, type RopeTables, ropeTables } from './rope.js';

const kernels = useEveryKernel();

describe('ropeTables and applyRope', () => {
  it('hold cos and sin of pos·base^(−2i/dims) rounded to float32', () => {
    const t = ropeTables(8, 10000, 5, 'neox');
    for (let pos = 0; pos < 5; pos++)
      for (let i = 0; i < 4; i++) {
        const angle = pos * 10000 ** (-i / 4);
        expect(t.cos[pos * 4 + i]).toBe(Math.fround(Math.cos(angle)));
        expect(t.sin[pos * 4 + i]).toBe(Math.fround(Math.sin(angle)));
      }
  });

  it('rotates the pairs of each mode by their angles and leaves the dimensions past dims alone', () => {
    const x0 = Float32Array.from({ length: 2 * 12 }, (_, i) => (i % 7) - 3.25);
    for (const mode of ['normal', 'neox'] as const) {
      const t = ropeTables(8, 500, 4, mode);
      const x = x0.slice();
      applyRope(t, x, 0, 2, 12, 3);
      for (let h = 0; h < 2; h++) {
        for (let i = 0; i < 4; i++) {
          const a = h * 12 + (mode === 'normal' ? 2 * i : i);
          const b = mode === 'normal' ? a + 1 : a + 4;
          const angle = 3 * 500 ** (-i / 4);
          expect(x[a]).toBeCloseTo((x0[a] as number) * Math.cos(angle) - (x0[b] as number) * Math.sin(angle), 5);
          expect(x[b]).toBeCloseTo((x0[a] as number) * Math.sin(angle) + (x0[b] as number) * Math.cos(angle), 5);
        }
        expect(x.subarray(h * 12 + 8, h * 12 + 12)).toEqual(x0.subarray(h * 12 + 8, h * 12 + 12));
      }
      const same = x0.slice();
      applyRope(t, same, 0, 2, 12, 0); // position 0: cos 1, sin 0
      expect(same).toEqual(x0);
    }
  });
});

type Shape = Pick<AttentionInput, 'heads' | 'kvHeads' | 'headDim' | 'start' | 'nTokens'>;

function makeInput(shape: Shape, seed: number, half: boolean, withNew: boolean): AttentionInput {
  const rng = createRng(seed);
  const { heads, kvHeads, headDim, start, nTokens } = shape;
  const fill = (n: number) => Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
  const cacheLength = (start + nTokens) * kvHeads * headDim;
  const cache = () => (half ? Uint16Array.from(fill(cacheLength), (v) => floatToHalfBits(v)) : fill(cacheLength));
  const n = nTokens * kvHeads * headDim;
  return {
    q: fill(nTokens * heads * headDim),
    keys: cache(),
    values: cache(),
    out: new Float32Array(nTokens * heads * headDim),
    ...shape,
    scale: 1 / Math.sqrt(headDim),
    ...(withNew ? { newKeys: fill(n), newValues: fill(n) } : {}),
  };
}

const copy = (a: AttentionInput): AttentionInput => ({
  ...a,
  q: a.q.slice(),
  keys: a.keys.slice(),
  values: a.values.slice(),
  out: new Float32Array(a.out.length),
  ...(a.newKeys ? { newKeys: a.newKeys.slice(), newValues: a.newValues?.slice() } : {}),
});

/** Names of the kernels whose attention with `rope` differs from rotating first and attending without it. */
function wrongWithRope(input: AttentionInput, rope: RopeTables): string[] {
  const { heads, kvHeads, headDim, start, nTokens } = input;
  const wrong: string[] = [];
  for (const k of kernels) {
    const want = copy(input);
    for (let t = 0; t < nTokens; t++) {
      applyRope(rope, want.q, t * heads * headDim, heads, headDim, start + t);
      if (want.newKeys) applyRope(rope, want.newKeys, t * kvHeads * headDim, kvHeads, headDim, start + t);
    }
    k.attention(want);
    const got = { ...copy(input), rope };
    k.attention(got);
    const same =
      sameFloat32(got.out, want.out) &&
      sameFloat32(got.q, want.q) &&
      (!got.newKeys || sameFloat32(got.newKeys, want.newKeys as Float32Array)) &&
      (got.keys instanceof Float32Array
        ? sameFloat32(got.keys, want.keys as Float32Array)
        : got.keys.every((v, i) => v === want.keys[i]));
    if (!same) wrong.push(`${k.name} ×${k.threads}`);
  }
  return wrong;
}

describe('attention with rope', () => {
  it('gives the bits of rotating q and newKeys first, on every implementation, for both modes and caches', () => {
    expect(kernels.some((k) => k.name.startsWith('native')) || process.arch !== 'x64').toBe(true);
    const shape = { heads: 8, kvHeads: 2, headDim: 32, start: 9, nTokens: 3 };
    for (const mode of ['normal', 'neox'] as const)
      for (const dims of [32, 16])
        for (const half of [false, true])
          for (const withNew of [true, false]) {
            const rope = ropeTables(dims, 10000, 16, mode);
            expect([mode, dims, half, withNew, wrongWithRope(makeInput(shape, 3, half, withNew), rope)]).toEqual([
              mode,
              dims,
              half,
              withNew,
              [],
            ]);
          }
  });

  it('gives the bits of rotating first on every implementation (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4),
        fc.constantFrom(1, 2),
        fc.constantFrom(8, 16, 64),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffffffff }),
        (group, kvHeads, headDim, start, nTokens, neox, seed) => {
          const shape = { heads: group * kvHeads, kvHeads, headDim, start, nTokens };
          const rope = ropeTables(headDim, 500, start + nTokens, neox ? 'neox' : 'normal');
          return wrongWithRope(makeInput(shape, seed, seed % 2 === 0, true), rope).length === 0;
        },
      ),
      { numRuns: 25 },
    );
  });

  it('rejects tables that do not fit the call, naming the field', () => {
    const input = makeInput({ heads: 2, kvHeads: 1, headDim: 16, start: 4, nTokens: 2 }, 1, false, true);
    const t = ropeTables(16, 10000, 6, 'neox');
    const bad: [RopeTables, RegExp][] = [
      [{ ...t, mode: 'other' as 'neox' }, /rope\.mode/],
      [{ ...t, dims: 7 }, /rope\.dims/],
      [{ ...t, dims: 18 }, /rope\.dims/],
      [{ ...t, cos: t.cos.subarray(0, 5 * 8) }, /rope\.cos length \(start \+ nTokens positions\)/],
      [{ ...t, sin: [] as unknown as Float32Array }, /rope\.sin/],
    ];
    for (const k of kernels)
      for (const [rope, message] of bad) {
        const a = { ...copy(input), rope };
        expect(() => k.attention(a)).toThrow(KernelShapeError);
        expect(() => k.attention(a)).toThrow(message);
        expect(a.q).toEqual(input.q); // nothing rotated
      }
  });
});

describe.runIf(process.arch === 'x64')('the addon’s attention with rotary tables', () => {
  it('checks them', async () => {
    const addon = await loadNativeAddon();
    const q = new Float32Array(32);
    const cache = new Float32Array(3 * 16);
    const call = (cos: Float32Array, mode: number, dims: number) => () =>
      addon.attention?.(q, cache, cache, new Float32Array(32), 2, 1, 16, 2, 1, 0.25, null, null, cos, cos, mode, dims);
    expect(call(new Float32Array(24), 0, 15)).toThrow(/ropeDims: expected an even number, found 15/);
    expect(call(new Float32Array(24), 0, 18)).toThrow(/ropeDims/);
    expect(call(new Float32Array(24), 2, 16)).toThrow(/ropeMode/);
    expect(call(new Float32Array(23), 0, 16)).toThrow(
      /ropeCos\/ropeSin length: expected >= \(start \+ nTokens\) \* ropeDims \/ 2 = 24/,
    );
    expect(() =>
      (addon.attention as unknown as (...a: unknown[]) => void)(
        q,
        cache,
        cache,
        q,
        2,
        1,
        16,
        2,
        1,
        0.25,
        null,
        null,
        q,
      ),
    ).toThrow(/or 16/);
  });
});
