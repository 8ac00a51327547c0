import { AtomicFileSink, type ByteChunks, WriteSession } from '@trit/file-io';
import { getTernaryFormat } from '@trit/ternary';
import { type EncodeMetadataOptions, encodeMetadataValue, type GgufMetadataInput, serializeHeader } from './encode.js';
import { GgufAbortError, GgufError, GgufWriteError, ggufFileErrors } from './errors.js';
import {
  describeUnknownType,
  findGgmlType,
  type GgmlTypeInfo,
  type GgufDialect,
  ggmlTypeByName,
} from './ggml-types.js';
import { GGUF_MAX_DIMS, GGUF_MAX_NAME_BYTES } from './parse.js';
import { alignUp, GGUF_DEFAULT_ALIGNMENT } from './reader.js';
import { utf8Length } from './utf8.js';
import { type GgufMetadataValue, GgufValueType } from './value-types.js';

export interface GgufWriterOptions {
  /** Data alignment; a power of two. `general.alignment` is written when it is not 32. */
  alignment?: number;
  /** 3 (default) or 2; the layouts are identical. */
  version?: 2 | 3;
  /** Aborting deletes the temporary file; the destination is never touched. */
  signal?: AbortSignal;
  /** Which table type ids are looked up in; `ggml` unless writing a bitnet.cpp or RuvLLM file on purpose. */
  dialect?: GgufDialect;
  /** llama.cpp rejects arrays of arrays, so they are refused unless this is set. */
  allowNestedArrays?: boolean;
  /** Called after each write with the bytes written so far and the final size. */
  onProgress?: (progress: GgufWriteProgress) => void;
}

export interface GgufWriteProgress {
  bytesWritten: number;
  totalBytes: number;
  /** The tensor being written, if any. */
  tensor?: string;
  tensorsDone: number;
  tensorCount: number;
}

export interface GgufWriterTensor {
  name: string;
  type: number;
  typeInfo: GgmlTypeInfo;
  /** ggml order. */
  shape: readonly number[];
  offset: number;
  byteSize: number;
}

/**
 * Streams a GGUF to disk: metadata and tensor infos first, then each tensor's
 * data as it is produced, so a model never has to fit in memory. Output goes
 * to a temporary file beside `path`, which is fsynced and renamed into place
 * by finish(); any failure or abort removes it.
 *
 *   const w = await GgufWriter.create('model.gguf');
 *   w.setMetadata('general.architecture', 'llama');
 *   w.addTensor('output_norm.weight', GgmlType.F32, [4096]);
 *   await w.writeTensorData('output_norm.weight', bytes);
 *   await w.finish();
 */
export class GgufWriter {
  private readonly metadata = new Map<string, GgufMetadataValue>();
  private readonly tensors: GgufWriterTensor[] = [];
  private readonly names = new Set<string>();
  private readonly alignment: number;
  private readonly version: number;
  private readonly dialect: GgufDialect;
  private readonly session: WriteSession;
  private dataBytes = 0;
  private totalBytes = 0;

  private constructor(
    /** The destination path. */
    readonly path: string,
    sink: AtomicFileSink,
    private readonly options: GgufWriterOptions,
  ) {
    this.session = new WriteSession(
      sink,
      options.signal,
      { base: GgufError, write: GgufWriteError, aborted: GgufAbortError },
      path,
    );
    this.alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
    this.version = options.version ?? 3;
    this.dialect = options.dialect ?? 'ggml';
  }

