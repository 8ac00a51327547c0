/**
 * Hugging Face tokenizer.json (model.type "BPE" or "WordPiece") → GGUF
 * tokenizer metadata, and a tokenizer built from it. Three families are recognised:
 * - byte-level BPE: pre_tokenizer ByteLevel (GPT-2 pattern → pre "gpt-2"), or
 *   Sequence[Split(Llama-3 pattern), ByteLevel(use_regex: false)] → "llama-bpe" (Qwen2's pattern → "qwen2");
 * - SentencePiece-style BPE: byte_fallback with "▁" for spaces (Llama-2) →
 *   model "llama", with scores derived from the merge ranks;
 * - WordPiece with BertPreTokenizer and "##" continuations (BERT) → model
 *   "bert", tokens renamed as convert_hf_to_gguf.py does (docs/formats.md
 *   §bert (WordPiece)).
 * Anything else is an UnsupportedTokenizerError / UnknownPreTokenizerError
 * rather than a tokenizer that silently splits differently.
 */
import { TokenizerMetadataError, UnknownPreTokenizerError, UnsupportedTokenizerError } from './errors.js';
import type { GgufTokenizer } from './gguf.js';
import { GGUF_TOKENIZER_KEYS, tokenizerFromGguf } from './gguf.js';
import { TokenType } from './token-types.js';

/** The parts of tokenizer.json we read. */
export interface HfTokenizerJson {
  model: {
    type: string;
    vocab: Record<string, number>;
    /** BPE only. */
    merges?: (string | [string, string])[];
    byte_fallback?: boolean;
    /** WordPiece only: must be "##" (the default). */
    continuing_subword_prefix?: string;
    /** WordPiece only; llama.cpp has no such limit (docs/formats.md §bert (WordPiece)). */
    max_input_chars_per_word?: number;
    ignore_merges?: boolean;
    unk_token?: string | null;
  };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  normalizer?: HfComponent | null;
  pre_tokenizer?: HfComponent | null;
  post_processor?: HfComponent | null;
  /** Not read: trit decodes as llama.cpp does. */
  decoder?: HfComponent | null;
}

interface HfComponent {
  type: string;
  [key: string]: unknown;
}

/** Values from tokenizer_config.json, when available; they win over what tokenizer.json implies. */
export interface HfTokenizerConfig {
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  unk_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  /** WordPiece: the token put first ([CLS]). */
  cls_token?: string | { content: string } | null;
  /** WordPiece: the token put last ([SEP]). */
  sep_token?: string | { content: string } | null;
  /** WordPiece: the mask token ([MASK]). */
  mask_token?: string | { content: string } | null;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
}

/** GGUF tokenizer metadata as plain values, keyed by GGUF key. */
export type GgufTokenizerMetadata = Record<string, string | string[] | Int32Array | Float32Array | number | boolean>;

/**
 * The `tokenizer.ggml.pre` of a byte-level tokenizer.json whose pre_tokenizer is one
 * Split(pattern, Isolated) then ByteLevel(use_regex: false), by the Split's pattern.
 * Llama-3 ships two spellings of its case-insensitive contractions; Qwen2's pattern
 * differs from Llama-3's only in taking digits one at a time.
 */
const SPLIT_PATTERNS: ReadonlyMap<string, string> = new Map([
  [
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    'llama-bpe',
  ],
  [
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    'llama-bpe',
  ],
  [
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    'qwen2',
  ],
]);
const SPLIT_NAMES = ['gpt-2 (ByteLevel)', 'llama-bpe (Split + ByteLevel)', 'qwen2 (Split + ByteLevel)'];
const SPACE_MARK = '\u2581';

function parse(json: HfTokenizerJson | string): HfTokenizerJson {
  const value = typeof json === 'string' ? (JSON.parse(json) as HfTokenizerJson) : json;
  if (value === null || typeof value !== 'object' || value.model === null || typeof value.model !== 'object') {
    throw new TokenizerMetadataError('tokenizer.json', 'an object with a "model"', typeof value);
  }
  return value;
}

/** Sequences nested deeper than this are refused (a file's nesting must not decide the stack depth). */
const MAX_SEQUENCE_DEPTH = 32;

