import {
  type GgmlBlockCodec,
  type GgufDialect,
  getTernaryFormat,
  ggmlBlockCodec,
  halfToFloatTable,
  type TernaryBlockFormat,
  type TernaryFormatName,
  writeHalf,
} from '@trit/ternary';

export type { GgufDialect };

/** ggml tensor type ids (upstream ggml). Dialect-specific ids are in BitnetCppType and RuvllmType. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
  Q2_0 = 42,
}

/** microsoft/BitNet's fork reuses ids that upstream retired (36–38) or gave to MXFP4 (39). */
export const BitnetCppType = { I2_S: 36, I8_S: 37, TL1: 38, TL2: 39 } as const;

/** RuvLLM wrote its ternary block as id 30, which is BF16 everywhere else. */
export const RuvllmType = { BITNET_T158: 30 } as const;

/** One past the largest upstream id (GGML_TYPE_COUNT). */
export const GGML_TYPE_COUNT = 43;

/** Converts `elements` values stored in `bytes` to float32. */
export type ToFloat = (bytes: Uint8Array, elements: number) => Float32Array;
/** Converts float32 values to the type's bytes (length must be whole blocks). */
export type FromFloat = (values: Float32Array) => Uint8Array;

/** One row of the type table, in the spirit of ggml's type traits. */
export interface GgmlTypeInfo {
  readonly id: number;
  /** Upper-case name as llama.cpp prints it: `F32`, `TQ2_0`, `I2_S`. */
  readonly name: string;
  /** The dialect this row belongs to; `ggml` rows apply unless a dialect overrides the id. */
  readonly dialect: GgufDialect;
  /** Elements per block; `ne[0]` must be a multiple of it unless `flatBlocks`. */
  readonly blockSize: number;
  readonly bytesPerBlock: number;
  /** True for block-quantized types (anything but plain floats and integers). */
  readonly quantized: boolean;
  /** Blocks run over the flattened tensor and may straddle rows (RuvLLM T158, I2_S). */
  readonly flatBlocks: boolean;
  /** Layout depends on how the producing kernels were built: size comes from the file's offsets. */
  readonly opaque: boolean;
  /** The @trit/ternary format that reads this type without going through floats. */
  readonly ternaryFormat?: TernaryFormatName;
  /** Bytes of a tensor with these dimensions (ggml order); NaN for opaque types. */
  byteSize(ne: readonly number[]): number;
  readonly toFloat?: ToFloat;
  readonly fromFloat?: FromFloat;
}

const elementCount = (ne: readonly number[]): number => ne.reduce((a, b) => a * b, 1);

/** A copy of `bytes` in a fresh, aligned buffer so typed-array views of any width work. */
function aligned(bytes: Uint8Array, length: number): ArrayBuffer {
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(0, length));
  return copy.buffer;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const f32ToFloat: ToFloat = (bytes, n) => {
  if (LITTLE_ENDIAN_HOST) return new Float32Array(aligned(bytes, n * 4));
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 4);
  return Float32Array.from({ length: n }, (_, i) => view.getFloat32(i * 4, true));
};

const f16ToFloat: ToFloat = (bytes, n) => {
  const table = halfToFloatTable();
  const out = new Float32Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 2) out[i] = table[bytes[p] | (bytes[p + 1] << 8)];
  return out;
};

const bf16ToFloat: ToFloat = (bytes, n) => {
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0, p = 0; i < n; i++, p += 2) bits[i] = ((bytes[p] | (bytes[p + 1] << 8)) << 16) >>> 0;
  return out;
};

function viewToFloat(width: number, get: (view: DataView, offset: number) => number): ToFloat {
  return (bytes, n) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, n * width);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = get(view, i * width);
    return out;
  };
}

/* The legacy and K-quant rows decode and encode through @trit/ternary's block codecs (docs/formats.md §Legacy and K-quant blocks). */
function blockToFloat(codec: GgmlBlockCodec): ToFloat {
  return (bytes, n) => {
    const out = new Float32Array(n);
    codec.decode(bytes, 0, out, 0, n / codec.blockElements);
    return out;
  };
}

