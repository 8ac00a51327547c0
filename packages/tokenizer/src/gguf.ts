/**
 * tokenizerFromGguf: builds a BpeTokenizer ("gpt2", "llama") or a
 * WordPieceTokenizer ("bert") from GGUF metadata, either the
 * shape @trit/gguf returns (`{ type, value }` entries, numeric arrays as typed
 * arrays, 64-bit integers as bigint) or the plain values @huggingface/gguf
 * returns, with or without a `{ metadata }` wrapper. The metadata can be a
 * plain record or anything with `get(key)` — a Map, or @trit/gguf's
 * GgufMetadata — so `tokenizerFromGguf(await readGguf(path))` works as is.
 */
import type { Merge } from './byte-level-bpe.js';
import { TokenizerMetadataError, UnsupportedTokenizerError } from './errors.js';
import type { SpecialTokens } from './special-tokens.js';
import { BpeTokenizer } from './tokenizer.js';
import { WordPieceTokenizer } from './wordpiece.js';

/** The tokenizer keys of a GGUF file (llama.cpp `src/llama-arch.cpp`). */
export const GGUF_TOKENIZER_KEYS = {
  model: 'tokenizer.ggml.model',
  pre: 'tokenizer.ggml.pre',
  tokens: 'tokenizer.ggml.tokens',
  scores: 'tokenizer.ggml.scores',
  tokenType: 'tokenizer.ggml.token_type',
  merges: 'tokenizer.ggml.merges',
  bosTokenId: 'tokenizer.ggml.bos_token_id',
  eosTokenId: 'tokenizer.ggml.eos_token_id',
  eotTokenId: 'tokenizer.ggml.eot_token_id',
  eomTokenId: 'tokenizer.ggml.eom_token_id',
  unknownTokenId: 'tokenizer.ggml.unknown_token_id',
  paddingTokenId: 'tokenizer.ggml.padding_token_id',
  /** Spelled "seperator" in llama.cpp; docs/gguf.md says "separator". */
  separatorTokenId: 'tokenizer.ggml.seperator_token_id',
  clsTokenId: 'tokenizer.ggml.cls_token_id',
  maskTokenId: 'tokenizer.ggml.mask_token_id',
  addBosToken: 'tokenizer.ggml.add_bos_token',
  addEosToken: 'tokenizer.ggml.add_eos_token',
  addSepToken: 'tokenizer.ggml.add_sep_token',
  addSpacePrefix: 'tokenizer.ggml.add_space_prefix',
  /** WordPiece ("bert") normalizer options, read by llama.cpp's llm_tokenizer_wpm. */
  normalizerLowercase: 'tokenizer.ggml.normalizer.lowercase',
  normalizerStripAccents: 'tokenizer.ggml.normalizer.strip_accents',
} as const;

/** What tokenizerFromGguf builds: byte-level / SentencePiece BPE, or WordPiece for "bert". */
export type GgufTokenizer = BpeTokenizer | WordPieceTokenizer;

const SPECIAL_ID_KEYS: readonly [keyof SpecialTokens, string][] = [
  ['bos', GGUF_TOKENIZER_KEYS.bosTokenId],
  ['eos', GGUF_TOKENIZER_KEYS.eosTokenId],
  ['eot', GGUF_TOKENIZER_KEYS.eotTokenId],
  ['eom', GGUF_TOKENIZER_KEYS.eomTokenId],
  ['unk', GGUF_TOKENIZER_KEYS.unknownTokenId],
  ['pad', GGUF_TOKENIZER_KEYS.paddingTokenId],
  ['sep', GGUF_TOKENIZER_KEYS.separatorTokenId],
  ['cls', GGUF_TOKENIZER_KEYS.clsTokenId],
  ['mask', GGUF_TOKENIZER_KEYS.maskTokenId],
];

/** GGUF metadata: a record of key → value, or a map-like object (Map, @trit/gguf's GgufMetadata). */
export type GgufMetadataLike = Readonly<Record<string, unknown>> | { get(key: string): unknown };
/**
 * @deprecated Use {@link GgufMetadataLike}; the name is @trit/gguf's metadata class. Removed in the next minor release.
 */
export type GgufMetadata = GgufMetadataLike;
/** GGUF metadata, or an object carrying it as `metadata` (a parsed GGUF file). */
export type GgufLike = GgufMetadataLike | { readonly metadata: GgufMetadataLike };

export interface TokenizerFromGgufOptions {
  /** Byte-level BPE: pre-tokens remembered at most. Default 16384. */
  cacheSize?: number;
}

function isWrapped(value: unknown): value is { type: unknown; value: unknown } {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) return false;
  const keys = Reflect.ownKeys(value);
  if (!keys.includes('type') || !keys.includes('value')) return false;
  return keys.length === 2 || (keys.length === 3 && keys.includes('elementType'));
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (ArrayBuffer.isView(value))
    return `a ${value.constructor.name} of ${(value as unknown as ArrayLike<unknown>).length}`;
  if (typeof value === 'string') return `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value} ${String(value)}`;
}