/** The components of a normalizer or pre-tokenizer, Sequences flattened. */
function components(component: HfComponent | null | undefined, where: string, depth = 0): HfComponent[] {
  if (!component) return [];
  if (typeof component !== 'object' || Array.isArray(component))
    throw new TokenizerMetadataError(where, 'an object', describeJson(component));
  if (component.type === 'Sequence') {
    const list: unknown = component.pretokenizers ?? component.normalizers ?? component.processors ?? [];
    if (!Array.isArray(list))
      throw new TokenizerMetadataError(where, 'a Sequence with an array of components', describeJson(list));
    if (depth >= MAX_SEQUENCE_DEPTH)
      throw new TokenizerMetadataError(where, `Sequences nested at most ${MAX_SEQUENCE_DEPTH} deep`, 'deeper');
    return list.flatMap((c: HfComponent, i) => components(c, `${where}[${i}]`, depth + 1));
  }
  return [component];
}

function tokenText(value: string | { content: string } | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? value : value.content;
}

/** The pre-tokenizer name of a byte-level tokenizer.json, or an UnknownPreTokenizerError. */
function byteLevelPre(json: HfTokenizerJson): string {
  const parts = components(json.pre_tokenizer, 'pre_tokenizer');
  const byteLevel = parts.find((c) => c.type === 'ByteLevel');
  const splits = parts.filter((c) => c.type === 'Split');
  if (parts.length === 1 && byteLevel && byteLevel.use_regex !== false) {
    // A prefix space changes every text's first word; llama.cpp has no such pre-tokenizer either.
    if (byteLevel.add_prefix_space === true) {
      throw new UnknownPreTokenizerError('ByteLevel(add_prefix_space: true)', SPLIT_NAMES);
    }
    return 'gpt-2';
  }
  if (parts.length === 2 && splits.length === 1 && byteLevel && byteLevel.use_regex === false) {
    const pattern = (splits[0].pattern as { Regex?: string } | undefined)?.Regex;
    const pre = pattern === undefined ? undefined : SPLIT_PATTERNS.get(pattern);
    if (pre !== undefined && splits[0].behavior === 'Isolated' && splits[0].invert !== true) return pre;
    throw new UnknownPreTokenizerError(`Split(${describeJson(pattern)})`, SPLIT_NAMES);
  }
  throw new UnknownPreTokenizerError(parts.map((c) => c.type).join('+') || 'none', SPLIT_NAMES);
}

/** Whether the SentencePiece-style tokenizer puts "▁" before the text. */
function spacePrefix(json: HfTokenizerJson): boolean {
  for (const c of components(json.normalizer, 'normalizer'))
    if (c.type === 'Prepend' && c.prepend === SPACE_MARK) return true;
  for (const c of components(json.pre_tokenizer, 'pre_tokenizer')) {
    if (c.type === 'Metaspace') return c.add_prefix_space === true || (c.prepend_scheme ?? 'always') !== 'never';
  }
  return false;
}

/**
 * Converts tokenizer.json to the `tokenizer.ggml.*` keys the quantize CLI
 * writes into a GGUF (what llama.cpp's convert_hf_to_gguf.py would write).
 */
