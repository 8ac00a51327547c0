import { roundToHalf } from '@trit/ternary';
import { randomFloats, sameFloat32 } from '@trit/testkit';
import { describe, expect, it } from 'vitest';
import { denseLayout } from './dense.js';
import { roundDenseActivations } from './dense-activations.js';
import { DENSE_TYPES } from './dense-types.js';
import { referenceDenseActivations } from './reference.js';
import { loadKernel } from './select.js';
import { caseDense } from './vectors.js';

const f32 = (values: number[]) => Float32Array.from(values);
const round = (activation: (typeof DENSE_TYPES)[number]['activation'], x: Float32Array, cols = x.length) =>
  roundDenseActivations(activation, x, cols, new Float32Array(x.length));

describe('roundDenseActivations', () => {
  it('leaves f32 inputs alone and returns them as they are', () => {
    const x = f32([1.1, Number.NaN, -3e38]);
    expect(roundDenseActivations('f32', x, 3, new Float32Array(3))).toBe(x);
  });

  it('rounds f16 and bf16 to nearest, ties to even', () => {
    // 1 + 2^-11 is halfway between two halves: it goes to the even one, 1; 1 + 3·2^-11 goes up.
    expect(Array.from(round('f16', f32([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, -1e-8])))).toEqual([
      1,
      1 + 2 ** -9,
      Number.POSITIVE_INFINITY,
      roundToHalf(-1e-8),
    ]);
    // bf16 keeps 8 significant bits: 1 + 2^-8 is a tie (down to 1), 1 + 3·2^-8 a tie up to 1 + 2^-6.
    expect(Array.from(round('bf16', f32([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -7, -2.5])))).toEqual([
      1,
      1 + 2 ** -6,
      1 + 2 ** -7,
      -2.5,
    ]);
    expect(round('bf16', f32([Number.NaN]))[0]).toBeNaN();
  });

  it('rounds q8_0 in blocks of 32, to int8 steps of an fp16 absmax / 127', () => {
    const cols = 64;
    const x = new Float32Array(2 * cols);
    x[0] = 127; // block 0: d = 1, so values round to integers, halves away from zero
    x[1] = 63.5;
    x[2] = -0.5;
    x[3] = 0.49;
    x[32] = 0.1; // block 1: d = 0.1/127, stored as fp16
    x[33] = -0.1;
    x[cols] = -3; // token 1's first block
    const y = round('q8_0', x, cols);
    expect(Array.from(y.subarray(0, 4))).toEqual([127, 64, -1, 0]);
    const d = roundToHalf(Math.fround(0.1 / 127));
    expect(y[32]).toBe(Math.fround(127 * d));
    expect(y[33]).toBe(-y[32]);
    expect(y[cols]).toBe(Math.fround(-127 * roundToHalf(Math.fround(3 / 127))));
    expect(y.subarray(34, cols).every((v) => v === 0)).toBe(true);
  });

  it('rounds q8_k in blocks of 256 to nearest(x · iscale), iscale = −127 / the signed largest value, ties to even', () => {
    const cols = 512;
    const x = new Float32Array(2 * cols);
    // Block 0: the largest value is −127, so iscale = 1 and d = 1: values round to integers, halves to even.
    x.set([-127, 2.5, 3.5, -2.5, 0.49, 127], 0);
    // Block 1: a positive largest value gives a negative iscale and d; the largest comes back as −127 · d.
    x[256] = 0.1;
    x[257] = -0.05;
    // Token 1: a NaN or an infinity makes its whole block NaN; an all-zero block stays zero.
    x[cols + 3] = Number.NaN;
    x[cols + 256 + 9] = Number.NEGATIVE_INFINITY;
    const y = round('q8_k', x, cols);
    expect(Array.from(y.subarray(0, 7))).toEqual([-127, 2, 4, -2, 0, 127, 0]);
    const iscale = Math.fround(-127 / Math.fround(0.1));
    const d = Math.fround(1 / iscale);
    expect(y[256]).toBe(Math.fround(-127 * d));
    expect(y[257]).toBe(Math.fround(Math.round(Math.fround(Math.fround(-0.05) * iscale)) * d));
    expect(y.subarray(258, cols).every((v) => v === 0)).toBe(true); // −0 here: 0 · a negative d
    expect(y.subarray(cols).every(Number.isNaN)).toBe(true);
    const zeros = round('q8_k', new Float32Array(256), 256);
    expect(zeros.every((v) => Object.is(v, 0))).toBe(true);
  });

  it('agrees bit for bit with the reference, token by token, on ordinary and extreme inputs', () => {
    for (const { name, blockElements } of DENSE_TYPES) {
      const cols = 4 * Math.max(blockElements, 32);
      const nTokens = 3;
      for (const seed of [1, 2, 3]) {
        const x = randomFloats(nTokens * cols, seed, 'gaussian', 10 ** (seed * 2 - 4));
        x[5] = 0;
        x[6] = -0;
        x[cols + 7] = 65519.99; // just below the f16 overflow threshold
        x[2 * cols + 9] = 3e38;
        if (seed === 3) x[cols + 40] = Number.NaN;
        const activation = DENSE_TYPES.find((t) => t.name === name)?.activation ?? 'f32';
        const y = round(activation, x, cols);
        for (let t = 0; t < nTokens; t++) {
          const want = referenceDenseActivations(name, x, t * cols, cols);
          expect([name, seed, t, sameFloat32(y.subarray(t * cols, (t + 1) * cols), want)]).toEqual([
            name,
            seed,
            t,
            true,
          ]);
        }
      }
    }
  });
});

