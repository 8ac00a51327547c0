import { GgufWriteError } from './errors.js';
import { knownKeyType } from './known-keys.js';
import { GGUF_MAGIC } from './parse.js';
import { encodeUtf8, utf8Length } from './utf8.js';
import {
  type GgufArrayElements,
  type GgufArrayValue,
  type GgufMetadataValue,
  GgufValueType,
  isGgufValueType,
  VALUE_TYPE_BYTES,
  valueTypeName,
} from './value-types.js';

/** What a metadata value may be given as: typed (exact) or plain (typed by key, else inferred). */
export type GgufMetadataInput =
  | GgufMetadataValue
  | string
  | boolean
  | number
  | bigint
  | readonly string[]
  | readonly number[]
  | readonly boolean[]
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

export interface EncodeMetadataOptions {
  /** `general.architecture`, used to type `${arch}.*` keys. */
  architecture?: string;
  /** llama.cpp's reader rejects arrays of arrays; allow them only for other readers. */
  allowNestedArrays?: boolean;
  /** Names the file in errors. */
  source?: string;
}

const INT_RANGES: Partial<Record<GgufValueType, [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};

function isTyped(input: unknown): input is GgufMetadataValue {
  return (
    typeof input === 'object' &&
    input !== null &&
    !ArrayBuffer.isView(input) &&
    !Array.isArray(input) &&
    'type' in input &&
    'value' in input
  );
}

function typedArrayElementType(input: ArrayBufferView): GgufValueType | undefined {
  if (input instanceof Float32Array) return GgufValueType.FLOAT32;
  if (input instanceof Float64Array) return GgufValueType.FLOAT64;
  if (input instanceof Int32Array) return GgufValueType.INT32;
  if (input instanceof Uint32Array) return GgufValueType.UINT32;
  if (input instanceof Int16Array) return GgufValueType.INT16;
  if (input instanceof Uint16Array) return GgufValueType.UINT16;
  if (input instanceof Int8Array) return GgufValueType.INT8;
  if (input instanceof Uint8Array) return GgufValueType.UINT8;
  return undefined;
}

function inferNumberType(value: number): GgufValueType {
  if (!Number.isInteger(value)) return GgufValueType.FLOAT32;
  if (value >= 0 && value <= 0xffffffff) return GgufValueType.UINT32;
  if (value < 0 && value >= -0x80000000) return GgufValueType.INT32;
  return GgufValueType.INT64;
}

/**
 * Turns an input value into a typed GGUF value, checking it against the type
 * llama.cpp demands for well-known keys and against each type's range.
 * Plain numbers for unknown keys become u32 (non-negative integers), i32,
 * i64 or f32; use GgufValue.f32(1) for a whole-number float.
 */
