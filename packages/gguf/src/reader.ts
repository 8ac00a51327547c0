import { decodeTernaryTensor, type TernaryTensor } from '@trit/ternary';
import { GgufError, GgufUnsupportedError } from './errors.js';
import { describeUnknownType, findGgmlType, type GgmlTypeInfo, type GgufDialect } from './ggml-types.js';
import { GgufMetadata } from './metadata.js';
import { NeedMoreBytes, parseHeader, type RawHeader } from './parse.js';
import { type ByteSource, type GgufSource, openSource } from './source.js';
import { type GgufMetadataValue, GgufValueType, valueTypeName } from './value-types.js';

export const GGUF_DEFAULT_ALIGNMENT = 32;

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml type id (read in the file's dialect). */
  readonly type: number;
  readonly typeName: string;
  /** Dimensions in ggml order: `shape[0]` is the contiguous axis (the reverse of NumPy order). */
  readonly shape: readonly number[];
  /** Offset of the data from the start of the data section, as stored in the file. */
  readonly offset: number;
  /** Absolute byte offset of the data in the file. */
  readonly fileOffset: number;
  readonly byteSize: number;
  readonly elementCount: number;
  readonly typeInfo: GgmlTypeInfo;
}

export interface ReadGgufOptions {
  /**
   * How to read type ids that mean different things in different producers'
   * files. `auto` (the default) reads `ggml` unless the metadata says the file
   * came from bitnet.cpp (`general.architecture` = `bitnet-b1.58` / `bitnet-25`)
   * or RuvLLM (`craftsman.*` keys).
   */
  dialect?: GgufDialect | 'auto';
  /** Refuse headers (metadata + tensor infos) larger than this; default 512 MiB. */
  maxHeaderBytes?: number;
}

// Most headers (a Llama-3 vocabulary is ~9 MB) fit in the first read, so they are parsed once.
const FIRST_READ_BYTES = 16 << 20;
const DEFAULT_MAX_HEADER_BYTES = 512 * 1024 * 1024;

/** The producer a file's metadata points to. */
export function detectDialect(
  metadata: GgufMetadata | ReadonlyMap<string, GgufMetadataValue>,
  typeIds: Iterable<number> = [],
): GgufDialect {
  const arch = metadata.get('general.architecture');
  const archName = arch?.type === GgufValueType.STRING ? arch.value : '';
  if (archName === 'bitnet-b1.58' || archName === 'bitnet-25') return 'bitnet.cpp';
  for (const key of metadata.keys()) if (key.startsWith('craftsman.')) return 'ruvllm';
  if (archName === 'craftsman') return 'ruvllm';
  // Ids 36–38 are retired upstream, so a bitnet file using them can only come from the fork.
  if (archName.startsWith('bitnet')) for (const id of typeIds) if (id >= 36 && id <= 38) return 'bitnet.cpp';
  return 'ggml';
}

/** Row-major view of a tensor: `[rows, cols]`, where cols = ne[0] and rows = the product of the rest. */
export function rowMajorShape(tensor: Pick<GgufTensorInfo, 'shape'>): [rows: number, cols: number] {
  const [cols = 1, ...rest] = tensor.shape;
  return [rest.reduce((a, b) => a * b, 1), cols];
}

