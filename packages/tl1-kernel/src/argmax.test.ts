// Argmax (KERNEL.md §9): src/argmax.ts on known answers, and every implementation and
// thread count against it (special values, ties, tails, property).
import { createRng } from '@trit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsArgmax } from './argmax.js';
import { KernelShapeError } from './errors.js';
import { useEveryKernel } from './every-kernel.js';

const kernels = useEveryKernel();

/** The kernels whose answer differs from jsArgmax's. */
function wrong(values: Float32Array, count = values.length): string[] {
  const want = jsArgmax(values, count);
  return kernels.filter((k) => k.argmax(values, count) !== want).map((k) => `${k.name} ×${k.threads}`);
}

const f = (...v: number[]) => Float32Array.from(v);

describe('argmax', () => {
  it('is the first index of the largest value; NaNs are never chosen; 0 when nothing exceeds −∞', () => {
    expect(jsArgmax(f(1, 3, 2), 3)).toBe(1);
    expect(jsArgmax(f(5, 7, 7, 1), 4)).toBe(1); // ties: the lowest index
    expect(jsArgmax(f(-0, 0), 2)).toBe(0); // ±0 are equal
    expect(jsArgmax(f(0, -0), 2)).toBe(0);
    expect(jsArgmax(f(Number.NaN, 1, Number.NaN, 2), 4)).toBe(3);
    expect(jsArgmax(f(Number.NaN, Number.NaN), 2)).toBe(0);
    expect(jsArgmax(f(-Infinity, -Infinity, -1), 3)).toBe(2);
    expect(jsArgmax(f(-Infinity, -Infinity), 2)).toBe(0);
    expect(jsArgmax(f(1, Infinity, Infinity), 3)).toBe(1);
    expect(jsArgmax(f(), 0)).toBe(0);
    expect(jsArgmax(f(1, 9), 1)).toBe(0); // only the first count values
  });

  it('gives the same index on every implementation: special values and every position of the maximum', () => {
    expect(kernels.some((k) => k.name.startsWith('native')) || process.arch !== 'x64').toBe(true);
    const cases = [
      f(1, 3, 2),
      f(5, 7, 7, 1),
      f(-0, 0),
      f(0, -0),
      f(Number.NaN, 1, Number.NaN, 2),
      f(Number.NaN, Number.NaN),
      f(-Infinity, -Infinity, -1),
      f(-Infinity, -Infinity),
      f(1, Infinity, Infinity),
      f(),
    ];
    for (const v of cases) expect(wrong(v), `${Array.from(v)}`).toEqual([]);
    // The maximum (and a later tie) at every position of vector blocks and tails, and NaNs around it.
    const rng = createRng(11);
    for (const n of [1, 7, 8, 9, 15, 16, 17, 31, 33, 100]) {
      for (let at = 0; at < n; at++) {
        const v = Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
        v[at] = 5;
        if (at + 3 < n) v[at + 3] = 5;
        if (at > 0) v[at - 1] = Number.NaN;
        expect(wrong(v), `n ${n} at ${at}`).toEqual([]);
        expect(wrong(v, at), `n ${n} count ${at}`).toEqual([]);
      }
    }
    const all = Float32Array.from({ length: 128256 }, () => rng.nextFloat() * 30 - 15);
    all[128255] = 16;
    expect(wrong(all)).toEqual([]);
  });

  it('gives the same index on every implementation (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.float(), fc.constantFrom(0, -0, Number.NaN, -Infinity, Infinity, 1, -1)), {
          maxLength: 80,
        }),
        fc.nat(),
        (values, cut) => {
          const v = Float32Array.from(values);
          return wrong(v).length === 0 && wrong(v, v.length === 0 ? 0 : cut % (v.length + 1)).length === 0;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('names what is wrong with its arguments', () => {
    for (const k of kernels) {
      expect(() => k.argmax(f(1, 2), 3)).toThrow(KernelShapeError);
      expect(() => k.argmax(f(1, 2), 3)).toThrow(/argmax: count/);
      expect(() => k.argmax(f(1, 2), -1)).toThrow(/argmax: count/);
      expect(() => k.argmax(f(1, 2), 1.5)).toThrow(/argmax: count/);
      expect(() => k.argmax([1, 2] as unknown as Float32Array)).toThrow(/Float32Array/);
    }
  });
});
