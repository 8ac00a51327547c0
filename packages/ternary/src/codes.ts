// Shared code tables. Every format stores a ternary value t as the code t + 1
// (-1 → 0, 0 → 1, +1 → 2); they differ only in where the 2-bit or base-3 code goes.

// The fast paths view buffers as 32-bit words, which assumes a little-endian
// host (every platform Node and browsers ship on today).
if (new Uint8Array(new Uint32Array([0x01020304]).buffer)[0] !== 0x04) {
  throw new Error('@trit/ternary requires a little-endian host');
}

/** int8 value (read as uint8) → code t + 1, clamping to ±1 first. */
export const CODE_OF_INT8 = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) {
  const signed = byte < 128 ? byte : byte - 256;
  CODE_OF_INT8[byte] = signed < 0 ? 0 : signed === 0 ? 1 : 2;
}

/** A byte view of an int8 array, for table lookups by value. */
export function asBytes(values: Int8Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.length);
}

/**
 * Four 2-bit codes, one per byte lane of `word` (already masked to 0..3) →
 * four int8 values code − 1. Setting each lane's top bit first keeps borrows
 * from crossing lanes.
 */
export function codesMinusOne(word: number): number {
  return ((word | 0x80808080) - 0x01010101) ^ 0x80808080;
}

/** Little-endian u32 from four bytes at `offset` (works at any alignment). */
export function readWord(bytes: Uint8Array, offset: number): number {
  return bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24);
}
