import type { FileHandle } from 'node:fs/promises';
import { GgufError } from './errors.js';

/**
 * Random-access bytes: a file read with positional reads, an in-memory
 * buffer, or a Blob. Reads never go past `size`.
 */
export interface ByteSource {
  /** The path, or `<buffer>` / `<blob>`, used in error messages. */
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** What readGguf and validateGguf accept. */
export type GgufSource = string | URL | Uint8Array | ArrayBuffer | Blob;

class BufferSource implements ByteSource {
  readonly size: number;
  constructor(
    readonly bytes: Uint8Array,
    readonly name = '<buffer>',
  ) {
    this.size = bytes.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(offset, offset + length);
  }
  async close(): Promise<void> {}
}

class BlobSource implements ByteSource {
  readonly size: number;
  readonly name = '<blob>';
  constructor(readonly blob: Blob) {
    this.size = blob.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
  async close(): Promise<void> {}
}

/**
 * A file opened on demand: each read opens, reads and closes, so a GgufFile
 * needs no close() and holds no descriptor between tensor reads.
 */
class FileSource implements ByteSource {
  private handle?: FileHandle;
  constructor(
    readonly name: string,
    readonly size: number,
  ) {}

  /** Keeps one handle open across many reads (parsing), until close(). */
  async hold(): Promise<void> {
    if (!this.handle) this.handle = await (await import('node:fs/promises')).open(this.name, 'r');
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const held = this.handle;
    const handle = held ?? (await (await import('node:fs/promises')).open(this.name, 'r'));
    try {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new GgufError('file ended early (was it changed while being read?)', {
            source: this.name,
            offset: offset + done,
            expected: `${length - done} more bytes`,
            found: 'end of file',
          });
        }
        done += bytesRead;
      }
      return out;
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

/** Opens `source` for reading; a file path is stat'ed but not read. */
export async function openSource(source: GgufSource): Promise<ByteSource> {
  if (source instanceof Uint8Array) return new BufferSource(source);
  if (source instanceof ArrayBuffer) return new BufferSource(new Uint8Array(source));
  if (typeof Blob !== 'undefined' && source instanceof Blob) return new BlobSource(source);
  if (typeof source === 'string' || source instanceof URL) {
    const { fileURLToPath } = await import('node:url');
    const path = typeof source === 'string' ? source : fileURLToPath(source);
    const { stat } = await import('node:fs/promises');
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new GgufError(
        code === 'ENOENT' ? 'no such file' : `cannot open (${code ?? error})`,
        { source: path },
        {
          cause: error,
        },
      );
    }
    if (!info.isFile()) throw new GgufError('not a regular file', { source: path });
    const file = new FileSource(path, info.size);
    await file.hold();
    return file;
  }
  throw new TypeError('a GGUF source must be a file path, URL, Uint8Array, ArrayBuffer or Blob');
}
