/*
 * `@trit/safetensors/bytes`: the header codec under the reader and writer,
 * for tools that build or take apart safetensors files by hand
 * (docs/formats.md §safetensors). Reading and writing models needs only the
 * main entry.
 */
export {
  encodeHeader,
  type HeaderTensor,
  METADATA_KEY,
  type ParsedHeader,
  parseHeader,
  readHeaderLength,
} from './header.js';
