import { GgufError } from './errors.js';
import { utf8DecoderFor } from './utf8.js';
import {
  type GgufArrayElements,
  type GgufArrayValue,
  type GgufMetadataValue,
  GgufValueType,
  isGgufValueType,
  VALUE_TYPE_BYTES,
  valueTypeName,
} from './value-types.js';

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** gguf.cpp's cap on a string's byte length and an array's element count. */
export const GGUF_MAX_STRING_OR_ARRAY = 1024 ** 3;
/** ggml's GGML_MAX_NAME is 64 including the NUL: names may have 63 bytes. */
export const GGUF_MAX_NAME_BYTES = 63;
export const GGUF_MAX_DIMS = 4;
/** Deeper nesting only serves to exhaust a reader's stack. */
const MAX_ARRAY_DEPTH = 16;

/** The parser needs bytes up to `until` that the caller has not loaded yet. */
export class NeedMoreBytes {
  constructor(readonly until: number) {}
}

export interface RawTensorInfo {
  name: string;
  /** Dimensions in ggml order (ne[0] first), as numbers: values above 2^53 are rejected. */
  ne: number[];
  typeId: number;
  /** Offset from the start of the data section, as written. */
  offset: number;
  /** Where this tensor's info starts in the file, for error messages. */
  infoOffset: number;
}

export interface RawHeader {
  version: number;
  metadata: Map<string, GgufMetadataValue>;
  /** Byte offset of each key's KV pair, for error messages. */
  keyOffsets: Map<string, number>;
  tensors: RawTensorInfo[];
  /** First byte after the last tensor info (before alignment padding). */
  infosEnd: number;
}

const MIN_KV_BYTES = 8 + 1 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 4 + 8;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Parses the header of a GGUF held (at least in part) in `bytes`, which
 * starts at file offset 0 of a file of `fileSize` bytes. Every count and
 * length is checked against the bytes left in the *file* before anything is
 * allocated; running past the loaded prefix throws NeedMoreBytes so the
 * caller can load more and retry.
 */
export function parseHeader(bytes: Uint8Array, fileSize: number, source: string): RawHeader {
  return new HeaderParser(bytes, fileSize, source).parse();
}

