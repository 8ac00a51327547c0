/**
 * A GGUF header as the mutators see it: every key/value and tensor info with
 * its raw bytes, plus the offset and width of each integer field, so a
 * mutation can change one field in place or rebuild the header around a
 * changed entry. Written from the format, independent of @trit/gguf's
 * parser, so a parser bug cannot hide itself from the fuzzer.
 */

export const GGUF_TYPE = {
  U8: 0,
  I8: 1,
  U16: 2,
  I16: 3,
  U32: 4,
  I32: 5,
  F32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  U64: 10,
  I64: 11,
  F64: 12,
} as const;

const SCALAR_WIDTH: Record<number, 1 | 2 | 4 | 8> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};

export type FieldKind =
  | 'header'
  | 'string-length'
  | 'value-type'
  | 'array-header'
  | 'value'
  | 'tensor-ndims'
  | 'tensor-dim'
  | 'tensor-type'
  | 'tensor-offset';

/** An integer (or float) field of the header, by byte offset. */
export interface Field {
  offset: number;
  width: 1 | 2 | 4 | 8;
  kind: FieldKind;
  label: string;
}

export interface Kv {
  keyBytes: Uint8Array;
  key: string;
  type: number;
  /** The encoded value, after the type field. */
  value: Uint8Array;
}

export interface TensorInfo {
  nameBytes: Uint8Array;
  name: string;
  dims: bigint[];
  type: number;
  offset: bigint;
}

export interface GgufLayout {
  version: number;
  kvs: Kv[];
  tensors: TensorInfo[];
  /** End of the tensor infos. */
  infosEnd: number;
  alignment: number;
  /** Start of the data section (infosEnd aligned up). */
  dataOffset: number;
  fields: Field[];
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Parses a well-formed-enough header; throws (plain Error) on anything it cannot follow. */
export function parseLayout(bytes: Uint8Array): GgufLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const fields: Field[] = [];
  const need = (n: number) => {
    if (at + n > bytes.length) throw new Error('layout: past the end');
  };
  const field = (width: 1 | 2 | 4 | 8, kind: FieldKind, label: string) => {
    need(width);
    fields.push({ offset: at, width, kind, label });
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(at, true);
    at += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(at, true);
    at += 8;
    return v;
  };
  const string = (label: string): Uint8Array => {
    field(8, 'string-length', label);
    const n = u64();
    if (n > BigInt(bytes.length - at)) throw new Error('layout: string past the end');
    const s = bytes.subarray(at, at + Number(n));
    at += Number(n);
    return s;
  };
  const value = (type: number, label: string, depth: number): void => {
    const width = SCALAR_WIDTH[type];
    if (width !== undefined) {
      field(width, 'value', label);
      at += width;
    } else if (type === GGUF_TYPE.STRING) string(label);
    else if (type === GGUF_TYPE.ARRAY && depth === 0) {
      field(4, 'array-header', `${label} element type`);
      const elementType = u32();
      field(8, 'array-header', `${label} length`);
      const n = u64();
      if (n > BigInt(bytes.length - at)) throw new Error('layout: array past the end');
      // Only the first elements' fields are listed: enough to aim at, without thousands of entries.
      for (let i = 0; i < Number(n); i++) {
        const before = fields.length;
        value(elementType, `${label}[${i}]`, depth + 1);
        if (i >= 8) fields.length = before;
      }
    } else throw new Error(`layout: value type ${type}`);
  };

  need(24);
  if (view.getUint32(0, true) !== 0x46554747) throw new Error('layout: no GGUF magic');
  at = 4;
  field(4, 'header', 'version');
  const version = u32();
  field(8, 'header', 'tensor count');
  const tensorCount = u64();
  field(8, 'header', 'metadata count');
  const kvCount = u64();
  if (tensorCount > 100_000n || kvCount > 100_000n) throw new Error('layout: implausible counts');

  const kvs: Kv[] = [];
  for (let i = 0; i < Number(kvCount); i++) {
    const keyBytes = string(`key ${i} length`);
    const key = utf8.decode(keyBytes);
    field(4, 'value-type', `${key} type`);
    const type = u32();
    const start = at;
    value(type, key, 0);
    kvs.push({ keyBytes, key, type, value: bytes.slice(start, at) });
  }
  const tensors: TensorInfo[] = [];
  for (let i = 0; i < Number(tensorCount); i++) {
    const nameBytes = string(`tensor ${i} name length`);
    const name = utf8.decode(nameBytes);
    field(4, 'tensor-ndims', `${name} ndims`);
    const ndims = u32();
    if (ndims > 16) throw new Error('layout: implausible ndims');
    const dims: bigint[] = [];
    for (let d = 0; d < ndims; d++) {
      field(8, 'tensor-dim', `${name} ne[${d}]`);
      dims.push(u64());
    }
    field(4, 'tensor-type', `${name} type`);
    const type = u32();
    field(8, 'tensor-offset', `${name} offset`);
    const offset = u64();
    tensors.push({ nameBytes, name, dims, type, offset });
  }
  const infosEnd = at;
  let alignment = 32;
  const align = kvs.find((kv) => kv.key === 'general.alignment');
  if (align && align.type === GGUF_TYPE.U32 && align.value.length === 4) {
    const a = new DataView(align.value.buffer, align.value.byteOffset).getUint32(0, true);
    if (a > 0 && (a & (a - 1)) === 0 && a <= 1 << 20) alignment = a;
  }
  const dataOffset = Math.min(bytes.length, Math.ceil(infosEnd / alignment) * alignment);
  return { version, kvs, tensors, infosEnd, alignment, dataOffset, fields };
}