function blockFromFloat(codec: GgmlBlockCodec): FromFloat | undefined {
  const { encode } = codec;
  if (!encode) return undefined;
  return (values) => {
    const blocks = values.length / codec.blockElements;
    const out = new Uint8Array(blocks * codec.blockBytes);
    encode(values, 0, out, 0, blocks);
    return out;
  };
}

/** Row fields for a type that has a block codec: sizes and conversions all come from the codec. */
function blockRow(name: string): RowSpec {
  const codec = ggmlBlockCodec(name);
  if (!codec) throw new Error(`no ggml block codec for ${name}`);
  return {
    name,
    blockSize: codec.blockElements,
    bytesPerBlock: codec.blockBytes,
    toFloat: blockToFloat(codec),
    fromFloat: blockFromFloat(codec),
  };
}

const f32FromFloat: FromFloat = (values) => {
  const out = new Uint8Array(values.length * 4);
  if (LITTLE_ENDIAN_HOST) out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  else {
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  }
  return out;
};

const f16FromFloat: FromFloat = (values) => {
  const out = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) writeHalf(out, i * 2, values[i]);
  return out;
};

/* BF16 rounds to nearest even on the dropped 16 bits; NaN stays a quiet NaN. */
const bf16FromFloat: FromFloat = (values) => {
  const out = new Uint8Array(values.length * 2);
  const source = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const u = source[i];
    const h = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
    out[i * 2] = h & 0xff;
    out[i * 2 + 1] = (h >>> 8) & 0xff;
  }
  return out;
};

/* ggml's reference TQ quantizer: d = absmax per 256-block, code = lroundf(x/d) + 1. */
function ternaryFromFloat(format: TernaryBlockFormat): FromFloat {
  return (values) => {
    const n = values.length;
    const codes = new Int8Array(n);
    const scales = new Float32Array(n / format.blockElements);
    for (let block = 0; block < scales.length; block++) {
      const base = block * format.blockElements;
      let amax = 0;
      for (let j = 0; j < format.blockElements; j++) amax = Math.max(amax, Math.abs(values[base + j]));
      const id = amax === 0 ? 0 : Math.fround(1 / amax);
      for (let j = 0; j < format.blockElements; j++) {
        const x = Math.fround(values[base + j] * id);
        codes[base + j] = Math.sign(x) * Math.round(Math.abs(x));
      }
      scales[block] = amax;
    }
    return format.encode(codes, scales);
  };
}

interface RowSpec {
  name: string;
  blockSize: number;
  bytesPerBlock: number;
  dialect?: GgufDialect;
  quantized?: boolean;
  flatBlocks?: boolean;
  opaque?: boolean;
  ternaryFormat?: TernaryFormatName;
  byteSize?: (ne: readonly number[]) => number;
  toFloat?: ToFloat;
  fromFloat?: FromFloat;
}

function row(id: number, spec: RowSpec): GgmlTypeInfo {
  const { blockSize, bytesPerBlock } = spec;
  const byteSize =
    spec.byteSize ??
    (spec.opaque
      ? () => Number.NaN
      : spec.flatBlocks
        ? (ne: readonly number[]) => Math.ceil(elementCount(ne) / blockSize) * bytesPerBlock
        : (ne: readonly number[]) => (elementCount(ne) / blockSize) * bytesPerBlock);
  return Object.freeze({
    id,
    name: spec.name,
    dialect: spec.dialect ?? 'ggml',
    blockSize,
    bytesPerBlock,
    quantized: spec.quantized ?? blockSize > 1,
    flatBlocks: spec.flatBlocks ?? false,
    opaque: spec.opaque ?? false,
    ternaryFormat: spec.ternaryFormat,
    byteSize,
    toFloat: spec.toFloat,
    fromFloat: spec.fromFloat,
  });
}

