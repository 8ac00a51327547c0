import { type ByteSource, openByteSource } from '@trit/file-io';
import { ggufFileErrors } from './errors.js';

export type { ByteSource } from '@trit/file-io';

/** What readGguf and validateGguf accept. */
export type GgufSource = string | URL | Uint8Array | ArrayBuffer | Blob;

/**
 * Opens `source` for reading; a file path is stat'ed and opened but not read.
 * Later reads do not compare the file's size and mtime: GgufFile never did.
 */
export function openSource(source: GgufSource): Promise<ByteSource> {
  return openByteSource(source, { what: 'GGUF', checkUnchanged: false, errors: ggufFileErrors });
}
