import { SafetensorsError, type SafetensorsErrorDetails } from './errors.js';
import { bfloat16BytesToFloat32, float16BytesToFloat32, nativeElements } from './floats.js';

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

/**
 * Reads little-endian element bytes as float32. `ownsBytes` says the bytes
 * are a fresh copy nobody else holds, so the result may share their memory.
 */
export type ToFloat32 = (bytes: Uint8Array, ownsBytes: boolean, where: SafetensorsErrorDetails) => Float32Array;

export interface SafetensorsDtypeInfo {
  readonly name: SafetensorsDtype;
  /** Bits per element; F4 and F6 are packed, so a tensor's bit count must be a multiple of 8. */
  readonly bits: number;
  /** Present when readTensorFloat32 can read this dtype. */
  readonly toFloat32?: ToFloat32;
  /** Whether toFloat32 can round (F64); integer dtypes are exact or refused value by value. */
  readonly rounds: boolean;
}

function view<T>(
  bytes: Uint8Array,
  width: number,
  make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => T,
): T {
  const native = nativeElements(bytes, width).bytes;
  return make(native.buffer, native.byteOffset, native.length / width);
}

const f32: ToFloat32 = (bytes, ownsBytes) => {
  const { bytes: native, copied } = nativeElements(bytes, 4);
  const values = new Float32Array(native.buffer, native.byteOffset, native.length / 4);
  // Never hand out a view of the caller's buffer: the result is the caller's to modify.
  return ownsBytes || copied ? values : values.slice();
};

/** Integers up to 16 bits are always exact in float32. */
const small =
  (
    make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayLike<number>,
    width: number,
  ): ToFloat32 =>
  (bytes) =>
    Float32Array.from(view(bytes, width, make));

function inexact(where: SafetensorsErrorDetails, index: number, value: string): SafetensorsError {
  return new SafetensorsError(`element ${index} cannot be represented exactly as float32`, {
    ...where,
    expected: 'an integer with at most 24 significant bits',
    found: value,
  });
}

/** 32-bit integers: exact up to 2^24 and for larger values with enough trailing zero bits, refused otherwise. */
const wide =
  (make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayLike<number>): ToFloat32 =>
  (bytes, _owns, where) => {
    const input = view(bytes, 4, make);
    const out = Float32Array.from(input);
    for (let i = 0; i < out.length; i++) if (out[i] !== input[i]) throw inexact(where, i, `${input[i]}`);
    return out;
  };

/** 64-bit integers, read as two 32-bit halves so no BigInt is needed unless a value passes 2^53. */
const wide64 =
  (signed: boolean): ToFloat32 =>
  (bytes, _owns, where) => {
    const words = view(bytes, 4, (b, o, n) => new Uint32Array(b, o, n));
    const count = words.length / 2;
    const out = new Float32Array(count);
    // Each 32-bit word is made native-endian; the file's word order (low word first) is kept.
    for (let i = 0; i < count; i++) {
      const low = words[2 * i];
      const high = signed ? words[2 * i + 1] | 0 : words[2 * i + 1];
      const value = high * 4294967296 + low;
      out[i] = value;
      // Below 2^53 the double is exact, so comparing with float32 decides; above, compare as BigInt.
      const exact =
        Math.abs(value) < 2 ** 53 ? out[i] === value : BigInt(out[i]) === (BigInt(high) << 32n) + BigInt(low);
      if (!exact) throw inexact(where, i, `${(BigInt(high) << 32n) + BigInt(low)}`);
    }
    return out;
  };

const table: readonly SafetensorsDtypeInfo[] = [
  { name: 'BOOL', bits: 8, rounds: false },
  { name: 'U8', bits: 8, rounds: false, toFloat32: small((b, o, n) => new Uint8Array(b, o, n), 1) },
  { name: 'I8', bits: 8, rounds: false, toFloat32: small((b, o, n) => new Int8Array(b, o, n), 1) },
  { name: 'I16', bits: 16, rounds: false, toFloat32: small((b, o, n) => new Int16Array(b, o, n), 2) },
  { name: 'U16', bits: 16, rounds: false, toFloat32: small((b, o, n) => new Uint16Array(b, o, n), 2) },
  { name: 'I32', bits: 32, rounds: false, toFloat32: wide((b, o, n) => new Int32Array(b, o, n)) },
  { name: 'U32', bits: 32, rounds: false, toFloat32: wide((b, o, n) => new Uint32Array(b, o, n)) },
  { name: 'I64', bits: 64, rounds: false, toFloat32: wide64(true) },
  { name: 'U64', bits: 64, rounds: false, toFloat32: wide64(false) },
  { name: 'F16', bits: 16, rounds: false, toFloat32: (bytes) => float16BytesToFloat32(bytes) },
  { name: 'BF16', bits: 16, rounds: false, toFloat32: (bytes) => bfloat16BytesToFloat32(bytes) },
  { name: 'F32', bits: 32, rounds: false, toFloat32: f32 },
  {
    name: 'F64',
    bits: 64,
    rounds: true,
    toFloat32: (bytes) => Float32Array.from(view(bytes, 8, (b, o, n) => new Float64Array(b, o, n))),
  },
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
  .filter((row) => row.toFloat32)
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
