import { f16round, getFloat16 } from '@petamoriken/float16';

// IEEE 754 binary16 helpers. Encoding rounds to nearest, ties to even (the
// library does this; RuvLLM truncated: docs/formats.md §F16). Decoding goes through a 64 Ki-entry
// table because scales are read once per block in hot loops.

let halfTable: Float32Array | undefined;

function buildHalfTable(): Float32Array {
  const table = new Float32Array(65536);
  const view = new DataView(new ArrayBuffer(2));
  for (let bits = 0; bits < 65536; bits++) {
    view.setUint16(0, bits, true);
    table[bits] = getFloat16(view, 0, true);
  }
  return table;
}

/**
 * The float value of every half, indexed by its bits: the one fp16 table the
 * ternary, gguf and backend decoders share (built on first use, 256 KiB).
 */
export function halfToFloatTable(): Float32Array {
  halfTable ??= buildHalfTable();
  return halfTable;
}

/** The float value of half-precision bits. */
export function halfBitsToFloat(bits: number): number {
  halfTable ??= buildHalfTable();
  return halfTable[bits & 0xffff];
}

/** Reads a little-endian half at `offset`. */
export function readHalf(bytes: Uint8Array, offset: number): number {
  halfTable ??= buildHalfTable();
  return halfTable[bytes[offset] | (bytes[offset + 1] << 8)];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Half-precision bits of `value`, rounded to nearest even. The library does the
 * rounding (f16round); the bits of the now exactly representable value are then
 * read off its float32 encoding, which is far faster than the DataView setter.
 */
export function floatToHalfBits(value: number): number {
  const rounded = f16round(value);
  f32[0] = rounded;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  if (exponent === 0xff) return sign | 0x7c00 | ((bits & 0x7fffff) !== 0 ? 0x200 : 0);
  if (exponent >= 113) return sign | ((exponent - 112) << 10) | ((bits >>> 13) & 0x3ff); // normal half
  return sign | (Math.abs(rounded) * 16777216); // subnormal half (or zero): value / 2^-24
}

/** Writes `value` as a little-endian half at `offset`; returns the value actually stored. */
export function writeHalf(bytes: Uint8Array, offset: number, value: number): number {
  const bits = floatToHalfBits(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = bits >>> 8;
  return halfBitsToFloat(bits);
}

/** `value` rounded to the nearest half-precision value (as a float). */
export function roundToHalf(value: number): number {
  return f16round(value);
}