export function ggufTokenizerMetadataFromHf(
  tokenizerJson: HfTokenizerJson | string,
  config: HfTokenizerConfig = {},
  options: {
    /**
     * The model's vocabulary (config.json's vocab_size, the embedding's rows).
     * llama.cpp requires the token list to be exactly this long, so missing
     * ids are filled with `[PAD<id>]` as convert_hf_to_gguf.py does.
     */
    vocabSize?: number;
  } = {},
): GgufTokenizerMetadata {
  const json = parse(tokenizerJson);
  const { model } = json;
  if (model.type === 'WordPiece') return wordPieceMetadata(json, config, options.vocabSize);
  if (model.type !== 'BPE')
    throw new UnsupportedTokenizerError(String(model.type), ['BPE', 'WordPiece'], 'tokenizer.json model.type');
  const isByteLevel = components(json.pre_tokenizer, 'pre_tokenizer').some((c) => c.type === 'ByteLevel');
  if (!isByteLevel && model.byte_fallback !== true) {
    throw new UnsupportedTokenizerError(
      'BPE',
      ['byte-level BPE (ByteLevel pre-tokenizer)', 'SentencePiece-style BPE (byte_fallback)'],
      'neither a ByteLevel pre-tokenizer nor byte_fallback',
    );
  }
  const K = GGUF_TOKENIZER_KEYS;
  const { tokens, types, size } = tokenTable(json, options.vocabSize);
  if (!Array.isArray(model.merges)) {
    throw new TokenizerMetadataError('model.merges', 'an array of merges', describeJson(model.merges));
  }
  if (!isByteLevel) {
    for (let id = 0; id < size; id++)
      if (types[id] === TokenType.Normal && /^<0x[0-9A-Fa-f]{2}>$/.test(tokens[id])) types[id] = TokenType.Byte;
  }
  const unkText = tokenText(config.unk_token) ?? model.unk_token ?? undefined;
  const idOf = (text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const id = tokens.indexOf(text);
    return id >= 0 ? id : undefined;
  };
  const unk = idOf(unkText);
  if (unk !== undefined && types[unk] === TokenType.Control) types[unk] = TokenType.Unknown;
  fillUnused(tokens, types);

  const merges = model.merges.map((merge, i) => {
    if (typeof merge === 'string') return merge;
    if (Array.isArray(merge) && merge.length === 2) return `${merge[0]} ${merge[1]}`;
    throw new TokenizerMetadataError(`model.merges[${i}]`, '"left right" or [left, right]', describeJson(merge));
  });

  const out: GgufTokenizerMetadata = {};
  out[K.model] = isByteLevel ? 'gpt2' : 'llama';
  if (isByteLevel) out[K.pre] = byteLevelPre(json);
  out[K.tokens] = tokens;
  out[K.tokenType] = types;
  if (isByteLevel) {
    out[K.merges] = merges;
  } else {
    out[K.scores] = scoresFromMerges(tokens, merges);
    out[K.addSpacePrefix] = spacePrefix(json);
  }

  // BOS / EOS: tokenizer_config.json when given, else the post-processor template.
  const { template, leading, trailing } = templateEnds(json);
  const bos = idOf(tokenText(config.bos_token) ?? leading);
  const eos = idOf(tokenText(config.eos_token) ?? trailing);
  if (bos !== undefined) out[K.bosTokenId] = bos;
  if (eos !== undefined) out[K.eosTokenId] = eos;
  if (unk !== undefined) out[K.unknownTokenId] = unk;
  const pad = idOf(tokenText(config.pad_token));
  if (pad !== undefined) out[K.paddingTokenId] = pad;
  const addBos = config.add_bos_token ?? (template ? leading !== undefined : undefined);
  const addEos = config.add_eos_token ?? (template ? trailing !== undefined : undefined);
  if (addBos !== undefined) out[K.addBosToken] = addBos;
  if (addEos !== undefined) out[K.addEosToken] = addEos;
  return out;
}

/**
 * Token texts and types by id from model.vocab and added_tokens, as
 * convert_hf_to_gguf.py lists them: vocab entries normal, added tokens
 * control (special) or user-defined; ids with no token are unused `[PAD<id>]`
 * entries, filled in by the caller after its own type fixes.
 */
function tokenTable(
  json: HfTokenizerJson,
  vocabSize: number | undefined,
): { tokens: string[]; types: Int32Array; size: number } {
  // Token texts are data: Object.entries sees own keys only, so "__proto__" and "constructor" are tokens like any other.
  const vocab = checkedVocab(json.model.vocab);
  const added = checkedAddedTokens(json.added_tokens);
  let size = 0;
  for (const [, id] of vocab) size = Math.max(size, id + 1);
  for (const token of added) size = Math.max(size, token.id + 1);
  // Gaps between ids are padded, so the highest id sizes the token list: bound it by the tokens
  // the file really lists (a model's vocab_size, checked by the caller against its embedding, may pad more).
  const listed = vocab.length + added.length;
  const mostIds = 2 * listed + 256;
  if (size > Math.max(mostIds, vocabSize ?? 0))
    throw new TokenizerMetadataError(
      'model.vocab',
      `ids below ${mostIds} (the ${listed} listed tokens, with room for gaps) or the model's vocab_size`,
      `id ${size - 1}`,
    );
  if (vocabSize !== undefined) {
    if (!Number.isSafeInteger(vocabSize) || vocabSize < size)
      throw new TokenizerMetadataError(
        'vocab_size',
        `at least ${size} (the tokenizer's highest id + 1)`,
        String(vocabSize),
      );
    size = vocabSize;
  }
  const tokens: string[] = new Array(size);
  const types = new Int32Array(size);
  for (const [text, id] of vocab) {
    tokens[id] = text;
    types[id] = TokenType.Normal;
  }
  for (const token of added) {
    tokens[token.id] = token.content;
    types[token.id] = token.special ? TokenType.Control : TokenType.UserDefined;
  }
  return { tokens, types, size };
}

