import type { FileHandle } from 'node:fs/promises';
import { SafetensorsError } from './errors.js';

/** What readSafetensors accepts: a file path or URL (read with positional reads), bytes, or a Blob. */
export type SafetensorsSource = string | URL | Uint8Array | ArrayBuffer | Blob;

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
  /** Fills `target` with the bytes at `offset` (so a tensor can be read straight into its output). */
  readInto(offset: number, target: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

class BufferSource implements ByteSource {
  readonly size: number;
  readonly name = '<buffer>';
  constructor(private readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(offset, offset + length);
  }
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    target.set(this.bytes.subarray(offset, offset + target.length));
  }
  async close(): Promise<void> {}
}

class BlobSource implements ByteSource {
  readonly size: number;
  readonly name = '<blob>';
  constructor(private readonly blob: Blob) {
    this.size = blob.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    target.set(await this.read(offset, target.length));
  }
  async close(): Promise<void> {}
}

// fs reads are limited to 2 GiB − 1 bytes per call; big tensors are read in pieces.
const MAX_READ_BYTES = 1 << 30;

/**
 * A file read with positional reads. The header is read through the handle
 * it was opened with, held until close(); afterwards each read opens, reads and closes, so a
 * SafetensorsFile holds no descriptor and needs no close(). Each later read
 * checks the file still has the size and mtime it had when parsed, since
 * offsets from an old header would read the wrong bytes of a new file.
 */
class FileSource implements ByteSource {
  private handle?: FileHandle;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly mtimeMs: number,
    handle: FileHandle,
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
      throw new SafetensorsError(
        `cannot open the file again to read tensor data (${(error as NodeJS.ErrnoException).code ?? error})`,
        { source: this.name, offset },
        { cause: error },
      );
    }
    try {
      if (!held) {
        const info = await handle.stat();
        if (info.size !== this.size || info.mtimeMs !== this.mtimeMs) {
          throw new SafetensorsError('the file changed after its header was read; open it again', {
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
          throw new SafetensorsError('the file ended early (was it changed while being read?)', {
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

/** Opens `source` for reading; a path is opened and stat'ed but not read. */
export async function openSource(source: SafetensorsSource): Promise<ByteSource> {
  if (source instanceof Uint8Array) return new BufferSource(source);
  if (source instanceof ArrayBuffer) return new BufferSource(new Uint8Array(source));
  if (typeof Blob !== 'undefined' && source instanceof Blob) return new BlobSource(source);
  if (typeof source === 'string' || source instanceof URL) {
    const { fileURLToPath } = await import('node:url');
    const path = typeof source === 'string' ? source : fileURLToPath(source);
    const { open, stat } = await import('node:fs/promises');
    let handle: FileHandle;
    try {
      // Checked before opening too: opening a FIFO for reading would block.
      if (!(await stat(path)).isFile()) throw new SafetensorsError('not a regular file', { source: path });
      handle = await open(path, 'r');
    } catch (error) {
      if (error instanceof SafetensorsError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new SafetensorsError(
        code === 'ENOENT' ? 'no such file' : `cannot open (${code ?? error})`,
        { source: path },
        { cause: error },
      );
    }
    // Size and mtime come from the open handle, so they describe the file that is read.
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw new SafetensorsError('not a regular file', { source: path });
    }
    return new FileSource(path, info.size, info.mtimeMs, handle);
  }
  throw new TypeError('a safetensors source must be a file path, URL, Uint8Array, ArrayBuffer or Blob');
}
