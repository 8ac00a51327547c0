import { AtomicFileSink, type ByteChunks, WriteSession } from '@trit/file-io';
import { findDtype, type SafetensorsDtype, tensorByteSize } from './dtypes.js';
import { SafetensorsAbortError, SafetensorsError, SafetensorsWriteError, safetensorsFileErrors } from './errors.js';
import { float32ToBfloat16Bytes, float32ToBytes, float32ToFloat16Bytes } from './floats.js';
import { encodeHeader, METADATA_KEY, SAFETENSORS_MAX_HEADER_BYTES } from './header.js';

export interface SafetensorsWriterOptions {
  /** The `__metadata__` map (string → string), written first in the header. */
  metadata?: Readonly<Record<string, string>> | Iterable<readonly [string, string]>;
  /** Aborting deletes the temporary file; the destination is never touched. */
  signal?: AbortSignal;
  /** Called after each buffered write with the bytes written so far and the final size. */
  onProgress?: (progress: SafetensorsWriteProgress) => void;
}

export interface SafetensorsWriteProgress {
  bytesWritten: number;
  /** Known once the header is written (all tensors declared); 0 before. */
  totalBytes: number;
  /** The tensor being written, if any. */
  tensor?: string;
  tensorsDone: number;
  tensorCount: number;
}

export interface SafetensorsWriterTensor {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Row-major, slowest first. */
  readonly shape: readonly number[];
  readonly dataOffsets: readonly [begin: number, end: number];
  readonly byteSize: number;
}

/** Bytes for one tensor: whole, or as chunks from a sync or async iterable. */
export type TensorChunks = ByteChunks;

// A lone surrogate would be written as a \uD8xx escape that the reference reader refuses.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Streams a safetensors file to disk: declare every tensor (name, dtype,
 * shape), then write each tensor's bytes in declaration order, whole or in
 * chunks, so a model never has to fit in memory. Data offsets follow
 * declaration order. Output goes to a temporary file beside `path`, which
 * finish() fsyncs and renames into place; an error, abort() or the
 * AbortSignal removes it, so `path` holds either its old content or the
 * complete new file.
 *
 *   const w = await SafetensorsWriter.create('model.safetensors', { metadata: { format: 'pt' } });
 *   w.addTensor('model.norm.weight', 'BF16', [2048]);
 *   await w.writeTensorFloat32('model.norm.weight', weights);
 *   await w.finish();
 */
export class SafetensorsWriter {
  private readonly metadata = new Map<string, string>();
  private readonly tensors: SafetensorsWriterTensor[] = [];
  private readonly names = new Set<string>();
  private readonly session: WriteSession;
  private dataBytes = 0;
  private totalBytes = 0;

  private constructor(
    /** The destination path. */
    readonly path: string,
    sink: AtomicFileSink,
    private readonly options: SafetensorsWriterOptions,
  ) {
    this.session = new WriteSession(
      sink,
      options.signal,
      { base: SafetensorsError, write: SafetensorsWriteError, aborted: SafetensorsAbortError },
      path,
    );
  }

  /** Opens a temporary file in `path`'s directory; nothing appears at `path` until finish(). */
  static async create(path: string, options: SafetensorsWriterOptions = {}): Promise<SafetensorsWriter> {
    if (options.signal?.aborted) throw new SafetensorsAbortError('aborted before writing', { source: path });
    const sink = await AtomicFileSink.create(path, { signal: options.signal, errors: safetensorsFileErrors });
    const writer = new SafetensorsWriter(path, sink, options);
    if (options.metadata) {
      const entries = Symbol.iterator in options.metadata ? options.metadata : Object.entries(options.metadata);
      try {
        for (const [key, value] of entries as Iterable<readonly [string, string]>) writer.setMetadata(key, value);
      } catch (error) {
        await writer.abort();
        throw error;
      }
    }
    return writer;
  }

  private where(tensor?: string) {
    return tensor === undefined ? { source: this.path } : { source: this.path, tensor };
  }

  private requireDeclaring(what: string): void {
    if (this.session.state !== 'declaring') {
      throw new SafetensorsWriteError(`${what} after tensor data has started (the header comes first)`, this.where());
    }
  }