class HeaderParser {
  private pos = 0;
  private readonly view: DataView;
  private readonly decode: (start: number, end: number) => string;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fileSize: number,
    private readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.decode = utf8DecoderFor(bytes);
  }

  private fail(
    reason: string,
    offset: number,
    more: { expected?: string; found?: string; key?: string; tensor?: string } = {},
  ): never {
    throw new GgufError(reason, { source: this.source, offset, ...more });
  }

  private ensure(n: number, what: string): void {
    const end = this.pos + n;
    if (end > this.fileSize) {
      this.fail(`file is truncated while reading ${what}`, this.pos, {
        expected: `${n} bytes`,
        found: `${this.fileSize - this.pos} bytes left`,
      });
    }
    if (end > this.bytes.length) throw new NeedMoreBytes(end);
  }

  private remaining(): number {
    return this.fileSize - this.pos;
  }

  private u8(): number {
    this.ensure(1, 'a u8');
    return this.bytes[this.pos++];
  }
  private u32(what = 'a u32'): number {
    this.ensure(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private i32(what = 'an i32'): number {
    this.ensure(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A u64 that must be a count or offset: below 2^63 (gguf.cpp reads int64) and a safe integer. */
  private size(what: string): number {
    const at = this.pos;
    this.ensure(8, what);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    if (hi >= 0x200000) {
      this.fail(`${what} is too large`, at, {
        expected: `at most ${Number.MAX_SAFE_INTEGER}`,
        found: (BigInt(hi) * 2n ** 32n + BigInt(lo)).toString(),
      });
    }
    return hi * 2 ** 32 + lo;
  }

  private string(what: string): string {
    const at = this.pos;
    const length = this.size(`the length of ${what}`);
    if (length > GGUF_MAX_STRING_OR_ARRAY) {
      this.fail(`${what} is longer than GGUF allows`, at, {
        expected: `at most ${GGUF_MAX_STRING_OR_ARRAY} bytes`,
        found: `${length}`,
      });
    }
    if (length > this.remaining()) {
      this.fail(`${what} runs past the end of the file`, at, {
        expected: `${length} bytes`,
        found: `${this.remaining()} bytes left`,
      });
    }
    this.ensure(length, what);
    const text = this.decode(this.pos, this.pos + length);
    this.pos += length;
    return text;
  }

  parse(): RawHeader {
    this.ensure(4, 'the magic');
    const magic = this.view.getUint32(0, true);
    if (magic !== GGUF_MAGIC) {
      const found = [...this.bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      this.fail('not a GGUF file', 0, { expected: 'magic 47 47 55 46 ("GGUF")', found });
    }
    this.pos = 4;
    const version = this.u32('the version');
    if (version === 0 || version > 0xffff) {
      const hint = (version & 0xffff) === 0 && version !== 0 ? ' (this looks like a big-endian file)' : '';
      this.fail(`unsupported GGUF version${hint}`, 4, { expected: '2 or 3', found: `${version}` });
    }
    if (version === 1)
      this.fail('GGUF v1 is not supported (llama.cpp rejects it too)', 4, { expected: '2 or 3', found: '1' });
    if (version > 3)
      this.fail('GGUF version is newer than this reader', 4, { expected: '2 or 3', found: `${version}` });

    const tensorCountAt = this.pos;
    const tensorCount = this.size('the tensor count');
    const kvCountAt = this.pos;
    const kvCount = this.size('the metadata count');
    if (kvCount * MIN_KV_BYTES > this.remaining()) {
      this.fail('metadata count is larger than the file could hold', kvCountAt, {
        expected: `at most ${Math.floor(this.remaining() / MIN_KV_BYTES)} (each pair needs at least ${MIN_KV_BYTES} bytes)`,
        found: `${kvCount}`,
      });
    }
    if (tensorCount * MIN_TENSOR_INFO_BYTES > this.remaining()) {
      this.fail('tensor count is larger than the file could hold', tensorCountAt, {
        expected: `at most ${Math.floor(this.remaining() / MIN_TENSOR_INFO_BYTES)} (each info needs at least ${MIN_TENSOR_INFO_BYTES} bytes)`,
        found: `${tensorCount}`,
      });
    }

    const metadata = new Map<string, GgufMetadataValue>();
    const keyOffsets = new Map<string, number>();
    for (let i = 0; i < kvCount; i++) {
      const at = this.pos;
      const key = this.string(`the key of metadata pair ${i}`);
      if (key.length === 0) this.fail(`metadata pair ${i} has an empty key`, at);
      if (metadata.has(key)) {
        this.fail('duplicate metadata key', at, {
          key,
          expected: 'each key once',
          found: `a second copy (first at offset ${keyOffsets.get(key)})`,
        });
      }
      const typeAt = this.pos;
      const type = this.i32(`the value type of "${key}"`);
      if (!isGgufValueType(type)) {
        this.fail('unknown metadata value type', typeAt, { key, expected: 'a type id 0–12', found: `${type}` });
      }
      metadata.set(key, this.value(type, key, 0));
      keyOffsets.set(key, at);
    }

    const tensors: RawTensorInfo[] = [];
    const names = new Map<string, number>();
    for (let i = 0; i < tensorCount; i++) {
      const infoOffset = this.pos;
      const name = this.string(`the name of tensor ${i}`);
      const nameBytes = this.pos - infoOffset - 8;
      if (nameBytes > GGUF_MAX_NAME_BYTES) {
        this.fail('tensor name is too long', infoOffset, {
          tensor: name,
          expected: `at most ${GGUF_MAX_NAME_BYTES} bytes`,
          found: `${nameBytes} bytes`,
        });
      }
      if (names.has(name)) {
        this.fail('duplicate tensor name', infoOffset, {
          tensor: name,
          expected: 'each name once',
          found: `a second info (first at offset ${names.get(name)})`,
        });
      }
      names.set(name, infoOffset);
      const dimsAt = this.pos;
      const nDims = this.u32(`the dimension count of "${name}"`);
      if (nDims > GGUF_MAX_DIMS) {
        this.fail('tensor has too many dimensions', dimsAt, {
          tensor: name,
          expected: `at most ${GGUF_MAX_DIMS}`,
          found: `${nDims}`,
        });
      }
      const ne: number[] = [];
      let elements = 1n;
      for (let d = 0; d < nDims; d++) {
        const dim = this.size(`dimension ${d} of "${name}"`);
        ne.push(dim);
        elements *= BigInt(dim);
      }
      if (elements > 0x7fffffffffffffffn) {
        this.fail('tensor element count overflows int64', dimsAt, {
          tensor: name,
          expected: `at most ${0x7fffffffffffffffn}`,
          found: `${ne.join('×')} = ${elements}`,
        });
      }
      const typeId = this.i32(`the type of "${name}"`);
      const offset = this.size(`the data offset of "${name}"`);
      tensors.push({ name, ne, typeId, offset, infoOffset });
    }
    return { version, metadata, keyOffsets, tensors, infosEnd: this.pos };
  }

  private value(type: GgufValueType, key: string, depth: number): GgufMetadataValue {
    switch (type) {
      case GgufValueType.STRING:
        return { type, value: this.string(`the value of "${key}"`) };
      case GgufValueType.ARRAY:
        return this.array(key, depth);
      case GgufValueType.BOOL:
        return { type, value: this.u8() !== 0 };
      case GgufValueType.UINT64:
      case GgufValueType.INT64: {
        this.ensure(8, `the value of "${key}"`);
        const big =
          type === GgufValueType.UINT64
            ? this.view.getBigUint64(this.pos, true)
            : this.view.getBigInt64(this.pos, true);
        this.pos += 8;
        return { type, value: toSafeNumber(big) };
      }
      default: {
        const width = VALUE_TYPE_BYTES[type] as number;
        this.ensure(width, `the value of "${key}"`);
        const value = readScalar(this.view, this.pos, type);
        this.pos += width;
        return { type, value } as GgufMetadataValue;
      }
    }
  }

  private array(key: string, depth: number): GgufArrayValue {
    const at = this.pos;
    if (depth >= MAX_ARRAY_DEPTH)
      this.fail('arrays are nested too deeply', at, {
        key,
        expected: `at most ${MAX_ARRAY_DEPTH} levels`,
        found: 'deeper',
      });
    const elementType = this.i32(`the element type of "${key}"`);
    if (!isGgufValueType(elementType)) {
      this.fail('unknown array element type', at, { key, expected: 'a type id 0–12', found: `${elementType}` });
    }
    const countAt = this.pos;
    const count = this.size(`the element count of "${key}"`);
    const minBytes =
      elementType === GgufValueType.STRING
        ? 8
        : elementType === GgufValueType.ARRAY
          ? 12
          : (VALUE_TYPE_BYTES[elementType] as number);
    if (count > GGUF_MAX_STRING_OR_ARRAY || count * minBytes > this.remaining()) {
      this.fail('array is longer than the file could hold', countAt, {
        key,
        expected: `at most ${Math.min(GGUF_MAX_STRING_OR_ARRAY, Math.floor(this.remaining() / minBytes))} ${valueTypeName(elementType)} elements`,
        found: `${count}`,
      });
    }
    return { type: GgufValueType.ARRAY, elementType, value: this.elements(elementType, count, key, depth) };
  }

  private elements(type: GgufValueType, count: number, key: string, depth: number): GgufArrayElements {
    switch (type) {
      case GgufValueType.STRING: {
        const out = new Array<string>(count);
        for (let i = 0; i < count; i++) out[i] = this.string(`element ${i} of "${key}"`);
        return out;
      }
      case GgufValueType.ARRAY: {
        const out = new Array<GgufArrayValue>(count);
        for (let i = 0; i < count; i++) out[i] = this.array(key, depth + 1);
        return out;
      }
      case GgufValueType.BOOL: {
        this.ensure(count, `the elements of "${key}"`);
        const out = new Array<boolean>(count);
        for (let i = 0; i < count; i++) out[i] = this.bytes[this.pos + i] !== 0;
        this.pos += count;
        return out;
      }
      case GgufValueType.UINT64:
      case GgufValueType.INT64: {
        this.ensure(count * 8, `the elements of "${key}"`);
        const out = new Array<number | bigint>(count);
        const unsigned = type === GgufValueType.UINT64;
        for (let i = 0; i < count; i++, this.pos += 8) {
          out[i] = toSafeNumber(
            unsigned ? this.view.getBigUint64(this.pos, true) : this.view.getBigInt64(this.pos, true),
          );
        }
        return out;
      }
      default: {
        const width = VALUE_TYPE_BYTES[type] as number;
        const byteLength = count * width;
        this.ensure(byteLength, `the elements of "${key}"`);
        const copy = this.bytes.slice(this.pos, this.pos + byteLength);
        const start = this.pos;
        this.pos += byteLength;
        if (!LITTLE_ENDIAN_HOST && width > 1) {
          return numericArray(type, count, (i) => readScalar(this.view, start + i * width, type));
        }
        return typedView(type, copy.buffer, count);
      }
    }
  }
}

function toSafeNumber(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
}

export function readScalar(view: DataView, at: number, type: GgufValueType): number {
  switch (type) {
    case GgufValueType.UINT8:
      return view.getUint8(at);
    case GgufValueType.INT8:
      return view.getInt8(at);
    case GgufValueType.UINT16:
      return view.getUint16(at, true);
    case GgufValueType.INT16:
      return view.getInt16(at, true);
    case GgufValueType.UINT32:
      return view.getUint32(at, true);
    case GgufValueType.INT32:
      return view.getInt32(at, true);
    case GgufValueType.FLOAT32:
      return view.getFloat32(at, true);
    case GgufValueType.FLOAT64:
      return view.getFloat64(at, true);
    default:
      throw new TypeError(`not a fixed-width number type: ${valueTypeName(type)}`);
  }
}

function typedView(type: GgufValueType, buffer: ArrayBuffer, count: number): GgufArrayElements {
  switch (type) {
    case GgufValueType.UINT8:
      return new Uint8Array(buffer, 0, count);
    case GgufValueType.INT8:
      return new Int8Array(buffer, 0, count);
    case GgufValueType.UINT16:
      return new Uint16Array(buffer, 0, count);
    case GgufValueType.INT16:
      return new Int16Array(buffer, 0, count);
    case GgufValueType.UINT32:
      return new Uint32Array(buffer, 0, count);
    case GgufValueType.INT32:
      return new Int32Array(buffer, 0, count);
    case GgufValueType.FLOAT32:
      return new Float32Array(buffer, 0, count);
    case GgufValueType.FLOAT64:
      return new Float64Array(buffer, 0, count);
    default:
      throw new TypeError(`not a typed-array element type: ${valueTypeName(type)}`);
  }
}

function numericArray(type: GgufValueType, count: number, at: (i: number) => number): GgufArrayElements {
  const out = typedView(type, new ArrayBuffer(count * (VALUE_TYPE_BYTES[type] as number)), count) as Float64Array;
  for (let i = 0; i < count; i++) out[i] = at(i);
  return out;
}
