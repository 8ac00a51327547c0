// The block-quantized dense types (q4_0, q4_k, q5_k, q6_k; KERNEL.md §4): element values
// on hand-built blocks, and GEMV/GEMM bit-identical to the reference on every backend
// and thread count for random shapes.
import { createRng, sameFloat32 } from '@trit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fillBlockWeights } from './block-weights.js';
import { denseLayout } from './dense.js';
import { type DenseType, type DenseTypeInfo, denseTypeInfo } from './dense-types.js';
import { useEveryKernel } from './every-kernel.js';
import { denseValue, referenceDenseGemv } from './reference.js';

const BLOCK_TYPES = ['q4_0', 'q4_k', 'q5_k', 'q6_k'] as const;

/** One block of `type` with the given bytes set (all others zero). */
function block(type: DenseType, bytes: Record<number, number>): Uint8Array {
  const out = new Uint8Array((denseTypeInfo(type) as DenseTypeInfo).blockBytes);
  for (const [at, value] of Object.entries(bytes)) out[Number(at)] = value;
  return out;
}

/** Element values of a one-block row, read by the kernel's row decoder and by the reference. */
function values(type: DenseType, data: Uint8Array, elements: number[]): { row: number[]; reference: number[] } {
  const cols = (denseTypeInfo(type) as DenseTypeInfo).blockElements;
  const row = new Float32Array(cols);
  denseLayout({ type, data, rows: 1, cols }).readRow(0, row);
  return {
    row: elements.map((e) => row[e] as number),
    reference: elements.map((e) => denseValue(type, data, cols, 0, e)),
  };
}

describe('block values (docs/formats.md §Q4_0 … §Q6_K)', () => {
  it('q4_0: d · (nibble − 8), element j < 16 in the low nibble of byte j, j ≥ 16 in the high one', () => {
    const data = block('q4_0', { 0: 0x00, 1: 0x38, 2: 0x1f }); // d = 0.5; byte 0 holds codes 15 and 1
    const want = [3.5, -3.5, -4];
    expect(values('q4_0', data, [0, 16, 1])).toEqual({ row: want, reference: want });
  });

  it('q4_k and q5_k: (d · scale) · code − dmin · min, with 6-bit scales and mins packed in 12 bytes', () => {
    // d = 1, dmin = 0.25. Sub-block 0: scale 2, min 4. Sub-block 5: scale 10 + 16, min 3 + 32 (top bits in bytes 1, 5).
    const scales = { 0: 0x00, 1: 0x3c, 2: 0x00, 3: 0x34, 4: 2, 5: 0x40, 8: 4, 9: 0x80, 13: 0x3a };
    const q4 = block('q4_k', { ...scales, 16: 0x07, [16 + 64 + 3]: 0x90 });
    // Element 0: code 7 → 2·7 − 1; element 32: sub-block 1 (scale 0, min 0); element 163: sub-block 5, code 9.
    expect(values('q4_k', q4, [0, 32, 163])).toEqual({ row: [13, 0, 225.25], reference: [13, 0, 225.25] });
    // Q5_K: the same codes at byte 48 on, and bit 5 of qh[3] adds 16 to element 163's code.
    const q5 = block('q5_k', { ...scales, 48: 0x07, [48 + 64 + 3]: 0x90, [16 + 3]: 0x20 });
    expect(values('q5_k', q5, [0, 32, 163])).toEqual({ row: [13, 0, 641.25], reference: [13, 0, 641.25] });
  });

  it('q6_k: (d · scale) · (code − 32), the code split over a nibble of ql and two bits of qh', () => {
    // d = 0.5 (at 208). Element 200: half 1, quarter 2, l = 8: high nibble of byte 72, bits 5:4 of byte 168,
    // scale byte 192 + 8 + 4 = 204 (int8 −3). Element 0: code 0 − 32, scale byte 192 = 1.
    const data = block('q6_k', { 208: 0x00, 209: 0x38, 72: 0xa0, 168: 0x30, 204: 0xfd, 192: 1 });
    expect(values('q6_k', data, [200, 0])).toEqual({ row: [-39, -16], reference: [-39, -16] });
  });
});

describe('block types on every backend and thread count', () => {
  const kernels = useEveryKernel([1, 3]);

  it('gemm and gemv give the reference bits for random shapes, weights and inputs', () => {
    expect(kernels.filter((k) => k.name !== 'native').length).toBeGreaterThanOrEqual(4);
    fc.assert(
      fc.property(
        fc.constantFrom(...BLOCK_TYPES),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (type, rows, blocksPerRow, nTokens, seed) => {
          const { blockElements, blockBytes } = denseTypeInfo(type) as DenseTypeInfo;
          const cols = blocksPerRow * blockElements;
          const rng = createRng(seed);
          const blocks = rows * blocksPerRow;
          const data = new Uint8Array(blocks * blockBytes);
          // Positive and negative fp16 scales of 2^-14 … 2^-4; one in 17 subnormal.
          fillBlockWeights(type, data, blocks, rng, (b) =>
            b % 17 === 16
              ? rng.nextInt(1024)
              : (rng.nextU32() & 0x8000) | ((1 + rng.nextInt(11)) << 10) | rng.nextInt(1024),
          );
          const x = Float32Array.from({ length: nTokens * cols }, () => rng.gaussian() * 3);
          const want = new Float32Array(nTokens * rows);
          for (let t = 0; t < nTokens; t++) want.set(referenceDenseGemv(type, data, rows, cols, x, t * cols), t * rows);
          for (const kernel of kernels) {
            const matrix = kernel.prepareDense({ type, data, rows, cols });
            const label = [type, rows, cols, nTokens, kernel.name, kernel.threads];
            expect([...label, sameFloat32(kernel.gemm(matrix, x, nTokens), want)]).toEqual([...label, true]);
            const gemv = kernel.gemv(matrix, x.subarray(0, cols));
            expect([...label, sameFloat32(gemv, want.subarray(0, rows))]).toEqual([...label, true]);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