/** Little-endian byte builder for header pieces. */
export class ByteBuilder {
  private chunks: number[] = [];
  u8(v: number): this {
    this.chunks.push(v & 0xff);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.chunks.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: bigint | number): this {
    let big = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++) {
      this.chunks.push(Number(big & 0xffn));
      big >>= 8n;
    }
    return this;
  }
  f32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.raw(b);
  }
  f64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    return this.raw(b);
  }
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.chunks.push(bytes[i] as number);
    return this;
  }
  string(s: string | Uint8Array): this {
    const b = typeof s === 'string' ? new TextEncoder().encode(s) : s;
    return this.u64(b.length).raw(b);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

/** The value bytes (after the type field) of a scalar of `type`. */
export function encodeScalar(type: number, v: number | bigint): Uint8Array {
  const b = new ByteBuilder();
  const n = Number(v);
  switch (type) {
    case GGUF_TYPE.U8:
    case GGUF_TYPE.I8:
    case GGUF_TYPE.BOOL:
      return b.u8(n).bytes();
    case GGUF_TYPE.U16:
    case GGUF_TYPE.I16:
      return b
        .u8(n)
        .u8(n >> 8)
        .bytes();
    case GGUF_TYPE.U32:
    case GGUF_TYPE.I32:
      return b.u32(n).bytes();
    case GGUF_TYPE.F32:
      return b.f32(n).bytes();
    case GGUF_TYPE.F64:
      return b.f64(n).bytes();
    default:
      return b.u64(typeof v === 'bigint' ? v : BigInt(Math.trunc(n))).bytes();
  }
}

/** An array value: element type, length, then the elements' bytes. */
export function encodeArray(
  elementType: number,
  elements: readonly Uint8Array[],
  length = elements.length,
): Uint8Array {
  const b = new ByteBuilder().u32(elementType).u64(length);
  for (const e of elements) b.raw(e);
  return b.bytes();
}

export function encodeString(s: string | Uint8Array): Uint8Array {
  return new ByteBuilder().string(s).bytes();
}

/** The elements of an array value, as raw byte slices (undefined if it is not a simple array). */
export function splitArray(value: Uint8Array): { elementType: number; elements: Uint8Array[] } | undefined {
  if (value.length < 12) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const elementType = view.getUint32(0, true);
  const n = Number(view.getBigUint64(4, true));
  const width = SCALAR_WIDTH[elementType];
  const elements: Uint8Array[] = [];
  let at = 12;
  for (let i = 0; i < n; i++) {
    const size = width ?? (elementType === GGUF_TYPE.STRING ? 8 + Number(view.getBigUint64(at, true)) : -1);
    if (size < 0 || at + size > value.length) return undefined;
    elements.push(value.slice(at, at + size));
    at += size;
  }
  return { elementType, elements };
}

export interface SerializeOptions {
  /** Written instead of the real counts (a header that lies about its length). */
  tensorCount?: bigint;
  kvCount?: bigint;
  /** Pads the infos to this alignment before the data; default the layout's. */
  alignment?: number;
}

/** Rebuilds a file from a (changed) layout and the original data section. */
export function serializeLayout(layout: GgufLayout, data: Uint8Array, options: SerializeOptions = {}): Uint8Array {
  const b = new ByteBuilder()
    .u32(0x46554747)
    .u32(layout.version)
    .u64(options.tensorCount ?? BigInt(layout.tensors.length))
    .u64(options.kvCount ?? BigInt(layout.kvs.length));
  for (const kv of layout.kvs) b.string(kv.keyBytes).u32(kv.type).raw(kv.value);
  for (const t of layout.tensors) {
    b.string(t.nameBytes).u32(t.dims.length);
    for (const d of t.dims) b.u64(d);
    b.u32(t.type).u64(t.offset);
  }
  const header = b.bytes();
  const alignment = options.alignment ?? layout.alignment;
  const padded = Math.ceil(header.length / alignment) * alignment;
  const out = new Uint8Array(padded + data.length);
  out.set(header);
  out.set(data, padded);
  return out;
}

/** Block geometry of the types the seed models use: elements and bytes per block, where the fp16 scale sits. */
export const BLOCKS: Record<number, { elements: number; bytes: number; scaleAt?: number; name: string }> = {
  0: { elements: 1, bytes: 4, name: 'F32' },
  1: { elements: 1, bytes: 2, name: 'F16' },
  8: { elements: 32, bytes: 34, scaleAt: 0, name: 'Q8_0' },
  30: { elements: 1, bytes: 2, name: 'BF16' },
  34: { elements: 256, bytes: 54, scaleAt: 52, name: 'TQ1_0' },
  35: { elements: 256, bytes: 66, scaleAt: 64, name: 'TQ2_0' },
};

/** Absolute byte range of a tensor's data, when its type is one of BLOCKS and it fits in the file. */
export function tensorRange(
  layout: GgufLayout,
  tensor: TensorInfo,
  fileSize: number,
): { start: number; bytes: number } | undefined {
  const block = BLOCKS[tensor.type];
  if (!block) return undefined;
  const elements = tensor.dims.reduce((a, b) => a * b, 1n);
  const bytes = Number((elements / BigInt(block.elements)) * BigInt(block.bytes));
  const start = layout.dataOffset + Number(tensor.offset);
  if (!Number.isSafeInteger(start) || start + bytes > fileSize || bytes <= 0) return undefined;
  return { start, bytes };
}