class MetadataReader {
  constructor(private readonly lookup: (key: string) => unknown) {}

  private raw(key: string): unknown {
    const value = this.lookup(key);
    return isWrapped(value) ? value.value : value;
  }

  string(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new TokenizerMetadataError(key, 'a string', describe(value));
    return value;
  }

  bool(key: string): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw new TokenizerMetadataError(key, 'a bool', describe(value));
    return value;
  }

  integer(key: string): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new TokenizerMetadataError(key, 'a non-negative integer', describe(value));
    }
    return n;
  }

  strings(key: string): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw new TokenizerMetadataError(key, 'an array of strings', describe(value));
    for (let i = 0; i < value.length; i++) {
      if (typeof value[i] !== 'string') {
        throw new TokenizerMetadataError(`${key}[${i}]`, 'a string', describe(value[i]));
      }
    }
    return value as string[];
  }

  numbers(key: string): ArrayLike<number> | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Array.from(value, Number);
      return value as unknown as ArrayLike<number>;
    }
    if (Array.isArray(value)) {
      return value.map((v, i) => {
        const n = typeof v === 'bigint' ? Number(v) : v;
        if (typeof n !== 'number') throw new TokenizerMetadataError(`${key}[${i}]`, 'a number', describe(v));
        return n;
      });
    }
    throw new TokenizerMetadataError(key, 'a numeric array', describe(value));
  }
}

function isMapLike(value: object): value is { get(key: string): unknown } {
  return typeof (value as { get?: unknown }).get === 'function';
}

/** A key → value lookup over any of the accepted metadata shapes. */
function lookupOf(input: GgufLike): (key: string) => unknown {
  if (input === null || typeof input !== 'object') {
    throw new TokenizerMetadataError('metadata', 'an object of GGUF keys', describe(input));
  }
  if (isMapLike(input)) return (key) => input.get(key);
  const record = input as Record<string, unknown>;
  if (!Object.hasOwn(record, GGUF_TOKENIZER_KEYS.model) && Object.hasOwn(record, 'metadata')) {
    const inner = record.metadata;
    if (inner !== null && typeof inner === 'object') return lookupOf(inner as GgufMetadataLike);
  }
  return (key) => (Object.hasOwn(record, key) ? record[key] : undefined);
}

/** A tokenizer from the `tokenizer.ggml.*` keys of a GGUF file's metadata. */
export function tokenizerFromGguf(input: GgufLike, options: TokenizerFromGgufOptions = {}): GgufTokenizer {
  const read = new MetadataReader(lookupOf(input));
  const K = GGUF_TOKENIZER_KEYS;
  const model = read.string(K.model);
  if (model === undefined) throw new TokenizerMetadataError(K.model, 'a string ("gpt2", "llama" or "bert")', 'nothing');
  const tokens = read.strings(K.tokens);
  if (tokens === undefined) throw new TokenizerMetadataError(K.tokens, 'an array of strings', 'nothing');
  const scores = read.numbers(K.scores);
  if (scores !== undefined && scores.length !== tokens.length) {
    throw new TokenizerMetadataError(K.scores, `${tokens.length} entries (one per token)`, `${scores.length}`);
  }
  const tokenTypes = read.numbers(K.tokenType);
  if (tokenTypes !== undefined && tokenTypes.length !== tokens.length) {
    throw new TokenizerMetadataError(K.tokenType, `${tokens.length} entries (one per token)`, `${tokenTypes.length}`);
  }
  const specialTokens: Partial<SpecialTokens> = {};
  for (const [name, key] of SPECIAL_ID_KEYS) {
    const id = read.integer(key);
    if (id !== undefined) specialTokens[name] = id;
  }
  if (model !== 'gpt2' && model !== 'llama' && model !== 'bert')
    throw new UnsupportedTokenizerError(model, ['gpt2', 'llama', 'bert'], K.model);
  if (model === 'bert') {
    return new WordPieceTokenizer({
      tokens,
      tokenTypes,
      specialTokens,
      pre: read.string(K.pre),
      lowercase: read.bool(K.normalizerLowercase),
      stripAccents: read.bool(K.normalizerStripAccents),
      addBos: read.bool(K.addBosToken),
      addEos: read.bool(K.addEosToken),
      addSep: read.bool(K.addSepToken),
    });
  }
  return new BpeTokenizer({
    model,
    tokens,
    tokenTypes,
    scores,
    merges: read.strings(K.merges) as Merge[] | undefined,
    pre: read.string(K.pre),
    specialTokens,
    addBos: read.bool(K.addBosToken),
    addEos: read.bool(K.addEosToken),
    addSpacePrefix: read.bool(K.addSpacePrefix),
    cacheSize: options.cacheSize,
  });
}