/** Ids with no token, as convert_hf_to_gguf.py fills them. */
function fillUnused(tokens: string[], types: Int32Array): void {
  for (let id = 0; id < tokens.length; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TokenType.Unused;
    }
  }
}

/** The first and last special token of a TemplateProcessing post-processor's `single` template. */
function templateEnds(json: HfTokenizerJson): { template: boolean; leading?: string; trailing?: string } {
  const template = components(json.post_processor, 'post_processor').find((c) => c.type === 'TemplateProcessing');
  const single = (template?.single ?? []) as { SpecialToken?: { id: string } }[];
  return {
    template: template !== undefined,
    leading: single[0]?.SpecialToken?.id,
    trailing: single.length > 1 ? single[single.length - 1]?.SpecialToken?.id : undefined,
  };
}

/**
 * WordPiece (BERT) → model "bert", as convert_hf_to_gguf.py's BertModel
 * writes it: control tokens keep their text, a continuation "##ing" becomes
 * "ing" and every other token gets the word mark, "the" → "▁the". The
 * normalizer's lowercase / strip_accents become
 * `tokenizer.ggml.normalizer.*` (written only when the file sets them).
 */
function wordPieceMetadata(
  json: HfTokenizerJson,
  config: HfTokenizerConfig,
  vocabSize: number | undefined,
): GgufTokenizerMetadata {
  const { model } = json;
  const prefix = model.continuing_subword_prefix ?? '##';
  if (prefix !== '##')
    throw new UnsupportedTokenizerError(
      'WordPiece',
      ['WordPiece with "##" continuations'],
      `continuing_subword_prefix ${describeJson(prefix)}`,
    );
  const pre = components(json.pre_tokenizer, 'pre_tokenizer');
  if (pre.length !== 1 || pre[0].type !== 'BertPreTokenizer')
    throw new UnknownPreTokenizerError(pre.map((c) => c.type).join('+') || 'none', ['BertPreTokenizer (WordPiece)']);
  let lowercase: boolean | undefined;
  let stripAccents: boolean | undefined;
  for (const c of components(json.normalizer, 'normalizer')) {
    if (c.type === 'Lowercase') lowercase = true;
    else if (c.type === 'StripAccents') stripAccents = true;
    else if (c.type === 'BertNormalizer') {
      // A null strip_accents follows lowercase, in transformers and in llama.cpp alike: leave the key out.
      if (typeof c.lowercase === 'boolean') lowercase = c.lowercase;
      if (typeof c.strip_accents === 'boolean') stripAccents = c.strip_accents;
    }
  }

  const { tokens, types } = tokenTable(json, vocabSize);
  fillUnused(tokens, types);
  const originals = tokens.slice();
  for (let id = 0; id < tokens.length; id++) {
    if (types[id] === TokenType.Control) continue;
    tokens[id] = tokens[id].startsWith('##') ? tokens[id].slice(2) : `\u2581${tokens[id]}`;
  }
  const idOf = (text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const id = originals.indexOf(text);
    return id >= 0 ? id : undefined;
  };

  const K = GGUF_TOKENIZER_KEYS;
  const out: GgufTokenizerMetadata = {};
  out[K.model] = 'bert';
  // llama.cpp reads no pre-tokenizer for "bert"; convert_hf_to_gguf.py writes a name from a hash of test encodings.
  out[K.pre] = 'default';
  out[K.tokens] = tokens;
  out[K.tokenType] = types;
  if (lowercase !== undefined) out[K.normalizerLowercase] = lowercase;
  if (stripAccents !== undefined) out[K.normalizerStripAccents] = stripAccents;

  // [CLS] … [SEP]: tokenizer_config.json when given, else the post-processor template.
  const { template, leading, trailing } = templateEnds(json);
  const cls = idOf(tokenText(config.cls_token) ?? leading);
  const sep = idOf(tokenText(config.sep_token) ?? trailing);
  const bos = idOf(tokenText(config.bos_token)) ?? cls;
  const eos = idOf(tokenText(config.eos_token)) ?? sep;
  const ids: [string, number | undefined][] = [
    [K.bosTokenId, bos],
    [K.eosTokenId, eos],
    [K.unknownTokenId, idOf(tokenText(config.unk_token) ?? model.unk_token ?? undefined)],
    [K.separatorTokenId, sep],
    [K.paddingTokenId, idOf(tokenText(config.pad_token))],
    [K.clsTokenId, cls],
    [K.maskTokenId, idOf(tokenText(config.mask_token))],
  ];
  for (const [key, id] of ids) if (id !== undefined) out[key] = id;
  const addBos = config.add_bos_token ?? (template ? leading !== undefined : undefined);
  const addEos = config.add_eos_token ?? (template ? trailing !== undefined : undefined);
  if (addBos !== undefined) out[K.addBosToken] = addBos;
  if (addEos !== undefined) out[K.addEosToken] = addEos;
  return out;
}

