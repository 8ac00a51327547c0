import { setFloat16 } from '@petamoriken/float16';

/**
 * Float conversions between float32 and the little-endian half formats
 * safetensors stores. Decoding is exact; encoding rounds to nearest even.
 *
 *   F16  (IEEE binary16): 1 sign, 5 exponent, 10 mantissa bits. 1.0 = 0x3c00 → bytes 00 3c
 *   BF16 (bfloat16):      the top 16 bits of a float32.          1.0 = 0x3f80 → bytes 80 3f
 */

/** Whether typed arrays on this machine are little-endian, like the data in a safetensors file. */
export const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Reverses each `width`-byte element in place: little-endian file order ↔ native order on big-endian hosts. */
export function swapBytesInPlace(bytes: Uint8Array, width: number): void {
  if (width > 1) for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/**
 * Decodes `out.length` native-endian elements at `input[inputByteOffset…]`
 * into `out`. The input may be the tail of `out`'s own buffer: decoders go
 * front to back, reading each element before the output can reach it, so a
 * tensor is read straight into its Float32Array and widened in place.
 */
export type DecodeFloat32 = (out: Float32Array, input: ArrayBufferLike, inputByteOffset: number) => void;

let halfTable: Uint32Array | undefined;

/**
 * float32 bit patterns of all 65536 halves: decoding becomes one lookup per
 * element, NaN payloads kept. Built from the bits rather than from
 * @petamoriken/float16 (as @trit/ternary's table is) because the library
 * returns numbers, and a signalling NaN's payload does not survive a number.
 */
function float16Table(): Uint32Array {
  if (halfTable) return halfTable;
  const table = new Uint32Array(65536);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      // Zero or subnormal: mantissa × 2^-24, exact in float32.
      scratch[0] = mantissa * 2 ** -24;
      table[h] = (sign | scratchBits[0]) >>> 0;
    } else if (exponent === 31) {
      table[h] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    } else {
      table[h] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
    }
  }
  halfTable = table;
  return table;
}

export const decodeFloat16: DecodeFloat32 = (out, input, inputByteOffset) => {
  const count = out.length;
  const halves = new Uint16Array(input, inputByteOffset, count);
  const bits = new Uint32Array(out.buffer, out.byteOffset, count);
  const table = float16Table();
  for (let i = 0; i < count; i++) bits[i] = table[halves[i]];
};

export const decodeBfloat16: DecodeFloat32 = (out, input, inputByteOffset) => {
  const count = out.length;
  const halves = new Uint16Array(input, inputByteOffset, count);
  const bits = new Uint32Array(out.buffer, out.byteOffset, count);
  for (let i = 0; i < count; i++) bits[i] = halves[i] << 16;
};

/** Copies 2-byte little-endian elements into the tail of a new Float32Array and widens them there. */
function widenHalves(bytes: Uint8Array, decode: DecodeFloat32): Float32Array {
  const count = bytes.length >>> 1;
  const out = new Float32Array(count);
  const tail = new Uint8Array(out.buffer, 2 * count, 2 * count);
  tail.set(bytes.subarray(0, 2 * count));
  if (!LITTLE_ENDIAN_HOST) swapBytesInPlace(tail, 2);
  decode(out, out.buffer, 2 * count);
  return out;
}

/** Little-endian F16 bytes to float32 (exact, NaN payloads kept). */
export function float16BytesToFloat32(bytes: Uint8Array): Float32Array {
  return widenHalves(bytes, decodeFloat16);
}

/** Little-endian BF16 bytes to float32 (exact: a bfloat16 is a float32 with the low 16 bits zero). */
export function bfloat16BytesToFloat32(bytes: Uint8Array): Float32Array {
  return widenHalves(bytes, decodeBfloat16);
}

/**
 * Float32 values to little-endian F16 bytes, rounding to nearest even
 * (through @petamoriken/float16); overflow gives ±Infinity, NaN stays NaN.
 */
export function float32ToFloat16Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) setFloat16(view, i * 2, Math.fround(values[i]), true);
  return out;
}

/**
 * Float32 values to little-endian BF16 bytes, rounding to nearest even as
 * PyTorch does. A NaN keeps its sign and top payload bits and is made quiet,
 * so it cannot round into an infinity.
 */
export function float32ToBfloat16Bytes(values: ArrayLike<number>): Uint8Array {
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  const bits = new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
  const halves = new Uint16Array(floats.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    if ((x & 0x7fffffff) > 0x7f800000) halves[i] = (x >>> 16) | 0x0040;
    else halves[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  const bytes = new Uint8Array(halves.buffer);
  if (!LITTLE_ENDIAN_HOST) swapBytesInPlace(bytes, 2);
  return bytes;
}

/** Float32 values as little-endian F32 bytes; a view of the same memory on little-endian hosts. */
export function float32ToBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (LITTLE_ENDIAN_HOST) return bytes;
  const swapped = bytes.slice();
  swapBytesInPlace(swapped, 4);
  return swapped;
}
