import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TernaryLengthError } from './errors.js';
import { countPackedZeros, packTernary, unpackTernary } from './pack.js';

describe('packTernary', () => {
  it('matches the seed layout known answers', () => {
    expect(Array.from(packTernary(Int8Array.of(-1, 0, 1, -1)))).toEqual([0x24]);
    expect(Array.from(packTernary(new Int8Array(8)))).toEqual([0x55, 0x55]);
    expect(Array.from(packTernary(new Int8Array(4).fill(1)))).toEqual([0xaa]);
    expect(Array.from(packTernary(new Int8Array(4).fill(-1)))).toEqual([0x00]);
  });

  it('clamps values outside ±1 and leaves unused bit pairs of the last byte 00', () => {
    expect(Array.from(packTernary(Int8Array.of(-128, 127, 5, -2)))).toEqual([0b00_10_10_00]);
    // One zero in a 1-element array: code 01 in bits 1:0, the rest 00.
    expect(Array.from(packTernary(Int8Array.of(0)))).toEqual([0x01]);
    expect(Array.from(packTernary(Int8Array.of(1, 1, 0)))).toEqual([0b00_01_10_10]);
    expect(packTernary(new Int8Array(0)).length).toBe(0);
  });

  it('reads int8 views at any byte offset', () => {
    const backing = Int8Array.of(9, -1, 0, 1, -1, 1);
    expect(Array.from(packTernary(backing.subarray(1, 5)))).toEqual([0x24]);
  });
});

describe('unpackTernary', () => {
  it('decodes code 11 as zero', () => {
    expect(Array.from(unpackTernary(Uint8Array.of(0b11_10_01_00), 4))).toEqual([-1, 0, 1, 0]);
  });

  it('throws a RangeError naming needed and given lengths instead of returning fewer values', () => {
    expect(() => unpackTernary(new Uint8Array(2), 9)).toThrow(RangeError);
    expect(() => unpackTernary(new Uint8Array(2), 9)).toThrow(/expected 3, found 2/);
    try {
      unpackTernary(new Uint8Array(2), 9);
    } catch (error) {
      expect(error).toBeInstanceOf(TernaryLengthError);
      expect((error as TernaryLengthError).expected).toBe(3);
      expect((error as TernaryLengthError).found).toBe(2);
    }
    expect(() => unpackTernary(new Uint8Array(4), -1)).toThrow(RangeError);
    expect(() => unpackTernary(new Uint8Array(4), 1.5)).toThrow(RangeError);
  });

  it('round-trips any values after clamping, into aligned and unaligned outputs', () => {
    fc.assert(
      fc.property(fc.int8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 3 }), (values, offset) => {
        const clamped = values.map((v) => Math.sign(v));
        const packed = packTernary(values);
        expect(packed.length).toBe(Math.ceil(values.length / 4));
        expect(Array.from(unpackTernary(packed, values.length))).toEqual(Array.from(clamped));
        const out = new Int8Array(values.length + offset).subarray(offset);
        unpackTernary(packed, values.length, out);
        expect(Array.from(out)).toEqual(Array.from(clamped));
      }),
    );
  });
});

describe('countPackedZeros', () => {
  it('equals a per-element count, including code 11, and ignores bits past n', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(), (packed, seed) => {
        const n = packed.length === 0 ? 0 : seed % (packed.length * 4 + 1);
        let expected = 0;
        for (let k = 0; k < n; k++) {
          const code = (packed[k >> 2] >> (2 * (k & 3))) & 3;
          if (code === 1 || code === 3) expected++;
        }
        expect(countPackedZeros(packed, n)).toBe(expected);
      }),
    );
  });

  it('rejects short input', () => {
    expect(() => countPackedZeros(new Uint8Array(1), 5)).toThrow(TernaryLengthError);
  });
});
