import type { FileHandle } from 'node:fs/promises';
import { defaultErrorFactory, errorCode, type LocatedErrorFactory } from './errors.js';

/**
 * Atomic replacement: write a temporary file in the destination's directory
 * (so rename stays on one filesystem), fsync it, rename it over the
 * destination, then fsync the directory so the rename itself is durable.
 * Node modules are imported on use so readers that share this package still
 * bundle for browsers.
 */

/** `abort`: the AbortSignal fired; `write`: the file system refused. */
export type AtomicFileErrorCode = 'abort' | 'write';

export interface AtomicFileOptions {
  /** Aborting deletes the temporary file; the destination is never touched. */
  signal?: AbortSignal;
  /** Builds the errors thrown; a LocatedError (named `AbortError` for aborts) by default. */
  errors?: LocatedErrorFactory<AtomicFileErrorCode>;
}

/**
 * A hidden temporary name beside `path`, unique per process and call:
 * `.NAME.PID-RANDOM.tmp`. The process id lets a later run tell a file whose
 * writer was killed from one still being written (cleanStaleTemporaries).
 */
export async function temporaryPathFor(path: string): Promise<string> {
  const { basename, dirname, join } = await import('node:path');
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  return join(dirname(path), `.${basename(path)}.${suffix}.tmp`);
}

/** Persists a rename in `path`'s directory; see syncDirectory. */
export async function syncDirectoryOf(path: string): Promise<void> {
  const { dirname } = await import('node:path');
  await syncDirectory(dirname(path));
}

/** Persists the entries of `dir`; not every platform allows fsync on a directory, so failure is ignored. */
export async function syncDirectory(dir: string): Promise<void> {
  const { open } = await import('node:fs/promises');
  try {
    const handle = await open(dir, 'r');
    await handle.sync().finally(() => handle.close());
  } catch {}
}

/** Writes a small file (an index, a manifest) atomically, in one write. */
export async function writeFileAtomic(path: string, bytes: Uint8Array, options: AtomicFileOptions = {}): Promise<void> {
  const { signal } = options;
  const errors = options.errors ?? defaultErrorFactory;
  const { open, rename, rm } = await import('node:fs/promises');
  if (signal?.aborted) throw errors('abort', 'aborted; no file was written', { source: path });
  const temporary = await temporaryPathFor(path);
  let aborted: Error | undefined;
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (signal?.aborted) {
      aborted = errors('abort', 'aborted; no file was written', { source: path });
      throw aborted;
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    if (error === aborted) throw error;
    throw errors('write', `cannot write the file (${errorCode(error)})`, { source: path }, { cause: error });
  }
  await syncDirectoryOf(path);
}

const WRITE_BUFFER_BYTES = 4 << 20;
// fs writes are limited to 2 GiB − 1 bytes per call.
const MAX_WRITE_BYTES = 1 << 30;

/**
 * A file written atomically and in order: bytes go through a 4 MiB buffer to
 * a temporary file beside `path`; commit() flushes, fsyncs and renames it into
 * place, and discard() (or an error, or the AbortSignal) removes it, so `path`
 * holds either its old content or the complete new file.
 *
 *   const sink = await AtomicFileSink.create('out.bin', { signal });
 *   try {
 *     await sink.write(header);
 *     await sink.write(body);
 *     await sink.commit();
 *   } catch (error) {
 *     await sink.discard();
 *     throw error;
 *   }
 *
 * write(), seal() and commit() do not discard on failure themselves: the
 * caller decides, and every failure path can await the same discard().
 */
export class AtomicFileSink {
  private pending = new Uint8Array(WRITE_BUFFER_BYTES);
  private pendingLength = 0;
  private written = 0;
  private sealed = false;
  private committed = false;
  private discarding?: Promise<void>;
  private readonly onAbort = () => {
    void this.discard();
  };

  private constructor(
    /** The destination path. */
    readonly path: string,
    /** The temporary file, renamed over `path` by commit(). */
    readonly temporaryPath: string,
    private handle: FileHandle | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly errors: LocatedErrorFactory<AtomicFileErrorCode>,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Creates the temporary file (exclusively); nothing appears at `path` until commit(). */
  static async create(path: string, options: AtomicFileOptions = {}): Promise<AtomicFileSink> {
    const errors = options.errors ?? defaultErrorFactory;
    if (options.signal?.aborted) throw errors('abort', 'aborted before writing', { source: path });
    const { open } = await import('node:fs/promises');
    const temporaryPath = await temporaryPathFor(path);
    let handle: FileHandle;
    try {
      handle = await open(temporaryPath, 'wx');
    } catch (error) {
      throw errors('write', `cannot create the output file (${errorCode(error)})`, { source: path }, { cause: error });
    }
    return new AtomicFileSink(path, temporaryPath, handle, options.signal, errors);
  }

  /** Bytes passed to write() so far, buffered or not. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Whether commit() has renamed the file into place. */
  get isCommitted(): boolean {
    return this.committed;
  }

  /** Appends `bytes`; small writes are gathered, writes of a buffer or more go straight through. */
  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    if (this.pendingLength + bytes.length <= this.pending.length) {
      this.pending.set(bytes, this.pendingLength);
      this.pendingLength += bytes.length;
    } else {
      await this.flush();
      if (bytes.length >= this.pending.length) await this.writeOut(bytes);
      else {
        this.pending.set(bytes, 0);
        this.pendingLength = bytes.length;
      }
    }
    this.written += bytes.length;
  }

  /** Writes out the buffered bytes. */
  async flush(): Promise<void> {
    if (this.pendingLength === 0) return;
    const length = this.pendingLength;
    this.pendingLength = 0;
    await this.writeOut(this.pending.subarray(0, length));
  }

  /**
   * The first half of commit(): flushes, fsyncs and closes the temporary file
   * without renaming it, for several files that should appear together.
   */
  async seal(): Promise<void> {
    if (this.sealed) return;
    this.checkAborted();
    await this.flush();
    this.pending = new Uint8Array(0);
    const handle = this.openHandle();
    await handle.sync();
    this.handle = undefined;
    await handle.close();
    this.checkAborted();
    this.sealed = true;
  }

  /** Seals if needed, renames the temporary file over `path`, then fsyncs the directory. */
  async commit(): Promise<void> {
    if (this.committed) return;
    await this.seal();
    this.checkAborted();
    const { rename } = await import('node:fs/promises');
    await rename(this.temporaryPath, this.path);
    this.committed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    await syncDirectoryOf(this.path);
  }

  /**
   * Closes and deletes the temporary file, once; later and concurrent callers
   * wait for the same promise. A no-op once committed.
   */
  discard(): Promise<void> {
    if (this.committed) return Promise.resolve();
    this.discarding ??= this.removeTemporary();
    return this.discarding;
  }

  private async removeTemporary(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => {});
    const { rm } = await import('node:fs/promises');
    await rm(this.temporaryPath, { force: true }).catch(() => {});
  }

  private checkAborted(): void {
    if (this.signal?.aborted) {
      throw this.errors('abort', 'writing was aborted; no file was written', { source: this.path });
    }
  }

  private openHandle(): FileHandle {
    if (!this.handle) throw this.errors('write', 'the output file is closed', { source: this.path });
    return this.handle;
  }

  private async writeOut(bytes: Uint8Array): Promise<void> {
    this.checkAborted();
    const handle = this.openHandle();
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, done, Math.min(bytes.length - done, MAX_WRITE_BYTES));
      done += bytesWritten;
    }
  }
}
