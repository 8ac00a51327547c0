import { describe, expect, it } from 'vitest';
import { floatToHalfBits, halfBitsToFloat, halfToFloatTable, readHalf, roundToHalf, writeHalf } from './half.js';

describe('half precision', () => {
  it('rounds to nearest, ties to even (RuvLLM truncated)', () => {
    expect(floatToHalfBits(1)).toBe(0x3c00);
    expect(floatToHalfBits(65504)).toBe(0x7bff);
    expect(floatToHalfBits(65519)).toBe(0x7bff);
    expect(floatToHalfBits(65520)).toBe(0x7c00); // rounds up to infinity; truncation gave 0x7bff
    expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa
    expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even mantissa (up)
    expect(floatToHalfBits(-2)).toBe(0xc000);
    expect(floatToHalfBits(0.1)).toBe(0x2e66);
  });

  it('keeps half subnormals and flushes values below half the smallest one', () => {
    expect(floatToHalfBits(2 ** -24)).toBe(0x0001);
    expect(floatToHalfBits(3 * 2 ** -24)).toBe(0x0003);
    expect(floatToHalfBits(2 ** -26)).toBe(0x0000);
    expect(halfBitsToFloat(0x0001)).toBe(2 ** -24); // RuvLLM's decoder halved subnormals
    expect(halfBitsToFloat(0x03ff)).toBe(1023 * 2 ** -24);
  });

  it('decodes specials', () => {
    expect(halfBitsToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(halfBitsToFloat(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(halfBitsToFloat(0x7e00)).toBeNaN();
    expect(Object.is(halfBitsToFloat(0x8000), -0)).toBe(true);
  });

  it('reads and writes little-endian halves in place', () => {
    const bytes = new Uint8Array(4);
    expect(writeHalf(bytes, 1, 0.1)).toBe(roundToHalf(0.1));
    expect(Array.from(bytes)).toEqual([0, 0x66, 0x2e, 0]);
    expect(readHalf(bytes, 1)).toBe(halfBitsToFloat(0x2e66));
  });

  it('shares one table, which agrees with halfBitsToFloat on every half', () => {
    const table = halfToFloatTable();
    expect(halfToFloatTable()).toBe(table);
    expect(table.length).toBe(0x10000);
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      if (!Object.is(table[bits], halfBitsToFloat(bits))) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('is the identity on every finite half value', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfBitsToFloat(bits);
      if (!Number.isNaN(value) && floatToHalfBits(value) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });
});
