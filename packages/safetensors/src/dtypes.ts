import { SafetensorsInexactError } from './errors.js';
import { type DecodeFloat32, decodeBfloat16, decodeFloat16, LITTLE_ENDIAN_HOST } from './floats.js';

/** The dtype strings a safetensors header may use (`huggingface/safetensors` `Dtype`). */
export type SafetensorsDtype =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'I16'
  | 'U16'
  | 'I32'
  | 'U32'
  | 'I64'
  | 'U64'
  | 'F16'
  | 'BF16'
  | 'F32'
  | 'F64'
  | 'C64'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'F8_E8M0'
  | 'F8_E4M3FNUZ'
  | 'F8_E5M2FNUZ'
  | 'F4'
  | 'F6_E2M3'
  | 'F6_E3M2';

export interface SafetensorsDtypeInfo {
  readonly name: SafetensorsDtype;
  /** Bits per element; F4 and F6 are packed, so a tensor's bit count must be a multiple of 8. */
  readonly bits: number;
  /** Present when readTensorFloat32 can read this dtype. Integer decoders throw SafetensorsInexactError. */
  readonly decodeFloat32?: DecodeFloat32;
  /** Whether decoding can round (F64); integer dtypes are exact or refused value by value. */
  readonly rounds: boolean;
}

type View = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayLike<number>;

/** Integers up to 16 bits are always exact in float32. */
const small =
  (View: View): DecodeFloat32 =>
  (out, input, offset) => {
    const source = new View(input, offset, out.length);
    for (let i = 0; i < out.length; i++) out[i] = source[i];
  };

/** 32-bit integers: exact up to 2^24, and beyond for values with enough trailing zero bits; refused otherwise. */
const wide =
  (View: View): DecodeFloat32 =>
  (out, input, offset) => {
    const source = new View(input, offset, out.length);
    for (let i = 0; i < out.length; i++) {
      const value = source[i];
      out[i] = value;
      if (out[i] !== value) throw new SafetensorsInexactError(i, `${value}`);
    }
  };

/** 64-bit integers, read as two 32-bit words so no BigInt is needed unless a value passes 2^53. */
const wide64 =
  (signed: boolean): DecodeFloat32 =>
  (out, input, offset) => {
    const words = new Uint32Array(input, offset, 2 * out.length);
    // Elements are native-endian: on a big-endian host the high word comes first.
    const lowWord = LITTLE_ENDIAN_HOST ? 0 : 1;
    for (let i = 0; i < out.length; i++) {
      const low = words[2 * i + lowWord];
      const high = signed ? words[2 * i + 1 - lowWord] | 0 : words[2 * i + 1 - lowWord];
      const value = high * 4294967296 + low;
      out[i] = value;
      const exact =
        Math.abs(value) < 2 ** 53 ? out[i] === value : BigInt(out[i]) === (BigInt(high) << 32n) + BigInt(low);
      if (!exact) throw new SafetensorsInexactError(i, `${(BigInt(high) << 32n) + BigInt(low)}`);
    }
  };

const decodeFloat32: DecodeFloat32 = (out, input, offset) => {
  // Read in place (same buffer, offset 0) there is nothing to do.
  if (input !== out.buffer || offset !== out.byteOffset) out.set(new Float32Array(input, offset, out.length));
};

const decodeFloat64: DecodeFloat32 = (out, input, offset) => {
  const source = new Float64Array(input, offset, out.length);
  for (let i = 0; i < out.length; i++) out[i] = source[i];
};

const table: readonly SafetensorsDtypeInfo[] = [
  { name: 'BOOL', bits: 8, rounds: false },
  { name: 'U8', bits: 8, rounds: false, decodeFloat32: small(Uint8Array) },
  { name: 'I8', bits: 8, rounds: false, decodeFloat32: small(Int8Array) },
  { name: 'I16', bits: 16, rounds: false, decodeFloat32: small(Int16Array) },
  { name: 'U16', bits: 16, rounds: false, decodeFloat32: small(Uint16Array) },
  { name: 'I32', bits: 32, rounds: false, decodeFloat32: wide(Int32Array) },
  { name: 'U32', bits: 32, rounds: false, decodeFloat32: wide(Uint32Array) },
  { name: 'I64', bits: 64, rounds: false, decodeFloat32: wide64(true) },
  { name: 'U64', bits: 64, rounds: false, decodeFloat32: wide64(false) },
  { name: 'F16', bits: 16, rounds: false, decodeFloat32: decodeFloat16 },
  { name: 'BF16', bits: 16, rounds: false, decodeFloat32: decodeBfloat16 },
  { name: 'F32', bits: 32, rounds: false, decodeFloat32 },
  { name: 'F64', bits: 64, rounds: true, decodeFloat32: decodeFloat64 },
  { name: 'C64', bits: 64, rounds: false },
  { name: 'F8_E5M2', bits: 8, rounds: false },
  { name: 'F8_E4M3', bits: 8, rounds: false },
  { name: 'F8_E8M0', bits: 8, rounds: false },
  { name: 'F8_E4M3FNUZ', bits: 8, rounds: false },
  { name: 'F8_E5M2FNUZ', bits: 8, rounds: false },
  { name: 'F4', bits: 4, rounds: false },
  { name: 'F6_E2M3', bits: 6, rounds: false },
  { name: 'F6_E3M2', bits: 6, rounds: false },
];

const byName = new Map<string, SafetensorsDtypeInfo>(table.map((row) => [row.name, row]));

/** Every dtype, one row each: name, bits per element and the float32 reader if there is one. */
export const safetensorsDtypes: readonly SafetensorsDtypeInfo[] = table;

/** The dtypes readTensorFloat32 accepts. */
export const FLOAT32_READABLE_DTYPES: readonly SafetensorsDtype[] = table
  .filter((row) => row.decodeFloat32)
  .map((row) => row.name);

export function isSafetensorsDtype(name: unknown): name is SafetensorsDtype {
  return typeof name === 'string' && byName.has(name);
}

/** The table row for a dtype string, or undefined for an unknown one. */
export function findDtype(name: string): SafetensorsDtypeInfo | undefined {
  return byName.get(name);
}

/**
 * The byte size of a tensor, or a reason it has none: the bit count must be a
 * multiple of 8 (F4/F6) and the size a safe integer. Computed in BigInt so
 * huge shapes cannot overflow on the way.
 */
export function tensorByteSize(
  dtype: SafetensorsDtypeInfo,
  shape: readonly number[],
): { byteSize: number; elementCount: number } | { error: string; expected: string; found: string } {
  // Fast path: while the product stays below 2^45, elements × bits is exact in a double.
  let product = 1;
  for (const dim of shape) product *= dim;
  if (product < 2 ** 45) {
    const bits = product * dtype.bits;
    if (bits % 8 === 0) return { byteSize: bits / 8, elementCount: product };
  }
  let elements = 1n;
  for (const dim of shape) elements *= BigInt(dim);
  const bits = elements * BigInt(dtype.bits);
  if (bits % 8n !== 0n) {
    return {
      error: `the tensor's ${dtype.name} elements do not fill a whole number of bytes`,
      expected: 'a bit count divisible by 8',
      found: `${elements} × ${dtype.bits} = ${bits} bits`,
    };
  }
  const bytes = bits / 8n;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { error: 'the tensor is too large', expected: 'at most 2^53 − 1 bytes', found: `${bytes} bytes` };
  }
  return { byteSize: Number(bytes), elementCount: Number(elements) };
}