function ternaryRow(id: number, name: string, format: TernaryFormatName, dialect: GgufDialect, flat: boolean) {
  const spec = getTernaryFormat(format);
  return row(id, {
    name,
    dialect,
    blockSize: spec.blockElements,
    bytesPerBlock: spec.bytesPerBlock,
    quantized: true,
    flatBlocks: flat,
    ternaryFormat: format,
    byteSize: flat ? (ne) => spec.byteLength(elementCount(ne)) : undefined,
    toFloat: (bytes, n) => spec.dequantize(bytes, n),
    fromFloat: flat ? undefined : ternaryFromFloat(spec),
  });
}

const UPSTREAM: readonly GgmlTypeInfo[] = [
  row(0, { name: 'F32', blockSize: 1, bytesPerBlock: 4, toFloat: f32ToFloat, fromFloat: f32FromFloat }),
  row(1, { name: 'F16', blockSize: 1, bytesPerBlock: 2, toFloat: f16ToFloat, fromFloat: f16FromFloat }),
  row(2, blockRow('Q4_0')),
  row(3, blockRow('Q4_1')),
  row(6, blockRow('Q5_0')),
  row(7, blockRow('Q5_1')),
  row(8, blockRow('Q8_0')),
  row(9, { name: 'Q8_1', blockSize: 32, bytesPerBlock: 36 }),
  row(10, { name: 'Q2_K', blockSize: 256, bytesPerBlock: 84 }),
  row(11, { name: 'Q3_K', blockSize: 256, bytesPerBlock: 110 }),
  row(12, blockRow('Q4_K')),
  row(13, blockRow('Q5_K')),
  row(14, blockRow('Q6_K')),
  row(15, blockRow('Q8_K')),
  row(16, { name: 'IQ2_XXS', blockSize: 256, bytesPerBlock: 66 }),
  row(17, { name: 'IQ2_XS', blockSize: 256, bytesPerBlock: 74 }),
  row(18, { name: 'IQ3_XXS', blockSize: 256, bytesPerBlock: 98 }),
  row(19, { name: 'IQ1_S', blockSize: 256, bytesPerBlock: 50 }),
  row(20, { name: 'IQ4_NL', blockSize: 32, bytesPerBlock: 18 }),
  row(21, { name: 'IQ3_S', blockSize: 256, bytesPerBlock: 110 }),
  row(22, { name: 'IQ2_S', blockSize: 256, bytesPerBlock: 82 }),
  row(23, { name: 'IQ4_XS', blockSize: 256, bytesPerBlock: 136 }),
  row(24, {
    name: 'I8',
    blockSize: 1,
    bytesPerBlock: 1,
    quantized: false,
    toFloat: viewToFloat(1, (v, o) => v.getInt8(o)),
  }),
  row(25, {
    name: 'I16',
    blockSize: 1,
    bytesPerBlock: 2,
    quantized: false,
    toFloat: viewToFloat(2, (v, o) => v.getInt16(o, true)),
  }),
  row(26, {
    name: 'I32',
    blockSize: 1,
    bytesPerBlock: 4,
    quantized: false,
    toFloat: viewToFloat(4, (v, o) => v.getInt32(o, true)),
  }),
  row(27, { name: 'I64', blockSize: 1, bytesPerBlock: 8, quantized: false }),
  row(28, { name: 'F64', blockSize: 1, bytesPerBlock: 8, toFloat: viewToFloat(8, (v, o) => v.getFloat64(o, true)) }),
  row(29, { name: 'IQ1_M', blockSize: 256, bytesPerBlock: 56 }),
  row(30, { name: 'BF16', blockSize: 1, bytesPerBlock: 2, toFloat: bf16ToFloat, fromFloat: bf16FromFloat }),
  ternaryRow(34, 'TQ1_0', 'tq1_0', 'ggml', false),
  ternaryRow(35, 'TQ2_0', 'tq2_0', 'ggml', false),
  row(39, { name: 'MXFP4', blockSize: 32, bytesPerBlock: 17 }),
  row(40, { name: 'NVFP4', blockSize: 64, bytesPerBlock: 36 }),
  row(41, { name: 'Q1_0', blockSize: 128, bytesPerBlock: 18 }),
  row(42, { name: 'Q2_0', blockSize: 64, bytesPerBlock: 18 }),
];

