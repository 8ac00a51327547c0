import { getFloat16 } from '@petamoriken/float16';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bfloat16BytesToFloat32,
  float16BytesToFloat32,
  float32ToBfloat16Bytes,
  float32ToBytes,
  float32ToFloat16Bytes,
  swapBytesInPlace,
} from './floats.js';

const u16le = (bytes: Uint8Array) =>
  Array.from({ length: bytes.length / 2 }, (_, i) => bytes[2 * i] | (bytes[2 * i + 1] << 8));
const f32FromBits = (bits: number) => new Float32Array(Uint32Array.of(bits).buffer)[0];
const bitsOfF32 = (value: number) => new Uint32Array(Float32Array.of(value).buffer)[0];
const halfBytes = (halves: number[]) => new Uint8Array(Uint16Array.from(halves).buffer);

describe('F16 decoding', () => {
  it('agrees with @petamoriken/float16 on all 65536 halves, keeping NaN payloads', () => {
    const all = Array.from({ length: 65536 }, (_, h) => h);
    const decoded = float16BytesToFloat32(halfBytes(all));
    const bits = new Uint32Array(decoded.buffer);
    const view = new DataView(halfBytes(all).buffer);
    const mismatches: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const expected = getFloat16(view, 2 * h, true);
      // A NaN keeps its sign, and its 10 payload bits move to the top of the mantissa.
      const nanBits = (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0;
      const ok = Number.isNaN(expected) ? bits[h] === nanBits : Object.is(decoded[h], expected);
      if (!ok) mismatches.push(h);
    }
    expect(mismatches).toEqual([]);
  });

  it('reads from an odd byte offset', () => {
    const bytes = new Uint8Array(5);
    bytes.set([0x00, 0x3c, 0x00, 0xc0], 1); // 1.0, -2.0
    expect(Array.from(float16BytesToFloat32(bytes.subarray(1)))).toEqual([1, -2]);
  });
});

describe('F16 encoding rounds to nearest even', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65519.99, 0x7bff],
    [65520, 0x7c00], // the tie between 65504 and 65536 goes to even: infinity
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24: even is 0
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 ulps: even is 2
    [1 + 2 ** -11, 0x3c00], // tie between 1.0 and the next half: even is 1.0
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: even is 0x3c02
    [-0, 0x8000],
  ])('%d → %s', (value, expected) => {
    expect(u16le(float32ToFloat16Bytes([value]))).toEqual([expected]);
  });

  it('NaN stays NaN', () => {
    const [h] = u16le(float32ToFloat16Bytes([Number.NaN]));
    expect(h & 0x7c00).toBe(0x7c00);
    expect(h & 0x3ff).not.toBe(0);
  });

  it('every non-NaN half survives decode → encode', () => {
    const all = Array.from({ length: 65536 }, (_, h) => h).filter((h) => (h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0);
    expect(u16le(float32ToFloat16Bytes(float16BytesToFloat32(halfBytes(all))))).toEqual(all);
  });
});

/** Nearest bfloat16 by comparing the two neighbours in double arithmetic (independent of the bit trick). */
function referenceBf16(bits: number): number {
  const x = f32FromBits(bits);
  if (!Number.isFinite(x)) return bits >>> 16;
  const low = (bits & 0xffff0000) >>> 0;
  const high = (low + 0x10000) >>> 0;
  const below = f32FromBits(low);
  // Past the largest finite value the next step up is 2^128, which IEEE rounding treats as infinity.
  const above = (high & 0x7fffffff) >>> 0 === 0x7f800000 ? Math.sign(x) * 2 ** 128 : f32FromBits(high);
  const distanceBelow = Math.abs(x - below);
  const distanceAbove = Math.abs(above - x);
  if (distanceBelow < distanceAbove) return low >>> 16;
  if (distanceAbove < distanceBelow) return high >>> 16;
  return (low >>> 16) & 1 ? high >>> 16 : low >>> 16;
}

describe('BF16 encoding rounds to nearest even', () => {
  it.each([
    [0x3f800000, 0x3f80], // 1.0
    [0x3f808000, 0x3f80], // tie, even stays
    [0x3f818000, 0x3f82], // tie, odd rounds up
    [0x3f808001, 0x3f81], // above the tie
    [0x3f807fff, 0x3f80], // below the tie
    [0x7f7fffff, 0x7f80], // the largest float32 rounds to infinity
    [0x7f800000, 0x7f80], // infinity
    [0x80000000, 0x8000], // -0
    [0x00000001, 0x0000], // smallest subnormal rounds to 0
  ])('0x%s', (bits, expected) => {
    expect(u16le(float32ToBfloat16Bytes([f32FromBits(bits)]))).toEqual([expected]);
  });

  it('NaN is preserved: sign and top payload kept, made quiet so it cannot become infinity', () => {
    // Truncating 0x7f800001 would give 0x7f80 (infinity); rounding would too.
    const input = new Float32Array(new Uint32Array([0x7f800001, 0xffc12345, 0x7fc00000]).buffer);
    expect(u16le(float32ToBfloat16Bytes(input))).toEqual([0x7fc0, 0xffc1, 0x7fc0]);
  });

  it('matches the nearest-neighbour reference for random bit patterns', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        fc.pre((bits & 0x7fffffff) >>> 0 <= 0x7f800000); // NaNs are covered above
        const input = new Float32Array(Uint32Array.of(bits).buffer);
        expect(u16le(float32ToBfloat16Bytes(input))[0]).toBe(referenceBf16(bits));
      }),
      { numRuns: 5000, seed: 7 },
    );
  });

  it('decodes exactly and round-trips every non-NaN bfloat16', () => {
    const all = Array.from({ length: 65536 }, (_, h) => h).filter((h) => (h & 0x7f80) !== 0x7f80 || (h & 0x7f) === 0);
    const decoded = bfloat16BytesToFloat32(halfBytes(all));
    expect(all.filter((h, i) => bitsOfF32(decoded[i]) !== (h << 16) >>> 0)).toEqual([]);
    expect(u16le(float32ToBfloat16Bytes(decoded))).toEqual(all);
  });

  it('accepts plain number arrays and subarrays', () => {
    const values = Float32Array.of(9, 1, -2);
    expect(u16le(float32ToBfloat16Bytes(values.subarray(1)))).toEqual([0x3f80, 0xc000]);
    expect(u16le(float32ToBfloat16Bytes([1, -2]))).toEqual([0x3f80, 0xc000]);
  });
});

describe('F32 bytes', () => {
  it('are little-endian', () => {
    expect(Array.from(float32ToBytes(Float32Array.of(1, -2)))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  });
});

describe('byte order', () => {
  it('swapBytesInPlace reverses each element and leaves a partial tail alone', () => {
    const bytes = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
    swapBytesInPlace(bytes, 4);
    expect(Array.from(bytes)).toEqual([4, 3, 2, 1, 8, 7, 6, 5, 9]);
    swapBytesInPlace(bytes, 1);
    expect(Array.from(bytes)).toEqual([4, 3, 2, 1, 8, 7, 6, 5, 9]);
  });
});
