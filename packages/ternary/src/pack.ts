import { asBytes, CODE_OF_INT8 } from './codes.js';
import { assertCount, TernaryLengthError } from './errors.js';

/*
 * The RuvLLM ("seed") 2-bit layout: four codes per byte, least significant
 * bits first, so element k sits in byte k >> 2 at bit 2·(k & 3). Codes are
 * 00 = -1, 01 = 0, 10 = +1; 11 is reserved and decodes to 0.
 *
 *   [-1, 0, +1, -1] → 0b00_10_01_00 = 0x24
 */

/** Seed code → ternary value. */
export const SEED_CODE_VALUES: readonly number[] = [-1, 0, 1, 0];

/** Byte → its four decoded values as one little-endian int32 (one int8 per lane). */
export const UNPACK_WORD = new Int32Array(256);
/** Byte → how many of its four codes decode to zero (01 and 11). */
const ZEROS_PER_BYTE = new Uint8Array(256);

for (let byte = 0; byte < 256; byte++) {
  let word = 0;
  let zeros = 0;
  for (let k = 0; k < 4; k++) {
    const value = SEED_CODE_VALUES[(byte >> (2 * k)) & 3];
    word |= (value & 0xff) << (8 * k);
    if (value === 0) zeros++;
  }
  UNPACK_WORD[byte] = word;
  ZEROS_PER_BYTE[byte] = zeros;
}

/** Bytes needed to pack n codes. */
export function packedByteLength(n: number): number {
  return Math.ceil(n / 4);
}

/**
 * Packs ternary values into the seed layout. Values below -1 clamp to -1 and
 * above +1 to +1. Unused bit pairs of the last byte are 00.
 */
export function packTernary(values: Int8Array): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(packedByteLength(n));
  const bytes = asBytes(values);
  const whole = n >> 2;
  for (let i = 0, j = 0; i < whole; i++, j += 4) {
    out[i] =
      CODE_OF_INT8[bytes[j]] |
      (CODE_OF_INT8[bytes[j + 1]] << 2) |
      (CODE_OF_INT8[bytes[j + 2]] << 4) |
      (CODE_OF_INT8[bytes[j + 3]] << 6);
  }
  for (let k = whole * 4; k < n; k++) {
    out[whole] = out[whole] | (CODE_OF_INT8[bytes[k]] << (2 * (k & 3)));
  }
  return out;
}

/**
 * Unpacks n values from the seed layout into `out` (allocated when omitted).
 * Throws a {@link TernaryLengthError} (a RangeError) when `packed` holds fewer
 * than n codes; it never returns fewer values than asked.
 */
export function unpackTernary(packed: Uint8Array, n: number, out?: Int8Array): Int8Array {
  assertCount('unpackTernary', 'n', n);
  const needed = packedByteLength(n);
  if (packed.length < needed) {
    throw new TernaryLengthError('unpackTernary: packed bytes', needed, packed.length, `${n} values`);
  }
  const target = out ?? new Int8Array(n);
  if (target.length < n) {
    throw new TernaryLengthError('unpackTernary: output length', n, target.length);
  }
  const whole = n >> 2;
  if ((target.byteOffset & 3) === 0) {
    const words = new Int32Array(target.buffer, target.byteOffset, whole);
    for (let i = 0; i < whole; i++) words[i] = UNPACK_WORD[packed[i]];
  } else {
    for (let i = 0; i < whole; i++) {
      const word = UNPACK_WORD[packed[i]];
      const k = i * 4;
      target[k] = (word << 24) >> 24;
      target[k + 1] = (word << 16) >> 24;
      target[k + 2] = (word << 8) >> 24;
      target[k + 3] = word >> 24;
    }
  }
  for (let k = whole * 4; k < n; k++) {
    target[k] = SEED_CODE_VALUES[(packed[k >> 2] >> (2 * (k & 3))) & 3];
  }
  return target;
}

/** How many of the first n packed codes decode to zero, via a per-byte table. */
export function countPackedZeros(packed: Uint8Array, n: number): number {
  assertCount('countPackedZeros', 'n', n);
  const needed = packedByteLength(n);
  if (packed.length < needed) {
    throw new TernaryLengthError('countPackedZeros: packed bytes', needed, packed.length, `${n} values`);
  }
  const whole = n >> 2;
  let zeros = 0;
  for (let i = 0; i < whole; i++) zeros += ZEROS_PER_BYTE[packed[i]];
  for (let k = whole * 4; k < n; k++) {
    if (((packed[k >> 2] >> (2 * (k & 3))) & 1) === 1) zeros++; // 01 and 11
  }
  return zeros;
}
