import { type ByteSource, openByteSource } from '@trit/file-io';
import { safetensorsFileErrors } from './errors.js';

export type { ByteSource } from '@trit/file-io';

/** What readSafetensors accepts: a file path or URL (read with positional reads), bytes, or a Blob. */
export type SafetensorsSource = string | URL | Uint8Array | ArrayBuffer | Blob;

/**
 * Opens `source` for reading; a path is opened and stat'ed but not read. Later
 * reads check the file still has the size and mtime it had when the header was read.
 */
export function openSource(source: SafetensorsSource): Promise<ByteSource> {
  return openByteSource(source, { what: 'safetensors', errors: safetensorsFileErrors });
}
