import { findDtype, type SafetensorsDtype, type SafetensorsDtypeInfo, tensorByteSize } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { JsonNumber, JsonObject, type JsonValue, jsonTypeName, parseJson } from './json.js';

/**
 * The safetensors layout (huggingface/safetensors README, `tensor.rs`):
 *
 *   bytes 0–7     N, the header length, u64 little-endian
 *   bytes 8…8+N   UTF-8 JSON object: { "__metadata__": {str: str}?,
 *                   name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, … }
 *                 then spaces (writers pad N to a multiple of 8)
 *   the rest      the data buffer; offsets are relative to its start, `end` exclusive
 *
 * Worked example, one F32 scalar 1.0 named "x":
 *   header `{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}` is 53 bytes, padded to 56:
 *   38 00 00 00 00 00 00 00 | 7b 22 78 … 7d 7d 20 20 20 | 00 00 80 3f   (68 bytes in all)
 */

/** The reference parser refuses headers longer than this. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** The key that holds the string→string metadata map instead of a tensor. */
export const METADATA_KEY = '__metadata__';

export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Dimensions in row-major (C, NumPy, PyTorch) order, slowest first, as stored; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** `[begin, end)` relative to the start of the data buffer, as stored. */
  readonly dataOffsets: readonly [begin: number, end: number];
  readonly byteSize: number;
  /** Absolute offset of the data in the file: 8 + header length + begin. */
  readonly fileOffset: number;
  readonly elementCount: number;
  /** Where the tensor's header entry (its name) is in the file, for diagnostics. */
  readonly headerOffset: number;
}

export interface ParsedHeader {
  /** Sorted by data offset, i.e. in file order. */
  readonly tensors: SafetensorsTensorInfo[];
  readonly metadata: Readonly<Record<string, string>>;
  /** The length the data buffer must have: the last tensor's `end`. */
  readonly dataByteLength: number;
}

/**
 * Reads N from the first 8 bytes and checks the header fits, before anything
 * N bytes long is allocated.
 */
export function readHeaderLength(
  prefix: Uint8Array,
  fileSize: number,
  source: string,
  maxHeaderBytes = SAFETENSORS_MAX_HEADER_BYTES,
): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError('file is too short to hold the 8-byte header length', {
      source,
      offset: 0,
      expected: 'at least 8 bytes',
      found: `${fileSize} bytes`,
    });
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  const limit = Math.min(maxHeaderBytes, SAFETENSORS_MAX_HEADER_BYTES);
  if (length > BigInt(limit)) {
    throw new SafetensorsError('header length is larger than safetensors allows', {
      source,
      offset: 0,
      expected: `at most ${limit} bytes`,
      found: `${length} bytes`,
    });
  }
  const n = Number(length);
  if (8 + n > fileSize) {
    throw new SafetensorsError('header runs past the end of the file', {
      source,
      offset: 0,
      expected: `a header length of at most ${fileSize - 8} (the bytes after the length field)`,
      found: `${n}`,
    });
  }
  return n;
}

interface Entry {
  name: string;
  dtype: SafetensorsDtypeInfo;
  shape: number[];
  begin: number;
  end: number;
  byteSize: number;
  elementCount: number;
  headerOffset: number;
}

/**
 * Parses and validates the N header bytes (which start at file offset 8)
 * against a file of `fileSize` bytes, with every rule of the reference reader.
 */