export function encodeMetadataValue(
  key: string,
  input: GgufMetadataInput,
  options: EncodeMetadataOptions = {},
): GgufMetadataValue {
  const known = knownKeyType(key, options.architecture);
  const fail = (reason: string, expected?: string, found?: string): never => {
    throw new GgufWriteError(reason, { source: options.source, key, expected, found });
  };

  let value: GgufMetadataValue;
  if (isTyped(input)) {
    value = input;
  } else if (typeof input === 'string') {
    value = { type: GgufValueType.STRING, value: input };
  } else if (typeof input === 'boolean') {
    value = { type: GgufValueType.BOOL, value: input };
  } else if (typeof input === 'bigint') {
    value = {
      type:
        known?.type === GgufValueType.UINT64 || input > 0x7fffffffffffffffn
          ? GgufValueType.UINT64
          : GgufValueType.INT64,
      value: input,
    };
  } else if (typeof input === 'number') {
    const type = known && known.type !== GgufValueType.ARRAY ? known.type : inferNumberType(input);
    value = { type, value: input } as GgufMetadataValue;
  } else if (ArrayBuffer.isView(input)) {
    value = {
      type: GgufValueType.ARRAY,
      elementType: typedArrayElementType(input) ?? fail('unsupported typed array'),
      value: input as GgufArrayElements,
    };
  } else if (Array.isArray(input)) {
    const elementType =
      known?.elementType ??
      (known?.perLayerArray ? known.type : undefined) ??
      (input.length === 0
        ? GgufValueType.STRING
        : typeof input[0] === 'string'
          ? GgufValueType.STRING
          : typeof input[0] === 'boolean'
            ? GgufValueType.BOOL
            : (input as number[]).every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)
              ? GgufValueType.UINT32
              : (input as number[]).every((v) => Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff)
                ? GgufValueType.INT32
                : GgufValueType.FLOAT32);
    value = { type: GgufValueType.ARRAY, elementType, value: input as GgufArrayElements };
  } else {
    return fail('unsupported metadata value', 'a string, number, boolean, bigint, array or typed value', typeof input);
  }

  if (known) {
    const found =
      value.type === GgufValueType.ARRAY ? valueTypeName(value.type, value.elementType) : valueTypeName(value.type);
    const expected =
      known.type === GgufValueType.ARRAY ? valueTypeName(known.type, known.elementType) : valueTypeName(known.type);
    const perLayerOk = known.perLayerArray && value.type === GgufValueType.ARRAY && value.elementType === known.type;
    const matches =
      value.type === known.type &&
      (known.elementType === undefined || (value as GgufArrayValue).elementType === known.elementType);
    if (!matches && !perLayerOk) fail('llama.cpp requires a different type for this key', expected, found);
  }
  checkValue(value, key, options, 0);
  return value;
}

function checkScalar(
  type: GgufValueType,
  v: unknown,
  where: string,
  fail: (r: string, e?: string, f?: string) => never,
): void {
  const range = INT_RANGES[type];
  if (range) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) {
      fail(`${where} does not fit in ${valueTypeName(type)}`, `an integer in [${range[0]}, ${range[1]}]`, String(v));
    }
    return;
  }
  switch (type) {
    case GgufValueType.UINT64:
    case GgufValueType.INT64: {
      const big = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
      const [lo, hi] =
        type === GgufValueType.UINT64 ? [0n, 0xffffffffffffffffn] : [-0x8000000000000000n, 0x7fffffffffffffffn];
      if (big === undefined || big < lo || big > hi)
        fail(`${where} does not fit in ${valueTypeName(type)}`, `an integer in [${lo}, ${hi}]`, String(v));
      return;
    }
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof v !== 'number') fail(`${where} is not a number`, 'a number', typeof v);
      return;
    case GgufValueType.BOOL:
      if (typeof v !== 'boolean') fail(`${where} is not a boolean`, 'true or false', String(v));
      return;
    case GgufValueType.STRING:
      if (typeof v !== 'string') fail(`${where} is not a string`, 'a string', typeof v);
      return;
  }
}

function checkValue(value: GgufMetadataValue, key: string, options: EncodeMetadataOptions, depth: number): void {
  const fail = (reason: string, expected?: string, found?: string): never => {
    throw new GgufWriteError(reason, { source: options.source, key, expected, found });
  };
  if (!isGgufValueType(value.type)) fail('unknown value type', 'a type id 0–12', String(value.type));
  if (value.type !== GgufValueType.ARRAY) {
    checkScalar(value.type, value.value, 'value', fail);
    return;
  }
  const { elementType, value: elements } = value;
  if (!isGgufValueType(elementType)) fail('unknown array element type', 'a type id 0–12', String(elementType));
  if (elementType === GgufValueType.ARRAY) {
    if (!options.allowNestedArrays)
      fail('llama.cpp cannot read arrays of arrays', 'an array of scalars', 'a nested array');
    if (depth > 8) fail('arrays are nested too deeply', 'at most 8 levels', 'deeper');
    for (const inner of elements as GgufArrayValue[]) checkValue(inner, key, options, depth + 1);
    return;
  }
  // Typed arrays of the element type's own width are valid by construction.
  if (ArrayBuffer.isView(elements) && typedArrayElementType(elements) === elementType) return;
  const list = elements as ArrayLike<unknown>;
  for (let i = 0; i < list.length; i++) checkScalar(elementType, list[i], `element ${i}`, fail);
}

