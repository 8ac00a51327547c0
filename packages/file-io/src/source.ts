import type { FileHandle } from 'node:fs/promises';
import { defaultErrorFactory, errorCode, type LocatedErrorFactory } from './errors.js';

/** What openByteSource accepts: a file path or URL (read with positional reads), bytes, or a Blob. */
export type ByteSourceInput = string | URL | Uint8Array | ArrayBuffer | Blob;

/**
 * Random-access bytes. Reads never go past `size`; callers check ranges
 * against `size` before asking, so nothing is allocated for a bad length.
 */
export interface ByteSource {
  /** The path, or `<buffer>` / `<blob>`, used in error messages. */
  readonly name: string;
  readonly size: number;
  /** Fresh memory for a file or Blob; a view of the caller's buffer for a Uint8Array or ArrayBuffer. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Fills `target` with the bytes at `offset` (so data can be read straight into its output). */
  readInto(offset: number, target: Uint8Array): Promise<void>;
  /** Releases the handle held since opening; later reads of a file open it again. */
  close(): Promise<void>;
}

/**
 * Why opening or reading failed: `missing` (no such file), `cannot-open`,
 * `not-a-file`, `reopen` (a later read could not open the file again),
 * `changed` (size or mtime differ from when it was opened), `truncated`.
 */
export type ByteSourceErrorCode = 'missing' | 'cannot-open' | 'not-a-file' | 'reopen' | 'changed' | 'truncated';

export interface OpenByteSourceOptions {
  /** The label of an in-memory source in error messages; `<buffer>` or `<blob>` by default. */
  name?: string;
  /** What the format calls a source, for the TypeError on a wrong input: `a ${what} source must be …`. */
  what?: string;
  /** Whether reads after close() check the file still has its size and mtime (default true). */
  checkUnchanged?: boolean;
  /** Builds the errors thrown; a LocatedError by default. */
  errors?: LocatedErrorFactory<ByteSourceErrorCode>;
}

/** A Uint8Array (read as views of its memory) or a Blob: no handle, nothing to close. */
function inMemorySource(
  name: string,
  size: number,
  read: (offset: number, length: number) => Promise<Uint8Array>,
): ByteSource {
  return {
    name,
    size,
    read,
    async readInto(offset, target) {
      target.set(await read(offset, target.length));
    },
    async close() {},
  };
}

function bufferSource(bytes: Uint8Array, name: string): ByteSource {
  return inMemorySource(name, bytes.length, async (offset, length) => bytes.subarray(offset, offset + length));
}

function blobSource(blob: Blob, name: string): ByteSource {
  return inMemorySource(
    name,
    blob.size,
    async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  );
}

// fs reads are limited to 2 GiB − 1 bytes per call; big reads are done in pieces.
const MAX_READ_BYTES = 1 << 30;

/**
 * A file read with positional reads. The handle it was opened with is held
 * until close() (for parsing a header in several reads); afterwards each read
 * opens, reads and closes, so a parsed file holds no descriptor. Those later
 * reads check the file still has the size and mtime it had when opened, since
 * offsets from an old header would read the wrong bytes of a new file.
 */
class FileSource implements ByteSource {
  private handle?: FileHandle;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly mtimeMs: number,
    handle: FileHandle,
    private readonly checkUnchanged: boolean,
    private readonly errors: LocatedErrorFactory<ByteSourceErrorCode>,
  ) {
    this.handle = handle;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.readInto(offset, out);
    return out;
  }

  async readInto(offset: number, target: Uint8Array): Promise<void> {
    const length = target.length;
    const held = this.handle;
    let handle: FileHandle;
    try {
      handle = held ?? (await (await import('node:fs/promises')).open(this.name, 'r'));
    } catch (error) {
      throw this.errors(
        'reopen',
        `cannot open the file again to read tensor data (${errorCode(error)})`,
        { source: this.name, offset },
        { cause: error },
      );
    }
    try {
      if (!held && this.checkUnchanged) {
        const info = await handle.stat();
        if (info.size !== this.size || info.mtimeMs !== this.mtimeMs) {
          throw this.errors('changed', 'the file changed after its header was read; open it again', {
            source: this.name,
            expected: `${this.size} bytes, modified at ${new Date(this.mtimeMs).toISOString()}`,
            found: `${info.size} bytes, modified at ${new Date(info.mtimeMs).toISOString()}`,
          });
        }
      }
      let done = 0;
      while (done < length) {
        const want = Math.min(length - done, MAX_READ_BYTES);
        const { bytesRead } = await handle.read(target, done, want, offset + done);
        if (bytesRead === 0) {
          throw this.errors('truncated', 'the file ended early (was it changed while being read?)', {
            source: this.name,
            offset: offset + done,
            expected: `${length - done} more bytes`,
            found: 'end of file',
          });
        }
        done += bytesRead;
      }
    } finally {
      if (!held) await handle.close();
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

/**
 * Opens `source` for reading. A path is stat'ed and opened but not read; its
 * handle is held until close(). Node modules are imported on use, so buffers
 * and Blobs work in browsers.
 */
export async function openByteSource(
  source: ByteSourceInput,
  options: OpenByteSourceOptions = {},
): Promise<ByteSource> {
  const errors = options.errors ?? defaultErrorFactory;
  if (source instanceof Uint8Array) return bufferSource(source, options.name ?? '<buffer>');
  if (source instanceof ArrayBuffer) return bufferSource(new Uint8Array(source), options.name ?? '<buffer>');
  if (typeof Blob !== 'undefined' && source instanceof Blob) return blobSource(source, options.name ?? '<blob>');
  if (typeof source === 'string' || source instanceof URL) {
    const { fileURLToPath } = await import('node:url');
    const path = typeof source === 'string' ? source : fileURLToPath(source);
    const { open, stat } = await import('node:fs/promises');
    let isFile: boolean;
    let handle: FileHandle | undefined;
    try {
      // Checked before opening: opening a FIFO for reading would block.
      isFile = (await stat(path)).isFile();
      if (isFile) handle = await open(path, 'r');
    } catch (error) {
      const code = errorCode(error);
      throw code === 'ENOENT'
        ? errors('missing', 'no such file', { source: path }, { cause: error })
        : errors('cannot-open', `cannot open (${code})`, { source: path }, { cause: error });
    }
    // Size and mtime come from the open handle, so they describe the file that is read.
    const info = await handle?.stat();
    if (!handle || !info?.isFile()) {
      await handle?.close();
      throw errors('not-a-file', 'not a regular file', { source: path });
    }
    return new FileSource(path, info.size, info.mtimeMs, handle, options.checkUnchanged ?? true, errors);
  }
  const what = options.what ? `a ${options.what} source` : 'a byte source';
  throw new TypeError(`${what} must be a file path, URL, Uint8Array, ArrayBuffer or Blob`);
}