export function parseHeader(header: Uint8Array, fileSize: number, source: string): ParsedHeader {
  const n = header.length;
  if (header[0] !== 0x7b) {
    throw new SafetensorsError("header must be a JSON object starting with '{'", {
      source,
      offset: 8,
      expected: "'{'",
      found: n === 0 ? 'an empty header' : `byte 0x${header[0].toString(16).padStart(2, '0')}`,
    });
  }
  const root = parseJson(header, { source, baseOffset: 8, what: 'header' }) as JsonObject;

  let metadata: Record<string, string> = Object.create(null);
  const entries: Entry[] = [];
  for (const member of root.members) {
    if (member.key === METADATA_KEY) metadata = readMetadata(member.value, member.valueOffset, source);
    else entries.push(readEntry(member.key, member.value, member.keyOffset, source));
  }

  // Sort by [begin, end]; ties (zero-size tensors) keep header order, as sort is stable.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  let previous: Entry | undefined;
  for (const entry of entries) {
    if (entry.begin !== expectedBegin) {
      const gap = entry.begin > expectedBegin;
      throw new SafetensorsError(
        gap
          ? `gap in the data buffer before this tensor${previous ? ` (after "${previous.name}")` : ''}`
          : `tensor data overlaps the data of "${previous?.name}"`,
        {
          source,
          offset: entry.headerOffset,
          tensor: entry.name,
          expected: `data_offsets beginning at ${expectedBegin}`,
          found: `[${entry.begin}, ${entry.end}]`,
        },
      );
    }
    expectedBegin = entry.end;
    previous = entry;
  }

  const dataOffset = 8 + n;
  if (dataOffset + expectedBegin !== fileSize) {
    const short = dataOffset + expectedBegin > fileSize;
    throw new SafetensorsError(
      short ? 'file is truncated: the tensor data runs past its end' : 'file has bytes after the last tensor',
      {
        source,
        offset: Math.min(fileSize, dataOffset + expectedBegin),
        tensor: previous?.name,
        expected: `a file of 8 + ${n} + ${expectedBegin} = ${dataOffset + expectedBegin} bytes`,
        found: `${fileSize} bytes`,
      },
    );
  }

  return {
    tensors: entries.map((e) => ({
      name: e.name,
      dtype: e.dtype.name,
      shape: e.shape,
      dataOffsets: [e.begin, e.end],
      byteSize: e.byteSize,
      fileOffset: dataOffset + e.begin,
      elementCount: e.elementCount,
      headerOffset: e.headerOffset,
    })),
    metadata,
    dataByteLength: expectedBegin,
  };
}

function readMetadata(value: JsonValue, offset: number, source: string): Record<string, string> {
  // serde reads `"__metadata__": null` as no metadata.
  if (value === null) return Object.create(null);
  if (!(value instanceof JsonObject)) {
    throw new SafetensorsError('__metadata__ must be an object of strings', {
      source,
      offset,
      key: METADATA_KEY,
      expected: 'an object',
      found: jsonTypeName(value),
    });
  }
  for (const member of value.members) {
    if (typeof member.value !== 'string') {
      throw new SafetensorsError('__metadata__ values must be strings', {
        source,
        offset: member.valueOffset,
        key: member.key,
        expected: 'a string',
        found: jsonTypeName(member.value),
      });
    }
  }
  // No prototype: "__proto__" is just a key, and an absent "toString" reads as undefined.
  const metadata: Record<string, string> = Object.create(null);
  for (const member of value.members) metadata[member.key] = member.value as string;
  return metadata;
}