/** A growable little-endian byte buffer. */
export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(capacity = 1 << 16) {
    this.buffer = new Uint8Array(capacity);
    this.view = new DataView(this.buffer.buffer);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + n) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.buffer[this.length++] = v;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  i64(v: number | bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.length, BigInt(v), true);
    this.length += 8;
  }
  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }
  string(text: string): void {
    const n = utf8Length(text);
    this.reserve(8 + n);
    this.u64(n);
    if (n === text.length) {
      // ASCII: one byte per code unit.
      for (let i = 0; i < n; i++) this.buffer[this.length + i] = text.charCodeAt(i);
    } else {
      this.buffer.set(encodeUtf8(text), this.length);
    }
    this.length += n;
  }
  zeros(n: number): void {
    this.reserve(n);
    this.buffer.fill(0, this.length, this.length + n);
    this.length += n;
  }
  scalar(type: GgufValueType, v: unknown): void {
    switch (type) {
      case GgufValueType.UINT8:
        this.u8(v as number);
        return;
      case GgufValueType.INT8:
        this.u8((v as number) & 0xff);
        return;
      case GgufValueType.UINT16:
      case GgufValueType.INT16:
        this.reserve(2);
        this.view.setUint16(this.length, (v as number) & 0xffff, true);
        this.length += 2;
        return;
      case GgufValueType.UINT32:
        this.u32(v as number);
        return;
      case GgufValueType.INT32:
        this.i32(v as number);
        return;
      case GgufValueType.FLOAT32:
        this.reserve(4);
        this.view.setFloat32(this.length, v as number, true);
        this.length += 4;
        return;
      case GgufValueType.FLOAT64:
        this.reserve(8);
        this.view.setFloat64(this.length, v as number, true);
        this.length += 8;
        return;
      case GgufValueType.BOOL:
        this.u8(v ? 1 : 0);
        return;
      case GgufValueType.STRING:
        this.string(v as string);
        return;
      case GgufValueType.UINT64:
        this.u64(v as number | bigint);
        return;
      case GgufValueType.INT64:
        this.i64(v as number | bigint);
        return;
    }
  }
  value(value: GgufMetadataValue): void {
    if (value.type !== GgufValueType.ARRAY) this.scalar(value.type, value.value);
    else this.array(value);
  }
  private array(value: GgufArrayValue): void {
    const { elementType, value: elements } = value;
    this.i32(elementType);
    this.u64(elements.length);
    if (elementType === GgufValueType.ARRAY) {
      for (const inner of elements as GgufArrayValue[]) this.array(inner);
      return;
    }
    const width = VALUE_TYPE_BYTES[elementType];
    const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    if (
      width &&
      width > 1 &&
      ArrayBuffer.isView(elements) &&
      typedArrayElementType(elements) === elementType &&
      littleEndianHost
    ) {
      this.bytes(new Uint8Array(elements.buffer, elements.byteOffset, elements.byteLength));
      return;
    }
    if (elementType === GgufValueType.UINT8 && elements instanceof Uint8Array) {
      this.bytes(elements);
      return;
    }
    for (let i = 0; i < elements.length; i++) this.scalar(elementType, (elements as ArrayLike<unknown>)[i]);
  }
  result(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

export interface HeaderTensorInfo {
  name: string;
  /** ggml order. */
  shape: readonly number[];
  type: number;
  offset: number;
}

/** Magic, version, counts, KVs and tensor infos (no padding). */
export function serializeHeader(
  version: number,
  metadata: ReadonlyMap<string, GgufMetadataValue>,
  tensors: readonly HeaderTensorInfo[],
): Uint8Array {
  const out = new ByteWriter(1 << 16);
  out.u32(GGUF_MAGIC);
  out.u32(version);
  out.u64(tensors.length);
  out.u64(metadata.size);
  for (const [key, value] of metadata) {
    out.string(key);
    out.i32(value.type);
    out.value(value);
  }
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.shape.length);
    for (const d of t.shape) out.u64(d);
    out.i32(t.type);
    out.u64(t.offset);
  }
  return out.result();
}
