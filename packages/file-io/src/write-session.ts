import type { AtomicFileSink } from './atomic-file.js';
import { type ByteChunks, writeChunksExactly } from './chunks.js';
import type { LocatedError, LocatedErrorDetails } from './errors.js';

type LocatedErrorClass = new (
  reason: string,
  details?: LocatedErrorDetails,
  options?: { cause?: unknown },
) => LocatedError;

/** A format's error classes (GgufError, GgufWriteError, GgufAbortError …): users only ever see those. */
export interface WriteSessionErrors {
  /** The format's base class: its errors pass through unchanged. */
  base: abstract new (
    ...args: never[]
  ) => Error;
  write: LocatedErrorClass;
  aborted: LocatedErrorClass;
}

/** A declared tensor, as far as writing its bytes in order is concerned. */
export interface SessionTensor {
  readonly name: string;
  readonly byteSize: number;
}

const ABORTED = 'writing was aborted; no file was written';

/**
 * The lifecycle both tensor-file writers share: header, then each declared
 * tensor's bytes in order, then an atomic rename. Any failure or abort
 * discards the temporary file and surfaces as the format's own error class,
 * so no partial file survives and the caller learns where it happened.
 */
export class WriteSession {
  state: 'declaring' | 'writing' | 'sealed' | 'finished' | 'failed' = 'declaring';
  /** Index of the next declared tensor whose data is due. */
  nextTensor = 0;

  constructor(
    readonly sink: AtomicFileSink,
    private readonly signal: AbortSignal | undefined,
    private readonly errors: WriteSessionErrors,
    /** The file, for error details. */
    private readonly source: string,
  ) {}

  checkAborted(): void {
    if (this.signal?.aborted) throw new this.errors.aborted(ABORTED, { source: this.source });
  }

  /** Throws (after cleaning up) unless data may still be written. */
  async ensureWriting(): Promise<void> {
    if (this.signal?.aborted) throw await this.failure(new this.errors.aborted(ABORTED, { source: this.source }));
    if (this.state === 'failed') {
      throw await this.failure(
        new this.errors.write('the writer has failed or was aborted; no file was written', { source: this.source }),
      );
    }
    if (this.state === 'finished' || this.state === 'sealed')
      throw new this.errors.write('the file is already finished', { source: this.source });
  }

  /** Cleans up, then returns the error to throw (the format's class), so no partial file survives any failure. */
  async failure(error: unknown): Promise<Error> {
    if (this.state !== 'finished') {
      this.state = 'failed';
      await this.sink.discard();
    }
    if (this.signal?.aborted && !(error instanceof this.errors.aborted))
      return new this.errors.aborted(ABORTED, { source: this.source }, { cause: error });
    if (error instanceof this.errors.base) return error as Error;
    return new this.errors.write(
      `write failed: ${(error as Error)?.message ?? error}`,
      { source: this.source },
      {
        cause: error,
      },
    );
  }

  /** Runs `fn`; whatever it throws goes through failure(). */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw await this.failure(error);
    }
  }

  /**
   * Writes the next declared tensor's bytes (whole or chunked), which must be
   * `name` and exactly its byte size. `expected` describes the size for
   * errors; `shapeOf` is the format's word ("type", "dtype"). Returns the
   * byte count.
   */
  async writeNext(
    tensors: readonly SessionTensor[],
    name: string,
    data: ByteChunks,
    append: (chunk: Uint8Array) => Promise<void>,
    describe: { expected: string; shapeOf: string },
  ): Promise<number> {
    await this.ensureWriting();
    const tensor = tensors[this.nextTensor];
    const where = { source: this.source, tensor: name };
    if (!tensor || tensor.name !== name) {
      throw await this.failure(
        new this.errors.write(
          tensor ? `tensor data out of order: "${tensor.name}" comes next` : 'all declared tensors are already written',
          where,
        ),
      );
    }
    const { expected, shapeOf } = describe;
    return this.guard(() =>
      writeChunksExactly(
        data,
        tensor.byteSize,
        append,
        {
          notBytes: (found) => new this.errors.write('tensor data must be Uint8Array chunks', { ...where, found }),
          tooLong: (found) =>
            new this.errors.write(`tensor data is longer than its ${shapeOf} and shape allow`, {
              ...where,
              expected,
              found: `at least ${found}`,
            }),
          tooShort: (found) =>
            new this.errors.write(`tensor data is shorter than its ${shapeOf} and shape need`, {
              ...where,
              expected,
              found: `${found}`,
            }),
        },
        () => this.checkAborted(),
      ),
    );
  }

  /** Checks every declared tensor was written, then flushes, fsyncs and closes the temporary file. */
  async seal(tensors: readonly SessionTensor[]): Promise<void> {
    if (this.state === 'sealed') return;
    await this.ensureWriting();
    if (this.nextTensor !== tensors.length) {
      throw await this.failure(
        new this.errors.write(
          `${tensors.length - this.nextTensor} declared tensors have no data (next: "${tensors[this.nextTensor]?.name}")`,
          { source: this.source },
        ),
      );
    }
    await this.guard(() => this.sink.seal());
    this.state = 'sealed';
  }

  /** Renames the sealed temporary file over the destination. */
  async commit(tensors: readonly SessionTensor[]): Promise<void> {
    if (this.state === 'finished') return;
    if (this.state !== 'sealed') await this.seal(tensors);
    await this.guard(() => this.sink.commit());
    this.state = 'finished';
  }

  /** Stops and deletes the temporary file. Safe at any time, more than once; a no-op once finished. */
  async abort(): Promise<void> {
    if (this.state === 'finished') return;
    this.state = 'failed';
    await this.sink.discard();
  }
}