function readEntry(name: string, value: JsonValue, headerOffset: number, source: string): Entry {
  const where = { source, offset: headerOffset, tensor: name };
  if (!(value instanceof JsonObject)) {
    throw new SafetensorsError('tensor entry must be an object', {
      ...where,
      expected: '{"dtype", "shape", "data_offsets"}',
      found: jsonTypeName(value),
    });
  }
  const field = (key: string) => {
    const member = value.get(key);
    if (!member) throw new SafetensorsError(`tensor entry has no "${key}"`, { ...where, key });
    return member;
  };

  const dtypeField = field('dtype');
  const dtype = typeof dtypeField.value === 'string' ? findDtype(dtypeField.value) : undefined;
  if (!dtype) {
    throw new SafetensorsError('unknown dtype', {
      ...where,
      offset: dtypeField.valueOffset,
      key: 'dtype',
      expected: 'one of BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64, C64, F8_*, F4, F6_*',
      found: typeof dtypeField.value === 'string' ? JSON.stringify(dtypeField.value) : jsonTypeName(dtypeField.value),
    });
  }

  const shapeField = field('shape');
  const shape = naturals(shapeField.value);
  if (!shape) {
    throw new SafetensorsError('shape must be an array of non-negative integers', {
      ...where,
      offset: shapeField.valueOffset,
      key: 'shape',
      expected: 'e.g. [4096, 11008] or [] for a scalar',
      found: describeArray(shapeField.value),
    });
  }

  const offsetsField = field('data_offsets');
  const offsets = naturals(offsetsField.value);
  if (offsets?.length !== 2) {
    throw new SafetensorsError('data_offsets must be [begin, end], two non-negative integers', {
      ...where,
      offset: offsetsField.valueOffset,
      key: 'data_offsets',
      expected: '[begin, end]',
      found: describeArray(offsetsField.value),
    });
  }
  const [begin, end] = offsets;
  if (end < begin) {
    throw new SafetensorsError('data_offsets end before they begin', {
      ...where,
      offset: offsetsField.valueOffset,
      key: 'data_offsets',
      expected: 'begin ≤ end',
      found: `[${begin}, ${end}]`,
    });
  }

  const size = tensorByteSize(dtype, shape);
  if ('error' in size) {
    throw new SafetensorsError(size.error, { ...where, expected: size.expected, found: size.found });
  }
  if (end - begin !== size.byteSize) {
    throw new SafetensorsError("data_offsets do not match the tensor's dtype and shape", {
      ...where,
      offset: offsetsField.valueOffset,
      key: 'data_offsets',
      expected: `end − begin = ${size.byteSize} bytes ([${shape.join(', ')}] × ${dtype.bits} bits ${dtype.name})`,
      found: `${end - begin} bytes ([${begin}, ${end}])`,
    });
  }
  return { name, dtype, shape, begin, end, byteSize: size.byteSize, elementCount: size.elementCount, headerOffset };
}

/** The array as numbers when every element is a non-negative integer literal that is a safe integer. */
function naturals(value: JsonValue): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: number[] = [];
  for (const item of value) {
    if (!(item instanceof JsonNumber) || !item.integer || !Number.isSafeInteger(item.value) || item.value < 0) {
      return undefined;
    }
    out.push(item.value === 0 ? 0 : item.value); // -0 → 0
  }
  return out;
}

function describeArray(value: JsonValue): string {
  if (!Array.isArray(value)) return jsonTypeName(value);
  const parts = value.slice(0, 8).map((item) => {
    if (item instanceof JsonNumber) return item.integer ? `${item.value}` : `${item.value} (not an integer)`;
    return jsonTypeName(item);
  });
  return `[${parts.join(', ')}${value.length > 8 ? ', …' : ''}]`;
}

export interface HeaderTensor {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly dataOffsets: readonly [number, number];
}

const encoder = new TextEncoder();

/**
 * The header as the Rust writer lays it out: compact JSON, `__metadata__`
 * first, each entry as dtype, shape, data_offsets, then spaces to a multiple
 * of 8 bytes so the data buffer starts 8-aligned.
 */
export function encodeHeader(
  metadata: Iterable<[string, string]> | undefined,
  tensors: readonly HeaderTensor[],
): Uint8Array {
  const parts: string[] = [];
  const meta = metadata ? [...metadata] : [];
  if (meta.length > 0) {
    parts.push(
      `${JSON.stringify(METADATA_KEY)}:{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`,
    );
  }
  for (const t of tensors) {
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":${JSON.stringify(t.dtype)},"shape":[${t.shape.join(',')}],"data_offsets":[${t.dataOffsets[0]},${t.dataOffsets[1]}]}`,
    );
  }
  const json = encoder.encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(padded).fill(0x20);
  out.set(json);
  return out;
}
