import { getFloat16, setFloat16 } from '@petamoriken/float16';

// IEEE 754 binary16 helpers. Encoding rounds to nearest, ties to even (the
// library does this; RuvLLM truncated). Decoding goes through a 64 Ki-entry
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

/** The float value of half-precision bits. */
export function halfBitsToFloat(bits: number): number {
  halfTable ??= buildHalfTable();
  return halfTable[bits & 0xffff];
}

/** Reads a little-endian half at `offset`. */
export function readHalf(bytes: Uint8Array, offset: number): number {
  halfTable ??= buildHalfTable();
  return halfTable[(bytes[offset]) | ((bytes[offset + 1]) << 8)];
}

const scratch = new DataView(new ArrayBuffer(2));

/** Half-precision bits of `value`, rounded to nearest even. */
export function floatToHalfBits(value: number): number {
  setFloat16(scratch, 0, value, true);
  return scratch.getUint16(0, true);
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
  return halfBitsToFloat(floatToHalfBits(value));
}