/** Ids ggml retired; they have block size 0 there, so llama.cpp refuses them. */
const RETIRED: Readonly<Record<number, string>> = {
  4: 'Q4_2 (removed from ggml)',
  5: 'Q4_3 (removed from ggml)',
  31: 'Q4_0_4_4 (removed from ggml: use Q4_0 with runtime repacking)',
  32: 'Q4_0_4_8 (removed from ggml: use Q4_0 with runtime repacking)',
  33: 'Q4_0_8_8 (removed from ggml: use Q4_0 with runtime repacking)',
  36: 'IQ4_NL_4_4 (removed from ggml; id 36 is I2_S only in bitnet.cpp files)',
  37: 'IQ4_NL_4_8 (removed from ggml; id 37 is I8_S only in bitnet.cpp files)',
  38: 'IQ4_NL_8_8 (removed from ggml; id 38 is TL1 only in bitnet.cpp files)',
};

const BITNET_CPP: readonly GgmlTypeInfo[] = [
  // Logical shape in the info; ⌊n/4⌋ code bytes, then one f32 scale and 28 spare bytes; a partial last block has no codes (docs/formats.md §I2_S).
  ternaryRow(BitnetCppType.I2_S, 'I2_S', 'i2_s', 'bitnet.cpp', true),
  row(BitnetCppType.I8_S, { name: 'I8_S', blockSize: 1, bytesPerBlock: 1, dialect: 'bitnet.cpp', opaque: true }),
  row(BitnetCppType.TL1, { name: 'TL1', blockSize: 1, bytesPerBlock: 1, dialect: 'bitnet.cpp', opaque: true }),
  row(BitnetCppType.TL2, { name: 'TL2', blockSize: 1, bytesPerBlock: 1, dialect: 'bitnet.cpp', opaque: true }),
];

const RUVLLM: readonly GgmlTypeInfo[] = [ternaryRow(RuvllmType.BITNET_T158, 'BITNET_T158', 't158', 'ruvllm', true)];

const byId = (rows: readonly GgmlTypeInfo[]) => new Map(rows.map((r) => [r.id, r]));
const TABLES: Record<GgufDialect, Map<number, GgmlTypeInfo>> = {
  ggml: byId(UPSTREAM),
  'bitnet.cpp': byId([...UPSTREAM.filter((r) => r.id < 36 || r.id > 39), ...BITNET_CPP]),
  ruvllm: byId([...UPSTREAM.filter((r) => r.id !== 30), ...RUVLLM]),
};

/** Every type of a dialect, ordered by id. */
export function ggmlTypes(dialect: GgufDialect = 'ggml'): GgmlTypeInfo[] {
  return [...TABLES[dialect].values()].sort((a, b) => a.id - b.id);
}

/** The row for `id` in `dialect`, or undefined; see {@link describeUnknownType} for why. */
export function findGgmlType(id: number, dialect: GgufDialect = 'ggml'): GgmlTypeInfo | undefined {
  return TABLES[dialect].get(id);
}

/** Why `id` has no row: retired, or outside the table. */
export function describeUnknownType(id: number, dialect: GgufDialect = 'ggml'): string {
  if (dialect === 'ggml' && RETIRED[id]) return `type ${id} is ${RETIRED[id]}`;
  if (RETIRED[id] && !TABLES[dialect].has(id)) return `type ${id} is ${RETIRED[id]}`;
  return `type ${id} is not a ggml type (valid ids are 0–${GGML_TYPE_COUNT - 1} in the ${dialect} dialect)`;
}

/** The row called `name` (case-insensitive) in `dialect`. */
export function ggmlTypeByName(name: string, dialect: GgufDialect = 'ggml'): GgmlTypeInfo | undefined {
  const wanted = name.toUpperCase();
  for (const info of TABLES[dialect].values()) if (info.name === wanted) return info;
  return undefined;
}
