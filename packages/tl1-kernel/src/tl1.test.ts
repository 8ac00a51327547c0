import { sameFloat32 } from '@trit/testkit';
import { describe, expect, it } from 'vitest';
import { loadKernel } from './select.js';
import { generateTl1Lut, prepareTl1, tl1Gemv } from './tl1.js';
import { caseActivations, caseTernary, vectorCases } from './vectors.js';

describe('generateTl1Lut', () => {
  it('holds w0·a0 + w1·a1 at index 3·w0 + w1 + 4 for every activation pair', () => {
    const lut = generateTl1Lut(Int8Array.of(3, -5, 127, -127, 7));
    expect(lut.length).toBe(3 * 16);
    expect(Array.from(lut.subarray(0, 9))).toEqual([2, -3, -8, 5, 0, -5, 8, 3, -2]);
    expect(lut[16 + 0]).toBe(-127 + 127); // w = (-1, -1)
    expect(lut[16 + 8]).toBe(0); // (127) + (-127)
    expect(lut[16 + 7]).toBe(127); // w = (1, 0)
    expect(Array.from(lut.subarray(32, 41))).toEqual([-7, -7, -7, 0, 0, 0, 7, 7, 7]); // odd length: a1 = 0
    expect(Array.from(lut.subarray(9, 16))).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });
});

const kernel = await loadKernel({ implementation: 'js', threads: 1 });

describe('tl1Gemv', () => {
  const cases = vectorCases().filter((c) => c.kind === 'ternary' && c.rows * c.cols < 2e6);
  it.each(cases.map((c) => [c.id, c] as const))('%s: bit-identical to the default path', (_id, c) => {
    if (c.kind !== 'ternary') return;
    const { input } = caseTernary(c);
    const x = caseActivations(c.activations, 1, c.cols, c.seed);
    const expected = kernel.gemv(kernel.prepare(input), x);
    const y = tl1Gemv(prepareTl1(input), x);
    expect(sameFloat32(y, expected)).toBe(true);
  });

  it('checks lengths', () => {
    const c = cases[0];
    if (c?.kind !== 'ternary') throw new Error('no case');
    const m = prepareTl1(caseTernary(c).input);
    expect(() => tl1Gemv(m, new Float32Array(c.cols + 1))).toThrow(/x length/);
  });
});
