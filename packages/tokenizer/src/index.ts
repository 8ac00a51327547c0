export type { Merge } from './byte-level-bpe.js';
export { BYTE_TO_CODE_POINT, bytesToByteLevel } from './byte-map.js';
export { TokenIdError, TokenizerMetadataError, UnknownPreTokenizerError, UnsupportedTokenizerError } from './errors.js';
export {
  GGUF_TOKENIZER_KEYS,
  type GgufLike,
  type GgufMetadata,
  type GgufMetadataLike,
  type GgufTokenizer,
  type TokenizerFromGgufOptions,
  tokenizerFromGguf,
} from './gguf.js';
export {
  type GgufTokenizerMetadata,
  ggufTokenizerMetadataFromHf,
  type HfTokenizerConfig,
  type HfTokenizerJson,
  tokenizerFromHf,
} from './hf.js';
export { findPreTokenizer, PRE_TOKENIZERS, type PreTokenizerSpec } from './pre-tokenizer-registry.js';
export {
  type BitNetSpecialTokens,
  defaultSpecialTokens,
  type SpecialTokens,
  type TokenizerModel,
} from './special-tokens.js';
export { TokenType } from './token-types.js';
export {
  BpeTokenizer,
  type BpeTokenizerOptions,
  type DecodeOptions,
  type EncodeOptions,
  type StreamingDecoder,
  type Tokenizer,
} from './tokenizer.js';
export { defaultWordPieceSpecialTokens, WordPieceTokenizer, type WordPieceTokenizerOptions } from './wordpiece.js';
