/*
 * `@trit/gguf/bytes`: the byte-level pieces under the reader and writer, for
 * tools that build or take apart GGUF files by hand (docs/formats.md §GGUF).
 * Composing a runtime or a converter needs only the main entry.
 */
export { ByteWriter, serializeHeader } from './encode.js';
export { compareUtf8 } from './export.js';
export { GGUF_MAGIC, GGUF_MAX_DIMS, GGUF_MAX_NAME_BYTES, GGUF_MAX_STRING_OR_ARRAY } from './parse.js';
export { alignUp } from './reader.js';