/** A tokenizer.json value for a message: short, and never recursing (a deeply nested value from a file would overflow the stack). */
function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** model.vocab as [text, id] pairs, every id a non-negative integer. */
function checkedVocab(vocab: unknown): [string, number][] {
  if (vocab === null || typeof vocab !== 'object' || Array.isArray(vocab)) {
    throw new TokenizerMetadataError('model.vocab', 'an object of token → id', describeJson(vocab));
  }
  const entries = Object.entries(vocab);
  for (const [text, id] of entries) {
    if (!isId(id)) {
      throw new TokenizerMetadataError(
        `model.vocab[${JSON.stringify(text)}]`,
        'a non-negative integer id',
        describeJson(id),
      );
    }
  }
  return entries as [string, number][];
}

/** added_tokens, each with a string content and a non-negative integer id. */
function checkedAddedTokens(added: unknown): { id: number; content: string; special?: boolean }[] {
  if (added === undefined || added === null) return [];
  if (!Array.isArray(added)) throw new TokenizerMetadataError('added_tokens', 'an array', describeJson(added));
  added.forEach((token: unknown, i) => {
    const t = token as { id?: unknown; content?: unknown } | null;
    if (t === null || typeof t !== 'object' || !isId(t.id) || typeof t.content !== 'string') {
      throw new TokenizerMetadataError(
        `added_tokens[${i}]`,
        '{ "id": a non-negative integer, "content": a string }',
        t === null || typeof t !== 'object'
          ? describeJson(token)
          : `id ${describeJson(t.id)}, content ${describeJson(t.content)}`,
      );
    }
  });
  return added;
}

/**
 * SentencePiece scores from merge ranks: a token made by merge r scores -r,
 * so a lower rank merges first; tokens no merge makes (characters, bytes,
 * special tokens) score 0, as SentencePiece gives its byte and control pieces.
 */
function scoresFromMerges(tokens: readonly string[], merges: readonly string[]): Float32Array {
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const scores = new Float32Array(tokens.length);
  const scored = new Uint8Array(tokens.length);
  merges.forEach((merge, rank) => {
    const space = merge.indexOf(' ', 1);
    if (space < 0) return;
    const id = ids.get(merge.slice(0, space) + merge.slice(space + 1));
    if (id === undefined || scored[id]) return;
    scored[id] = 1;
    scores[id] = -rank - 1;
  });
  return scores;
}

/** A tokenizer from a Hugging Face tokenizer.json (BPE and WordPiece models). */
export function tokenizerFromHf(
  tokenizerJson: HfTokenizerJson | string,
  config: HfTokenizerConfig = {},
): GgufTokenizer {
  return tokenizerFromGguf(ggufTokenizerMetadataFromHf(tokenizerJson, config));
}