  /** Adds a `__metadata__` entry; both key and value must be strings. */
  setMetadata(key: string, value: string): this {
    this.requireDeclaring('metadata was set');
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw new SafetensorsWriteError('__metadata__ keys and values must be strings', {
        ...this.where(),
        key: String(key),
        expected: 'string → string',
        found: `${typeof key} → ${typeof value}`,
      });
    }
    if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) {
      throw new SafetensorsWriteError('metadata contains a lone UTF-16 surrogate', { ...this.where(), key });
    }
    if (this.metadata.has(key)) throw new SafetensorsWriteError('duplicate metadata key', { ...this.where(), key });
    this.metadata.set(key, value);
    return this;
  }

  /** Declares a tensor; its data goes right after the previous declared tensor's. */
  addTensor(name: string, dtype: SafetensorsDtype, shape: readonly number[]): SafetensorsWriterTensor {
    this.requireDeclaring('a tensor was added');
    const where = this.where(name);
    if (typeof name !== 'string' || name.length === 0) throw new SafetensorsWriteError('tensor name is empty', where);
    if (name === METADATA_KEY) throw new SafetensorsWriteError(`"${METADATA_KEY}" is reserved for metadata`, where);
    if (LONE_SURROGATE.test(name)) throw new SafetensorsWriteError('tensor name contains a lone surrogate', where);
    if (this.names.has(name)) throw new SafetensorsWriteError('duplicate tensor name', where);
    const info = findDtype(dtype);
    if (!info) {
      throw new SafetensorsWriteError('unknown dtype', {
        ...where,
        expected: 'a safetensors dtype',
        found: `${dtype}`,
      });
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsWriteError('shape must be an array of non-negative integers', {
        ...where,
        found: Array.isArray(shape) ? `[${shape.join(', ')}]` : typeof shape,
      });
    }
    const size = tensorByteSize(info, shape);
    if ('error' in size) {
      throw new SafetensorsWriteError(size.error, { ...where, expected: size.expected, found: size.found });
    }
    if (!Number.isSafeInteger(this.dataBytes + size.byteSize)) {
      throw new SafetensorsWriteError('the file would be too large', where);
    }
    const tensor: SafetensorsWriterTensor = {
      name,
      dtype: info.name,
      shape: shape.map((d) => d + 0),
      dataOffsets: [this.dataBytes, this.dataBytes + size.byteSize],
      byteSize: size.byteSize,
    };
    this.dataBytes += size.byteSize;
    this.tensors.push(tensor);
    this.names.add(name);
    return tensor;
  }

  /** Declared tensors, in file order. */
  get declaredTensors(): readonly SafetensorsWriterTensor[] {
    return this.tensors;
  }

  /** Writes the header; implied by the first writeTensorData or by finish(). */
  async writeHeader(): Promise<void> {
    if (this.session.state !== 'declaring') return;
    await this.session.guard(async () => {
      this.session.checkAborted();
      const header = encodeHeader(this.metadata, this.tensors);
      if (header.length > SAFETENSORS_MAX_HEADER_BYTES) {
        throw new SafetensorsWriteError('the header would be larger than safetensors readers accept', {
          ...this.where(),
          expected: `at most ${SAFETENSORS_MAX_HEADER_BYTES} bytes`,
          found: `${header.length} bytes`,
        });
      }
      this.totalBytes = 8 + header.length + this.dataBytes;
      this.session.state = 'writing';
      const length = new Uint8Array(8);
      new DataView(length.buffer).setBigUint64(0, BigInt(header.length), true);
      await this.append(length);
      await this.append(header);
    });
  }

  /** Writes the next tensor's bytes, whole or in chunks; the total must equal its byte size. */
  async writeTensorData(name: string, data: TensorChunks): Promise<void> {
    await this.writeHeader();
    const tensor = this.tensors[this.session.nextTensor];
    await this.session.writeNext(this.tensors, name, data, (chunk) => this.append(chunk, name), {
      expected: tensor ? `${tensor.byteSize} bytes ([${tensor.shape.join(', ')}] ${tensor.dtype})` : '',
      shapeOf: 'dtype',
    });
    this.session.nextTensor++;
  }

  /** Writes the next tensor from float32 values, converted to its dtype (F32, F16 or BF16, rounding to nearest even). */
  async writeTensorFloat32(name: string, values: Float32Array): Promise<void> {
    const tensor = this.tensors.find((t) => t.name === name);
    const encode =
      tensor?.dtype === 'F32'
        ? float32ToBytes
        : tensor?.dtype === 'F16'
          ? float32ToFloat16Bytes
          : tensor?.dtype === 'BF16'
            ? float32ToBfloat16Bytes
            : undefined;
    if (tensor && !encode) {
      throw await this.session.failure(
        new SafetensorsWriteError('float32 values can only be written to F32, F16 or BF16 tensors', {
          ...this.where(name),
          expected: 'F32, F16 or BF16',
          found: tensor.dtype,
        }),
      );
    }
    // Without a declared tensor of that name, writeTensorData reports which tensor comes next.
    await this.writeTensorData(name, encode ? encode(values) : new Uint8Array(0));
  }

  /** Writes the header if needed, then flushes, fsyncs and renames the file into place. */
  async finish(): Promise<{ path: string; byteLength: number }> {
    await this.seal();
    await this.commit();
    return { path: this.path, byteLength: this.totalBytes };
  }

  /**
   * The first half of finish(): checks every tensor was written, flushes,
   * fsyncs and closes the temporary file without renaming it. For writing
   * several files that should appear together; commit() or abort() follows.
   */
  async seal(): Promise<void> {
    await this.writeHeader();
    await this.session.seal(this.tensors);
  }

  /** The second half of finish(): renames the sealed temporary file over `path`. */
  async commit(): Promise<void> {
    if (this.session.state !== 'sealed' && this.session.state !== 'finished') await this.writeHeader();
    await this.session.commit(this.tensors);
  }

  /** Stops and deletes the temporary file. Safe to call at any time, more than once; a no-op once finished. */
  abort(): Promise<void> {
    return this.session.abort();
  }

  private async append(bytes: Uint8Array, tensor?: string): Promise<void> {
    if (bytes.length === 0) return;
    await this.session.sink.write(bytes);
    this.options.onProgress?.({
      bytesWritten: this.session.sink.bytesWritten,
      totalBytes: this.totalBytes,
      tensor,
      tensorsDone: this.session.nextTensor,
      tensorCount: this.tensors.length,
    });
  }
}