  /** Opens a temporary file in `path`'s directory; nothing appears at `path` until finish(). */
  static async create(path: string, options: GgufWriterOptions = {}): Promise<GgufWriter> {
    const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
    if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0 || alignment > 2 ** 30) {
      throw new GgufWriteError('alignment must be a power of two', {
        source: path,
        expected: 'a power of two',
        found: `${alignment}`,
      });
    }
    if (options.version !== undefined && options.version !== 2 && options.version !== 3) {
      throw new GgufWriteError('unsupported GGUF version', {
        source: path,
        expected: '2 or 3',
        found: `${options.version}`,
      });
    }
    if (options.signal?.aborted) throw new GgufAbortError('aborted before writing', { source: path });
    const sink = await AtomicFileSink.create(path, { signal: options.signal, errors: ggufFileErrors });
    const writer = new GgufWriter(path, sink, options);
    if (alignment !== GGUF_DEFAULT_ALIGNMENT)
      writer.metadata.set('general.alignment', { type: GgufValueType.UINT32, value: alignment });
    return writer;
  }

  private where(extra: { tensor?: string; key?: string } = {}) {
    return { source: this.path, ...extra };
  }

  private requireDeclaring(what: string): void {
    if (this.session.state !== 'declaring') {
      throw new GgufWriteError(
        `${what} after tensor data has started (metadata and tensor infos come first)`,
        this.where(),
      );
    }
  }

  private architecture(): string | undefined {
    const arch = this.metadata.get('general.architecture');
    return arch?.type === GgufValueType.STRING ? arch.value : undefined;
  }

  /**
   * Sets a metadata key. Well-known llama.cpp keys get the exact type it
   * demands (u32 for `[arch].*` counts, f32 for epsilons …); set
   * `general.architecture` first so `[arch].*` keys are recognised.
   */
  setMetadata(key: string, value: GgufMetadataInput): this {
    this.requireDeclaring('metadata was set');
    if (key.length === 0) throw new GgufWriteError('metadata key is empty', this.where());
    if (utf8Length(key) > 65535)
      throw new GgufWriteError('metadata key is too long', {
        ...this.where({ key: key.slice(0, 40) }),
        expected: 'at most 65535 bytes',
      });
    if (this.metadata.has(key) && !(key === 'general.alignment')) {
      throw new GgufWriteError('duplicate metadata key', this.where({ key }));
    }
    const options: EncodeMetadataOptions = {
      architecture: key === 'general.architecture' ? undefined : this.architecture(),
      allowNestedArrays: this.options.allowNestedArrays,
      source: this.path,
    };
    const encoded = encodeMetadataValue(key, value, options);
    if (key === 'general.alignment' && encoded.value !== this.alignment) {
      throw new GgufWriteError('general.alignment disagrees with the writer alignment option', {
        ...this.where({ key }),
        expected: `${this.alignment}`,
        found: `${encoded.value}`,
      });
    }
    this.metadata.set(key, encoded);
    return this;
  }

  /** Sets many keys, in iteration order. */
  setMetadataEntries(entries: Iterable<[string, GgufMetadataInput]> | Record<string, GgufMetadataInput>): this {
    const list =
      Symbol.iterator in entries ? [...(entries as Iterable<[string, GgufMetadataInput]>)] : Object.entries(entries);
    // The architecture decides how `[arch].*` keys are typed, so it goes first.
    list.sort((a, b) => Number(b[0] === 'general.architecture') - Number(a[0] === 'general.architecture'));
    for (const [key, value] of list) this.setMetadata(key, value);
    return this;
  }

  /**
   * Declares a tensor. `shape` is in ggml order (`ne[0]`, the contiguous axis,
   * first), i.e. the reverse of NumPy order. Data must then be written in
   * declaration order.
   */
  addTensor(name: string, type: number | string, shape: readonly number[]): GgufWriterTensor {
    this.requireDeclaring('a tensor was added');
    const where = this.where({ tensor: name });
    const nameBytes = utf8Length(name);
    if (nameBytes === 0 || nameBytes > GGUF_MAX_NAME_BYTES) {
      throw new GgufWriteError('tensor name length is out of range', {
        ...where,
        expected: `1–${GGUF_MAX_NAME_BYTES} bytes`,
        found: `${nameBytes} bytes`,
      });
    }
    if (this.names.has(name)) throw new GgufWriteError('duplicate tensor name', where);
    const typeInfo = typeof type === 'string' ? ggmlTypeByName(type, this.dialect) : findGgmlType(type, this.dialect);
    if (!typeInfo) {
      throw new GgufWriteError(
        typeof type === 'string'
          ? `unknown type name "${type}"`
          : `unknown tensor type: ${describeUnknownType(type, this.dialect)}`,
        where,
      );
    }
    if (typeInfo.opaque) throw new GgufWriteError(`${typeInfo.name} has no portable layout to write`, where);
    if (shape.length === 0 || shape.length > GGUF_MAX_DIMS) {
      throw new GgufWriteError('tensor must have 1–4 dimensions', {
        ...where,
        expected: `1–${GGUF_MAX_DIMS}`,
        found: `${shape.length}`,
      });
    }
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new GgufWriteError('tensor dimensions must be non-negative integers', {
        ...where,
        found: `[${shape.join(', ')}]`,
      });
    }
    if (!typeInfo.flatBlocks && shape[0] % typeInfo.blockSize !== 0) {
      throw new GgufWriteError(`row length is not a whole number of ${typeInfo.name} blocks`, {
        ...where,
        expected: `ne[0] divisible by ${typeInfo.blockSize}`,
        found: `ne[0] = ${shape[0]}`,
      });
    }
    const ternary = typeInfo.ternaryFormat ? getTernaryFormat(typeInfo.ternaryFormat) : undefined;
    const elements = shape.reduce((a, b) => a * b, 1);
    if (ternary?.partialBlock === 'dropped' && elements % ternary.blockElements !== 0) {
      // I2_S: bitnet.cpp stores and reads whole 128-element blocks only (docs/formats.md §I2_S).
      throw new GgufWriteError(
        `${elements} elements is not a multiple of ${ternary.blockElements}: ${typeInfo.name} stores whole ${ternary.blockElements}-element blocks only, and ${typeInfo.dialect}'s kernels would drop the last ${elements % ternary.blockElements}`,
        {
          ...where,
          expected: `a multiple of ${ternary.blockElements} elements`,
          found: `${shape.join('×')} = ${elements}`,
        },
      );
    }
    const byteSize = typeInfo.byteSize(shape);
    if (!Number.isSafeInteger(byteSize))
      throw new GgufWriteError('tensor is too large', { ...where, found: shape.join('×') });
    const tensor: GgufWriterTensor = {
      name,
      type: typeInfo.id,
      typeInfo,
      shape: [...shape],
      offset: this.dataBytes,
      byteSize,
    };
    this.dataBytes += alignUp(byteSize, this.alignment);
    this.tensors.push(tensor);
    this.names.add(name);
    return tensor;
  }

  /** Declared tensors, in file order. */
  get declaredTensors(): readonly GgufWriterTensor[] {
    return this.tensors;
  }

  /** Writes the header: implied by the first writeTensorData or by finish(). */
  async writeHeader(): Promise<void> {
    if (this.session.state !== 'declaring') return;
    if (!this.metadata.has('general.architecture')) {
      throw await this.session.failure(
        new GgufWriteError(
          'general.architecture is required (llama.cpp refuses files without it)',
          this.where({ key: 'general.architecture' }),
        ),
      );
    }
    await this.session.guard(async () => {
      this.session.checkAborted();
      const header = serializeHeader(
        this.version,
        this.metadata,
        this.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, offset: t.offset })),
      );
      const headerBytes = alignUp(header.length, this.alignment);
      this.totalBytes = headerBytes + this.dataBytes;
      this.session.state = 'writing';
      await this.append(header);
      await this.append(new Uint8Array(headerBytes - header.length));
    });
  }

  /** Writes the next tensor's data, whole or as chunks; the total must equal its byte size. */
  async writeTensorData(name: string, data: ByteChunks): Promise<void> {
    await this.writeHeader();
    const tensor = this.tensors[this.session.nextTensor];
    const written = await this.session.writeNext(this.tensors, name, data, (chunk) => this.append(chunk, name), {
      expected: tensor ? `${tensor.byteSize} bytes (${tensor.shape.join('×')} ${tensor.typeInfo.name})` : '',
      shapeOf: 'type',
    });
    await this.append(new Uint8Array(alignUp(written, this.alignment) - written), name);
    this.session.nextTensor++;
  }

  /** Flushes, fsyncs and renames the file into place. */
  async finish(): Promise<{ path: string; byteLength: number }> {
    await this.writeHeader();
    await this.session.commit(this.tensors);
    return { path: this.path, byteLength: this.totalBytes };
  }

  /** Stops and deletes the temporary file. Safe to call at any time, more than once. */
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
