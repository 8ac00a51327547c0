import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTernaryTensor, encodeTernaryTensor } from './convert.js';
import { TernaryLengthError, TernaryValueError } from './errors.js';
import { TERNARY_FORMATS } from './formats/registry.js';
import { packTernary } from './pack.js';
import { TernaryTensor } from './tensor.js';

describe('TernaryTensor', () => {
  it('validates packed and scale lengths against shape and block size', () => {
    const ok = { packed: new Uint8Array(4), scales: new Float32Array(4), shape: [3, 5] as const, blockSize: 4 };
    expect(new TernaryTensor(ok).numBlocks()).toBe(4);
    expect(() => new TernaryTensor({ ...ok, packed: new Uint8Array(3) })).toThrow(
      /packed bytes: expected 4, found 3 \(shape 3×5\)/,
    );
    expect(() => new TernaryTensor({ ...ok, packed: new Uint8Array(5) })).toThrow(TernaryLengthError);
    expect(() => new TernaryTensor({ ...ok, scales: new Float32Array(3) })).toThrow(
      /scales: expected 4, found 3 \(shape 3×5, block size 4\)/,
    );
    expect(() => new TernaryTensor({ ...ok, blockSize: 0 })).toThrow(TernaryValueError);
    expect(() => new TernaryTensor({ ...ok, blockSize: 2.5 })).toThrow(TernaryValueError);
    expect(() => new TernaryTensor({ ...ok, shape: [-3, 5] })).toThrow(TernaryValueError);
  });

  it('computes sparsity from packed bytes, counting the reserved code as zero and ignoring padding', () => {
    // 5 elements: -1, 0, +1, reserved(=0), 0; the 3 unused bit pairs of byte 1 are 00 (= -1) and must not count.
    const packed = Uint8Array.of(0b11_10_01_00, 0b00_00_00_01);
    const tensor = new TernaryTensor({ packed, scales: Float32Array.of(1), shape: [1, 5], blockSize: 256 });
    expect(tensor.sparsity()).toBeCloseTo(3 / 5, 12);
    const empty = new TernaryTensor({
      packed: new Uint8Array(0),
      scales: new Float32Array(0),
      shape: [0, 7],
      blockSize: 256,
    });
    expect(empty.sparsity()).toBe(0);
    expect(empty.numBlocks()).toBe(0);
  });

  it('reports memory as packed bytes plus 4 per scale', () => {
    const tensor = TernaryTensor.fromCodes(new Int8Array(2560), new Float32Array(10), [1, 2560], 256);
    expect(tensor.memoryBytes()).toBe(640 + 40);
  });

  it('dequantizes with blocks that straddle rows (cols not a multiple of the block size)', () => {
    // 2×5 of all +1 in row 0 and all -1 in row 1, blocks of 4 flat elements.
    const codes = Int8Array.of(1, 1, 1, 1, 1, -1, -1, -1, -1, -1);
    const tensor = TernaryTensor.fromCodes(codes, Float32Array.of(1, 2, 3), [2, 5], 4);
    expect(Array.from(tensor.dequantize())).toEqual([1, 1, 1, 1, 2, -2, -2, -2, -3, -3]);
  });
});

describe('tensor ↔ format bytes', () => {
  it('round-trips through every format', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 300 }),
        fc.constantFrom('t158', 'tq2_0', 'tq1_0', 'i2_s' as const),
        (rows, cols, name) => {
          const n = rows * cols;
          const codes = Int8Array.from({ length: n }, (_, i) => (((i * 2654435761) >>> 7) % 3) - 1);
          const format = TERNARY_FORMATS[name];
          const blockSize = format.scaleScope === 'block' ? 256 : n;
          const scales = Float32Array.from({ length: Math.ceil(n / blockSize) }, (_, b) => 0.25 * (b + 1));
          const tensor = TernaryTensor.fromCodes(codes, scales, [rows, cols], blockSize);
          if (format.partialBlock === 'dropped' && n % format.blockElements !== 0) {
            // I2_S stores whole blocks only (docs/formats.md §I2_S).
            expect(() => encodeTernaryTensor(tensor, name)).toThrow(/is not a multiple of 128/);
            return;
          }
          const bytes = encodeTernaryTensor(tensor, name);
          expect(bytes.length).toBe(format.byteLength(n));
          const back = decodeTernaryTensor(name, bytes, [rows, cols]);
          expect(Array.from(back.packed)).toEqual(Array.from(tensor.packed));
          expect(Array.from(back.scales)).toEqual(Array.from(scales));
          expect(back.blockSize).toBe(blockSize);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a block size the format cannot hold, and per-block scales for i2_s', () => {
    const tensor = TernaryTensor.fromCodes(new Int8Array(512), Float32Array.of(1, 2, 3, 4), [2, 256], 128);
    expect(() => encodeTernaryTensor(tensor, 'tq2_0')).toThrow(/block size is 128, the format needs 256/);
    expect(() => encodeTernaryTensor(tensor, 'i2_s')).toThrow(/block 1 has scale 2 and block 0 has 1/);
    const uniform = TernaryTensor.fromCodes(new Int8Array(512), Float32Array.of(3, 3, 3, 3), [2, 256], 128);
    expect(decodeTernaryTensor('i2_s', encodeTernaryTensor(uniform, 'i2_s'), [2, 256]).scales[0]).toBe(3);
  });

  it('rejects the reserved code rather than silently changing a weight', () => {
    const bytes = TERNARY_FORMATS.tq2_0.encode(new Int8Array(256), Float32Array.of(1));
    bytes[40] |= 0b11 << 4; // element 200
    expect(() => decodeTernaryTensor('tq2_0', bytes, [1, 256])).toThrow(/element 200 has the reserved code 3/);
    expect(packTernary(Int8Array.of(2)).length).toBe(1);
  });
});