/** Dimensions in NumPy/PyTorch order (slowest first). */
export function numpyShape(tensor: Pick<GgufTensorInfo, 'shape'>): number[] {
  return [...tensor.shape].reverse();
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** A parsed GGUF: header in memory, tensor data read on demand. */
export class GgufFile {
  private readonly byName: Map<string, GgufTensorInfo>;

  constructor(
    private readonly bytes: ByteSource,
    readonly version: number,
    readonly metadata: GgufMetadata,
    readonly tensors: readonly GgufTensorInfo[],
    readonly alignment: number,
    /** Absolute offset of the data section. */
    readonly dataOffset: number,
    /** Size of the whole file in bytes. */
    readonly byteLength: number,
    readonly dialect: GgufDialect,
    /** Byte offset of each metadata pair, for diagnostics. */
    readonly keyOffsets: ReadonlyMap<string, number>,
    /** End of the tensor infos, before the padding to the data section. */
    readonly headerByteLength: number,
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** The file path, or `<buffer>` / `<blob>`. */
  get source(): string {
    return this.bytes.name;
  }

  get architecture(): string | undefined {
    const entry = this.metadata.get('general.architecture');
    return entry?.type === GgufValueType.STRING ? entry.value : undefined;
  }

  tensor(name: string): GgufTensorInfo {
    const found = this.byName.get(name);
    if (!found) throw new GgufError('no such tensor', { source: this.source, tensor: name });
    return found;
  }

  hasTensor(name: string): boolean {
    return this.byName.has(name);
  }

  private resolve(tensor: GgufTensorInfo | string): GgufTensorInfo {
    return typeof tensor === 'string' ? this.tensor(tensor) : tensor;
  }

  /** The tensor's bytes. For an in-memory source this is a view that shares its memory. */
  async readTensorData(tensor: GgufTensorInfo | string): Promise<Uint8Array> {
    const info = this.resolve(tensor);
    return this.bytes.read(info.fileOffset, info.byteSize);
  }

  /** Reads a byte range of the file (bounds-checked). */
  async readBytes(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.byteLength) {
      throw new GgufError('read outside the file', {
        source: this.source,
        offset,
        expected: `a range within ${this.byteLength} bytes`,
        found: `${length} bytes at ${offset}`,
      });
    }
    return this.bytes.read(offset, length);
  }

  /** The tensor as float32, for F32, F16, BF16, F64, I8–I32, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K, TQ1_0, TQ2_0, I2_S and T158. */
  async dequantizeTensor(tensor: GgufTensorInfo | string): Promise<Float32Array> {
    const info = this.resolve(tensor);
    const toFloat = info.typeInfo.toFloat;
    if (!toFloat) {
      throw new GgufUnsupportedError(`cannot dequantize ${info.typeName} tensors`, {
        source: this.source,
        tensor: info.name,
        offset: info.fileOffset,
      });
    }
    return toFloat(await this.readTensorData(info), info.elementCount);
  }

  /** A ternary tensor (TQ1_0, TQ2_0, I2_S, T158) read straight into a TernaryTensor, without floats. */
  async readTernaryTensor(tensor: GgufTensorInfo | string): Promise<TernaryTensor> {
    const info = this.resolve(tensor);
    const format = info.typeInfo.ternaryFormat;
    if (!format) {
      throw new GgufUnsupportedError(`${info.typeName} is not a ternary type`, {
        source: this.source,
        tensor: info.name,
        expected: 'TQ1_0, TQ2_0, I2_S or BITNET_T158',
        found: info.typeName,
      });
    }
    const bytes = await this.readTensorData(info);
    try {
      return decodeTernaryTensor(format, bytes, rowMajorShape(info));
    } catch (error) {
      throw new GgufError(
        `cannot decode ternary data: ${(error as Error).message}`,
        {
          source: this.source,
          tensor: info.name,
          offset: info.fileOffset,
        },
        { cause: error },
      );
    }
  }
}

/**
 * Parses a GGUF's header. A path is read with positional reads, a little at a
 * time; tensor data stays on disk until asked for.
 */
export async function readGguf(source: GgufSource, options: ReadGgufOptions = {}): Promise<GgufFile> {
  const bytes = await openSource(source);
  try {
    const header = await readHeader(bytes, options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
    return buildFile(bytes, header, options.dialect ?? 'auto');
  } finally {
    await bytes.close();
  }
}

async function readHeader(bytes: ByteSource, maxHeaderBytes: number): Promise<RawHeader> {
  let loaded = Math.min(bytes.size, FIRST_READ_BYTES);
  for (;;) {
    const prefix = await bytes.read(0, loaded);
    try {
      const header = parseHeader(prefix, bytes.size, bytes.name);
      if (header.infosEnd > maxHeaderBytes) throw new NeedMoreBytes(header.infosEnd);
      return header;
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
      const next = Math.min(bytes.size, Math.max(loaded * 2, error.until + FIRST_READ_BYTES));
      if (error.until > maxHeaderBytes) {
        throw new GgufError('header is larger than the reader allows (raise maxHeaderBytes to read it)', {
          source: bytes.name,
          offset: error.until,
          expected: `at most ${maxHeaderBytes} bytes of metadata and tensor infos`,
          found: `at least ${error.until}`,
        });
      }
      loaded = next;
    }
  }
}

function buildFile(bytes: ByteSource, header: RawHeader, requested: GgufDialect | 'auto'): GgufFile {
  const source = bytes.name;
  const metadata = new GgufMetadata(header.metadata, source);
  const dialect =
    requested === 'auto'
      ? detectDialect(
          header.metadata,
          header.tensors.map((t) => t.typeId),
        )
      : requested;

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignmentEntry = header.metadata.get('general.alignment');
  if (alignmentEntry) {
    const at = header.keyOffsets.get('general.alignment');
    if (alignmentEntry.type !== GgufValueType.UINT32) {
      throw new GgufError('general.alignment has the wrong type', {
        source,
        offset: at,
        key: 'general.alignment',
        expected: 'u32',
        found: valueTypeName(alignmentEntry.type),
      });
    }
    const value = alignmentEntry.value;
    if (value === 0 || (value & (value - 1)) !== 0) {
      throw new GgufError('general.alignment must be a non-zero power of two', {
        source,
        offset: at,
        key: 'general.alignment',
        expected: 'a power of two',
        found: `${value}`,
      });
    }
    alignment = value;
  }

  const dataOffset = alignUp(header.infosEnd, alignment);
  const tensors: GgufTensorInfo[] = [];
  const opaque: number[] = [];
  for (const raw of header.tensors) {
    const where = { source, offset: raw.infoOffset, tensor: raw.name };
    const typeInfo = findGgmlType(raw.typeId, dialect);
    if (!typeInfo) {
      throw new GgufError(`unknown tensor type: ${describeUnknownType(raw.typeId, dialect)}`, {
        ...where,
        expected: `a ${dialect} type id`,
        found: `${raw.typeId}`,
      });
    }
    // RuvLLM wrote [rows, cols]; ggml order puts the contiguous axis first.
    const shape = dialect === 'ruvllm' ? [...raw.ne].reverse() : raw.ne;
    const ne0 = shape[0] ?? 1;
    if (!typeInfo.flatBlocks && ne0 % typeInfo.blockSize !== 0) {
      throw new GgufError(`row length is not a whole number of ${typeInfo.name} blocks`, {
        ...where,
        expected: `ne[0] divisible by ${typeInfo.blockSize}`,
        found: `ne[0] = ${ne0}`,
      });
    }
    if (raw.offset % alignment !== 0) {
      throw new GgufError('tensor data offset is not aligned', {
        ...where,
        expected: `a multiple of ${alignment}`,
        found: `${raw.offset}`,
      });
    }
    const elementCount = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(elementCount)) {
      throw new GgufError('tensor element count is too large', {
        ...where,
        expected: `at most 2^53`,
        found: shape.join('×'),
      });
    }
    const byteSize = typeInfo.byteSize(shape);
    const fileOffset = dataOffset + raw.offset;
    if (!typeInfo.opaque && fileOffset + byteSize > bytes.size) {
      throw new GgufError('tensor data runs past the end of the file', {
        ...where,
        expected: `${byteSize} bytes at offset ${fileOffset} (${shape.join('×')} ${typeInfo.name})`,
        found: `a file of ${bytes.size} bytes`,
      });
    }
    if (typeInfo.opaque) opaque.push(tensors.length);
    tensors.push({
      name: raw.name,
      type: raw.typeId,
      typeName: typeInfo.name,
      shape,
      offset: raw.offset,
      fileOffset,
      byteSize,
      elementCount,
      typeInfo,
    });
  }

  const byOffset = tensors.map((_, i) => i).sort((a, b) => tensors[a].offset - tensors[b].offset);
  // Opaque layouts (TL1/TL2) have no size formula we trust: they own the bytes up to the next tensor.
  for (const index of opaque) {
    const rank = byOffset.indexOf(index);
    const end = rank + 1 < byOffset.length ? tensors[byOffset[rank + 1]].fileOffset : bytes.size;
    const t = tensors[index];
    tensors[index] = { ...t, byteSize: Math.max(0, end - t.fileOffset) };
  }
  for (let r = 1; r < byOffset.length; r++) {
    const before = tensors[byOffset[r - 1]];
    const after = tensors[byOffset[r]];
    if (before.offset + before.byteSize > after.offset) {
      throw new GgufError(`tensor data overlaps the data of "${before.name}"`, {
        source,
        offset: after.fileOffset,
        tensor: after.name,
        expected: `data starting at or after offset ${before.fileOffset + before.byteSize}`,
        found: `data at offset ${after.fileOffset}`,
      });
    }
  }

  return new GgufFile(
    bytes,
    header.version,
    metadata,
    tensors,
    alignment,
    dataOffset,
    bytes.size,
    dialect,
    header.keyOffsets,
    header.infosEnd,
  );
}
