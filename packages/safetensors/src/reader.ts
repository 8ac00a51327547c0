import { FLOAT32_READABLE_DTYPES, findDtype } from './dtypes.js';
import { SafetensorsError, SafetensorsInexactError, SafetensorsUnsupportedError } from './errors.js';
import { LITTLE_ENDIAN_HOST, swapBytesInPlace } from './floats.js';
import { parseHeader, readHeaderLength, SAFETENSORS_MAX_HEADER_BYTES, type SafetensorsTensorInfo } from './header.js';
import { type ByteSource, openSource, type SafetensorsSource } from './source.js';

export interface ReadSafetensorsOptions {
  /** Refuse headers longer than this; default (and upper limit) 100,000,000 bytes, as the reference reader. */
  maxHeaderBytes?: number;
}

/** A parsed safetensors file: the header in memory, tensor data read on demand. */
export class SafetensorsFile {
  private readonly byName: Map<string, SafetensorsTensorInfo>;

  /** @internal Use readSafetensors. */
  constructor(
    private readonly bytes: ByteSource,
    /** Tensors in file order (sorted by data offset). */
    readonly tensors: readonly SafetensorsTensorInfo[],
    /** The `__metadata__` map; empty when the file has none. */
    readonly metadata: Readonly<Record<string, string>>,
    /** N: the length of the JSON header, padding included (not counting the 8-byte length field). */
    readonly headerByteLength: number,
    /** Size of the whole file in bytes: 8 + N + the data buffer. */
    readonly byteLength: number,
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** The file path, or `<buffer>` / `<blob>`. */
  get source(): string {
    return this.bytes.name;
  }

  /** Absolute offset of the data buffer: 8 + N. */
  get dataOffset(): number {
    return 8 + this.headerByteLength;
  }

  tensor(name: string): SafetensorsTensorInfo {
    const found = this.byName.get(name);
    if (!found) throw new SafetensorsError('no such tensor', { source: this.source, tensor: name });
    return found;
  }

  hasTensor(name: string): boolean {
    return this.byName.has(name);
  }

  private resolve(tensor: SafetensorsTensorInfo | string): SafetensorsTensorInfo {
    return typeof tensor === 'string' ? this.tensor(tensor) : this.tensor(tensor.name);
  }

  /**
   * The tensor's raw little-endian bytes, read now (one positional read for a
   * path). For a Uint8Array or ArrayBuffer source this is a view sharing its memory.
   */
  async readTensorData(tensor: SafetensorsTensorInfo | string): Promise<Uint8Array> {
    const info = this.resolve(tensor);
    return this.bytes.read(info.fileOffset, info.byteSize);
  }

  /**
   * The tensor as float32: F32, F16 and BF16 exactly; F64 rounded to nearest;
   * U8, I8, I16, U16 exactly; I32, U32, I64 and U64 exactly or, for a value
   * float32 cannot hold, a SafetensorsError naming the element. Other dtypes
   * (BOOL, C64, F8_*, F4, F6_*) give a SafetensorsUnsupportedError.
   *
   * Elements of up to 4 bytes are read straight into the tail of the result
   * and widened in place, so the result is the only allocation.
   */
  async readTensorFloat32(
    tensor: SafetensorsTensorInfo | string,
    rows?: { start: number; count: number },
  ): Promise<Float32Array> {
    const info = this.resolve(tensor);
    const dtype = findDtype(info.dtype);
    // A row range (along the first dimension) reads only those rows: big tensors convert in bounded memory.
    const totalRows = info.shape.length === 0 ? 1 : (info.shape[0] as number);
    const rowElements = totalRows === 0 ? 0 : info.elementCount / totalRows;
    const start = rows?.start ?? 0;
    const count = rows?.count ?? totalRows;
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(count) ||
      start < 0 ||
      count < 0 ||
      start + count > totalRows
    )
      throw new SafetensorsError(`rows ${start}…${start + count} are outside its ${totalRows} rows`, {
        source: this.source,
        tensor: info.name,
        expected: `start, count ≥ 0 and start + count ≤ ${totalRows}`,
        found: `start ${start}, count ${count}`,
      });
    const elements = count * rowElements;
    const byteSize = (info.byteSize / Math.max(1, info.elementCount)) * elements;
    const fileOffset = info.fileOffset + (info.byteSize / Math.max(1, info.elementCount)) * start * rowElements;
    const where = { source: this.source, tensor: info.name, offset: fileOffset };
    if (!dtype?.decodeFloat32) {
      throw new SafetensorsUnsupportedError(`cannot read ${info.dtype} as float32`, {
        ...where,
        expected: FLOAT32_READABLE_DTYPES.join(', '),
        found: info.dtype,
      });
    }
    const out = new Float32Array(elements);
    const width = dtype.bits / 8;
    const input =
      width <= 4 ? new Uint8Array(out.buffer, out.byteLength - byteSize, byteSize) : new Uint8Array(byteSize);
    await this.bytes.readInto(fileOffset, input);
    if (!LITTLE_ENDIAN_HOST) swapBytesInPlace(input, width);
    try {
      dtype.decodeFloat32(out, input.buffer, input.byteOffset);
    } catch (error) {
      // The decoder knows the element; the file and tensor are added here.
      if (!(error instanceof SafetensorsInexactError)) throw error;
      throw new SafetensorsInexactError(error.index + start * rowElements, error.value, where);
    }
    return out;
  }
}

/**
 * Reads and validates a safetensors header: the 8-byte length, then the JSON
 * in one read. A path is read with positional reads and tensor data stays on
 * disk until asked for. Every rule of the format is checked (see parseHeader);
 * any violation is a SafetensorsError naming the file, byte offset and tensor.
 */
export async function readSafetensors(
  source: SafetensorsSource,
  options: ReadSafetensorsOptions = {},
): Promise<SafetensorsFile> {
  const bytes = await openSource(source);
  try {
    const maxHeaderBytes = options.maxHeaderBytes ?? SAFETENSORS_MAX_HEADER_BYTES;
    const prefix = await bytes.read(0, Math.min(8, bytes.size));
    const n = readHeaderLength(prefix, bytes.size, bytes.name, maxHeaderBytes);
    const header = parseHeader(await bytes.read(8, n), bytes.size, bytes.name);
    return new SafetensorsFile(bytes, header.tensors, header.metadata, n, bytes.size);
  } finally {
    await bytes.close();
  }
}