describe('dense matrices round their inputs in the kernel', () => {
  const rows = 9;
  const cols = 768; // whole blocks of every type, the k-quants' 256 included
  const nTokens = 3;
  const x = randomFloats(nTokens * cols, 11, 'gaussian', 2);

  it.each(['js', 'wasm', 'native'] as const)(
    '%s: gemm on each type equals f32 weights times the rounded input, and leaves X untouched',
    async (implementation) => {
      let kernel: Awaited<ReturnType<typeof loadKernel>>;
      try {
        kernel = await loadKernel({ implementation, threads: 2 });
      } catch (error) {
        if (implementation === 'native' && process.arch === 'x64') throw error;
        return;
      }
      try {
        const before = x.slice();
        for (const { name, activation } of DENSE_TYPES) {
          const data = caseDense({
            id: name,
            kind: 'dense',
            rows,
            cols,
            type: name,
            seed: 4,
            activations: 'normal',
            nTokens,
          });
          // The same weights as exact f32, multiplied by X rounded beforehand.
          const layout = denseLayout({ type: name, data, rows, cols });
          const weights = new Float32Array(rows * cols);
          for (let r = 0; r < rows; r++) layout.readRow(r, weights.subarray(r * cols, (r + 1) * cols));
          const asF32 = kernel.prepareDense({ type: 'f32', data: weights, rows, cols });
          const want = kernel.gemm(asF32, round(activation, x, cols), nTokens);
          const matrix = kernel.prepareDense({ type: name, data, rows, cols });
          expect([name, sameFloat32(kernel.gemm(matrix, x, nTokens), want)]).toEqual([name, true]);
          expect([name, sameFloat32(kernel.gemv(matrix, x.subarray(0, cols)), want.subarray(0, rows))]).toEqual([
            name,
            true,
          ]);
          // Types that round must differ from the unrounded product somewhere, or this test proves nothing.
          if (activation !== 'f32') expect(sameFloat32(kernel.gemm(asF32, x, nTokens), want)).toBe(false);
        }
        expect(sameFloat32(x, before)).toBe(true);
      } finally {
        await kernel.dispose();
      }
    },
  );

  it('gemmMany rounds once per grid and gives the bits of separate gemm calls', async () => {
    const kernel = await loadKernel({ implementation: 'js', threads: 1 });
    const matrices = DENSE_TYPES.flatMap(({ name }) =>
      [0, 1].map((seed) =>
        kernel.prepareDense({
          type: name,
          data: caseDense({
            id: name,
            kind: 'dense',
            rows: rows + seed,
            cols,
            type: name,
            seed,
            activations: 'normal',
            nTokens,
          }),
          rows: rows + seed,
          cols,
        }),
      ),
    );
    const outputs = matrices.map((m) => new Float32Array(nTokens * m.rows));
    kernel.gemmMany(matrices, x, nTokens, outputs);
    matrices.forEach((m, i) => {
      expect([i, sameFloat32(outputs[i] as Float32Array, kernel.gemm(m, x, nTokens))]).toEqual([i, true]);
    });
  });
});
