/**
 * WordPiece (`tokenizer.ggml.model = "bert"`), as llama.cpp's
 * llm_tokenizer_wpm_session (docs/formats.md §bert (WordPiece)).
 *
 * Each text fragment (special tokens are cut out first, as for BPE) is split
 * into words: whitespace ends a word; NUL, U+FFFD and \p{C} except unassigned
 * code points are dropped; punctuation, ASCII symbols and CJK ideographs are
 * one-character words. With strip_accents each code point is first replaced by
 * the first code point of its NFD decomposition and marks are dropped; with
 * lowercase it is lowercased (simple mapping) as it is appended.
 *
 * The vocabulary is written the way convert_hf_to_gguf.py writes BERT's:
 * a word-start token "the" is "▁the", a continuation "##s" is "s". Each word
 * gets a "▁" in front and is cut greedily into the longest tokens from the
 * left; a word with any position no token starts at becomes one [UNK].
 *
 *   "Hello, wordpiece!" (lowercase) → words "hello" "," "wordpiece" "!"
 *   → "▁hello" | "▁," | "▁word" "piece" | "▁!"
 *
 * Longest match: token ids sorted by text; each further character of the
 * word narrows the id range by binary search, so one position costs
 * O(L · log V) for the longest token length L, whatever the input.
 */
import { TokenIdError, TokenizerMetadataError } from './errors.js';
import { IdBuffer } from './id-buffer.js';
import { SpecialTokenSplitter, type SpecialTokens } from './special-tokens.js';
import { TokenType } from './token-types.js';
import type { DecodeOptions, EncodeOptions, StreamingDecoder, Tokenizer } from './tokenizer.js';
import { codePointClass, PUNCTUATION, WHITESPACE } from './unicode.js';
import { Vocabulary } from './vocabulary.js';
import { CONTROL_RANGES, LOWERCASE_MAP, MARK_RANGES, NFD_FIRST_MAP } from './wordpiece-data.js';

/** What a WordPieceTokenizer is built from: the `tokenizer.ggml.*` values of a "bert" GGUF. */
export interface WordPieceTokenizerOptions {
  /** `tokenizer.ggml.tokens`, in convert_hf_to_gguf.py's form ("▁word", "piece", "[CLS]"). */
  tokens: readonly string[];
  /** `tokenizer.ggml.token_type`; all normal when absent. */
  tokenTypes?: ArrayLike<number>;
  /** Explicit ids win over llama.cpp's bert defaults ([CLS] 101, [UNK] 100, [SEP] 102, [PAD] 0, [MASK] 103). */
  specialTokens?: Partial<SpecialTokens>;
  /** `tokenizer.ggml.normalizer.lowercase`. Default true, as llama.cpp (a cased model's file says false). */
  lowercase?: boolean;
  /** `tokenizer.ggml.normalizer.strip_accents`. Default: `lowercase`, as llama.cpp. */
  stripAccents?: boolean;
  /** `tokenizer.ggml.pre`, kept for reference: llama.cpp ignores it for "bert". */
  pre?: string;
  /** `tokenizer.ggml.add_bos_token` (default true). Informational: see {@link WordPieceTokenizer.encode}. */
  addBos?: boolean;
  /** `tokenizer.ggml.add_eos_token` (default false). Informational. */
  addEos?: boolean;
  /** `tokenizer.ggml.add_sep_token` (default true). Informational. */
  addSep?: boolean;
}

const WORD_MARK = 0x2581;
const SPACE = 0x20;
const APOSTROPHE = 0x27;

const SPECIAL_KEYS = ['bos', 'eos', 'eot', 'eom', 'unk', 'pad', 'sep', 'cls', 'mask'] as const;

/** llama.cpp's defaults for a "bert" vocabulary, before any `*_token_id` key is read. */
export function defaultWordPieceSpecialTokens(): SpecialTokens {
  return { bos: 101, eos: null, eot: null, eom: null, unk: 100, pad: 0, sep: 102, cls: null, mask: 103 };
}

/** Skipped by skipSpecial (control and unknown tokens). */
const SKIPPABLE = 1;
/** A normal token: its "▁" prints as a space. */
const NORMAL = 2;

const RETAINED_SCRATCH = 1 << 22;

function decodeRanges(encoded: string): Int32Array {
  const parts = encoded.split(',');
  const out = new Int32Array(parts.length * 2);
  let previousEnd = -1;
  parts.forEach((part, i) => {
    const dot = part.indexOf('.');
    const start = previousEnd + 1 + Number.parseInt(part.slice(0, dot), 36);
    const end = start + Number.parseInt(part.slice(dot + 1), 36);
    out[2 * i] = start;
    out[2 * i + 1] = end;
    previousEnd = end;
  });
  return out;
}

function decodeMap(encoded: string): Map<number, number> {
  const map = new Map<number, number>();
  let previous = -1;
  for (const part of encoded.split(',')) {
    const dot = part.indexOf('.');
    const from = previous + 1 + Number.parseInt(part.slice(0, dot), 36);
    map.set(from, from + Number.parseInt(part.slice(dot + 1), 36));
    previous = from;
  }
  return map;
}

function inRanges(ranges: Int32Array, cp: number): boolean {
  let lo = 0;
  let hi = ranges.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[2 * mid + 1] < cp) lo = mid + 1;
    else hi = mid;
  }
  return lo < ranges.length >> 1 && ranges[2 * lo] <= cp;
}

interface WordPieceTables {
  control: Int32Array;
  mark: Int32Array;
  lower: Map<number, number>;
  nfdFirst: Map<number, number>;
}

let tables: WordPieceTables | undefined;
function wordPieceTables(): WordPieceTables {
  tables ??= {
    control: decodeRanges(CONTROL_RANGES),
    mark: decodeRanges(MARK_RANGES),
    lower: decodeMap(LOWERCASE_MAP),
    nfdFirst: decodeMap(NFD_FIRST_MAP),
  };
  return tables;
}

/** llama.cpp's symbols below U+007F that are words of their own: $ + < = > ^ ` | ~ (\p{S}). */
function isAsciiSymbol(cp: number): boolean {
  return (
    cp === 0x24 ||
    cp === 0x2b ||
    cp === 0x3c ||
    cp === 0x3d ||
    cp === 0x3e ||
    cp === 0x5e ||
    cp === 0x60 ||
    cp === 0x7c ||
    cp === 0x7e
  );
}

/** llama.cpp's `is_chinese_char` ranges, including its 0x2B920 start where Unicode says 0x2B820. */
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** First code point of a Hangul syllable's NFD: its leading consonant (Unicode §3.12). */
function hangulLeading(cp: number): number {
  return 0x1100 + Math.floor((cp - 0xac00) / 588);
}

interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

function wellFormed(text: string): string {
  const s = text as unknown as WellFormedString;
  if (typeof s.isWellFormed === 'function') return s.isWellFormed() ? text : s.toWellFormed();
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/**
 * llama.cpp's detokenizer clean-up for WordPiece (`clean_spaces`), on UTF-8
 * bytes in place; returns the new length. Three passes: drop the space before
 * ? ! . ,; turn " ' " into "'"; drop the space before 's 'm 're 've.
 */
function cleanSpaces(text: Uint8Array, length: number): number {
  let total = length > 0 ? 1 : 0;
  for (let i = 1; i < length; i++) {
    const x = text[i];
    if (text[i - 1] === SPACE && (x === 0x3f || x === 0x21 || x === 0x2e || x === 0x2c)) total--;
    text[total++] = x;
  }
  const length2 = total;
  total = length2 > 0 ? 1 : 0;
  for (let i = 1; i < length2; i++) {
    const x = text[i];
    if (x === APOSTROPHE && i + 1 < length2 && text[i - 1] === SPACE && text[i + 1] === SPACE) {
      total--;
      // The space after is skipped; llama.cpp zeroes it, so it no longer counts as a space before the next byte.
      text[++i] = 0;
    }
    text[total++] = x;
  }
  const length3 = total;
  total = length3 > 0 ? 1 : 0;
  for (let i = 1; i < length3; i++) {
    const x = text[i];
    if (text[i - 1] === SPACE && x === APOSTROPHE && i + 1 < length3) {
      const x1 = text[i + 1];
      if (x1 === 0x73 || x1 === 0x6d) total--;
      else if (i + 2 < length3 && (x1 === 0x72 || x1 === 0x76) && text[i + 2] === 0x65) total--;
    }
    text[total++] = x;
  }
  return total;
}

/**
 * Where a byte stream can be cut so that cleanSpaces of the parts equals
 * cleanSpaces of the whole: after a byte that is no space, with no
 * apostrophe among the last three (every clean-up pattern that could
 * straddle the cut has one there). Returns the largest such cut in
 * (after, length], or 0; cuts up to `after` were tried before.
 */
function lastSafeCut(bytes: Uint8Array, after: number, length: number): number {
  for (let k = length; k > after; k--) {
    if (bytes[k - 1] === SPACE) continue;
    if (bytes[k - 1] !== APOSTROPHE && (k < 2 || bytes[k - 2] !== APOSTROPHE) && (k < 3 || bytes[k - 3] !== APOSTROPHE))
      return k;
  }
  return 0;
}

/** WordPiece tokenizer of a "bert" GGUF vocabulary, with llama.cpp's behaviour (docs/formats.md §bert (WordPiece)). */
export class WordPieceTokenizer implements Tokenizer {
  /** `tokenizer.ggml.model`. */
  readonly model = 'bert' as const;
  /** `tokenizer.ggml.pre` as the file says (unused). */
  readonly pre: string | undefined;
  /** Resolved special token ids: [CLS] is bos, [SEP] is sep. */
  readonly specialTokens: Readonly<SpecialTokens>;
  /** Lowercase before matching (`tokenizer.ggml.normalizer.lowercase`). */
  readonly lowercase: boolean;
  /** Drop accents before matching (`tokenizer.ggml.normalizer.strip_accents`). */
  readonly stripAccents: boolean;
  /** `tokenizer.ggml.add_bos_token`, as read; encode brackets with [CLS] … [SEP] regardless, as llama.cpp. */
  readonly addBos: boolean;
  /** `tokenizer.ggml.add_eos_token`, as read. */
  readonly addEos: boolean;
  /** `tokenizer.ggml.add_sep_token`, as read. */
  readonly addSep: boolean;
  /** llama.cpp's add_space_prefix for "bert" is false: words carry "▁" instead. Same shape as BpeTokenizer. */
  readonly addSpacePrefix = false;
  /** No merges in WordPiece. Same shape as BpeTokenizer. */
  readonly ignoreMerges = false;
  /** Things llama.cpp would log as warnings while loading. */
  readonly warnings: readonly string[];

  private readonly vocab: Vocabulary;
  private readonly special: SpecialTokenSplitter;
  /** Token ids in code-unit order of their texts, for the longest-match search. */
  private readonly sorted: Int32Array;
  private readonly pieceOffsets: Int32Array;
  private readonly pieceBytes: Uint8Array;
  private readonly tokenFlags: Uint8Array;
  private readonly unk: number;
  private readonly output = new IdBuffer(1024);
  /** Code units of the current word, "▁" first. */
  private word = new Uint16Array(64);
  private decodeBuffer = new Uint8Array(1024);
  private readonly textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(options: WordPieceTokenizerOptions) {
    const warnings: string[] = [];
    const vocab = new Vocabulary(options.tokens, options.tokenTypes);
    this.vocab = vocab;
    this.pre = options.pre;
    this.lowercase = options.lowercase ?? true;
    this.stripAccents = options.stripAccents ?? this.lowercase;
    this.addBos = options.addBos ?? true;
    this.addEos = options.addEos ?? false;
    this.addSep = options.addSep ?? true;

    const special = defaultWordPieceSpecialTokens();
    const given = options.specialTokens ?? {};
    for (const key of SPECIAL_KEYS) {
      const fallback = special[key];
      if (fallback !== null && fallback >= vocab.size) {
        warnings.push(`default ${key} token ${fallback} is outside the vocabulary (${vocab.size}): none`);
        special[key] = null;
      }
      const id = given[key];
      if (!Object.hasOwn(given, key) || id === undefined) continue;
      if (id === null) special[key] = null;
      else if (Number.isInteger(id) && id >= 0 && id < vocab.size) special[key] = id;
      else warnings.push(`${key} token id ${id} is outside the vocabulary (${vocab.size}): keeping ${special[key]}`);
    }
    // llama.cpp's WordPiece encode always brackets with bos … sep, and falls back to unk.
    const required: [keyof SpecialTokens, string][] = [
      ['bos', 'tokenizer.ggml.bos_token_id'],
      ['sep', 'tokenizer.ggml.seperator_token_id'],
      ['unk', 'tokenizer.ggml.unknown_token_id'],
    ];
    for (const [key, metadataKey] of required) {
      if (special[key] === null)
        throw new TokenizerMetadataError(metadataKey, 'a token id, which a "bert" vocabulary needs', 'none');
    }
    this.specialTokens = special;
    this.unk = special.unk as number;
    this.warnings = warnings;

    this.special = new SpecialTokenSplitter(vocab.tokens, vocab.types);
    const texts = vocab.tokens;
    this.sorted = Int32Array.from(
      Array.from({ length: vocab.size }, (_, id) => id).sort((a, b) =>
        texts[a] < texts[b] ? -1 : texts[a] > texts[b] ? 1 : 0,
      ),
    );
    const { offsets, bytes, flags } = this.buildPieces();
    this.pieceOffsets = offsets;
    this.pieceBytes = bytes;
    this.tokenFlags = flags;
  }

  /** Number of tokens. */
  get vocabSize(): number {
    return this.vocab.size;
  }

  /**
   * Token ids of a text, as llama.cpp's llama_tokenize(text, addSpecial, parseSpecial):
   * with addSpecial, bos ([CLS]) first and sep ([SEP]) last. llama.cpp does
   * so for "bert" whatever add_bos / add_eos / add_sep say, and so do we.
   */
  encode(text: string, options: EncodeOptions = {}): Uint32Array {
    if (typeof text !== 'string') throw new TypeError(`encode expects a string, got ${typeof text}`);
    const addSpecial = options.addSpecial ?? true;
    text = wellFormed(text);
    const out = this.output;
    out.length = 0;
    if (addSpecial) out.push(this.specialTokens.bos as number);
    const { starts, ends } = this.special.partition(text, options.parseSpecial ?? false);
    for (let f = 0; f < starts.length; f++) {
      if (starts[f] < 0) out.push(ends[f]);
      else this.encodeFragment(text, starts[f], ends[f], out);
    }
    if (addSpecial) out.push(this.specialTokens.sep as number);
    const ids = out.result();
    if (out.data.length > RETAINED_SCRATCH) out.data = new Uint32Array(1024);
    if (this.word.length > RETAINED_SCRATCH) this.word = new Uint16Array(64);
    return ids;
  }

  /** Splits text[start, end) into words and appends each word's tokens. */
  private encodeFragment(text: string, start: number, end: number, out: IdBuffer): void {
    const { control, mark, lower, nfdFirst } = wordPieceTables();
    const { lowercase, stripAccents } = this;
    // Index 0 holds the word mark; n is the word's length including it.
    let n = 1;
    const finish = (): void => {
      if (n > 1) this.encodeWord(n, out);
      n = 1;
    };
    for (let i = start; i < end; i++) {
      let cp = text.charCodeAt(i);
      if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < end) {
        cp = ((cp - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00) + 0x10000;
      }
      if (stripAccents && cp >= 0xc0) {
        cp = cp >= 0xac00 && cp <= 0xd7a3 ? hangulLeading(cp) : (nfdFirst.get(cp) ?? cp);
      }
      const cls = codePointClass(cp);
      if (cls & WHITESPACE) {
        finish();
        continue;
      }
      if (cp === 0 || cp === 0xfffd || cp < 0x20 || (cp >= 0x7f && inRanges(control, cp))) continue;
      if (stripAccents && cp >= 0x300 && inRanges(mark, cp)) continue;
      let emitted = cp;
      if (lowercase) emitted = cp < 0x80 ? (cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp) : (lower.get(cp) ?? cp);
      const alone = (cls & PUNCTUATION) !== 0 || (cp < 0x7f && isAsciiSymbol(cp)) || isChineseChar(cp);
      if (alone) finish();
      if (this.word.length < n + 2) {
        const grown = new Uint16Array(this.word.length * 2);
        grown.set(this.word);
        this.word = grown;
      }
      if (emitted > 0xffff) {
        this.word[n++] = 0xd800 + ((emitted - 0x10000) >> 10);
        this.word[n++] = 0xdc00 + ((emitted - 0x10000) & 0x3ff);
      } else {
        this.word[n++] = emitted;
      }
      if (alone) finish();
    }
    finish();
  }

  /** Greedy longest match over word[0, n); the whole word becomes unk when a position has no token. */
  private encodeWord(n: number, out: IdBuffer): void {
    const word = this.word;
    word[0] = WORD_MARK;
    const first = out.length;
    let i = 0;
    while (i < n) {
      const length = this.longestMatch(word, i, n);
      if (length === 0) {
        out.length = first;
        break;
      }
      out.push(this.matchedId);
      i += length;
    }
    if (out.length === first) out.push(this.unk);
  }

  /** Id of the last longestMatch. */
  private matchedId = -1;

  /** Length of the longest token that word[i, n) starts with (0 if none); its id in matchedId. */
  private longestMatch(word: Uint16Array, i: number, n: number): number {
    const { sorted } = this;
    const texts = this.vocab.tokens;
    let lo = 0;
    let hi = sorted.length;
    let best = 0;
    for (let depth = 0; i + depth < n; depth++) {
      const unit = word[i + depth];
      // Within [lo, hi) every text starts with word[i, i + depth), in code-unit order;
      // a text of exactly that length has no unit at depth and sorts first.
      let a = lo;
      let b = hi;
      while (a < b) {
        const mid = (a + b) >> 1;
        const text = texts[sorted[mid]];
        if ((depth < text.length ? text.charCodeAt(depth) : -1) < unit) a = mid + 1;
        else b = mid;
      }
      lo = a;
      b = hi;
      while (a < b) {
        const mid = (a + b) >> 1;
        const text = texts[sorted[mid]];
        if ((depth < text.length ? text.charCodeAt(depth) : -1) <= unit) a = mid + 1;
        else b = mid;
      }
      hi = a;
      if (lo >= hi) break;
      const text = texts[sorted[lo]];
      // Never end a match between the halves of a surrogate pair.
      const splitsPair = unit >= 0xd800 && unit < 0xdc00 && i + depth + 1 < n;
      if (text.length === depth + 1 && !splitsPair) {
        best = depth + 1;
        this.matchedId = sorted[lo];
      }
    }
    return best;
  }

  /**
   * Text of token ids, as llama.cpp's llama_detokenize: "▁" prints as a
   * space, then the clean-up llama.cpp applies to WordPiece output (no space
   * before ? ! . , 's 'm 're 've; " ' " → "'"). With stripSpacePrefix
   * (default true) the space the first word's "▁" puts at the very start is
   * dropped, which llama.cpp keeps.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skipSpecial = options.skipSpecial ?? true;
    let buffer = this.decodeBuffer;
    let length = 0;
    let firstNormal: boolean | undefined;
    for (let i = 0, n = ids.length; i < n; i++) {
      const id = ids[i];
      this.checkId(id);
      if (skipSpecial && this.tokenFlags[id] & SKIPPABLE) continue;
      let start = this.pieceOffsets[id];
      const end = this.pieceOffsets[id + 1];
      if (start === end) continue;
      firstNormal ??= (this.tokenFlags[id] & NORMAL) !== 0;
      if (length + end - start > buffer.length) {
        const grown = new Uint8Array(Math.max(buffer.length * 2, length + end - start));
        grown.set(buffer.subarray(0, length));
        this.decodeBuffer = buffer = grown;
      }
      while (start < end) buffer[length++] = this.pieceBytes[start++];
    }
    length = cleanSpaces(buffer, length);
    const from = (options.stripSpacePrefix ?? true) && firstNormal && buffer[0] === SPACE ? 1 : 0;
    const text = this.textDecoder.decode(buffer.subarray(from, length));
    if (buffer.length > RETAINED_SCRATCH * 4) this.decodeBuffer = new Uint8Array(1024);
    return text;
  }

  /**
   * An incremental decoder with the same options and result as decode. Text
   * is held back while the clean-up could still change it (a trailing space,
   * or an apostrophe among the last three bytes).
   */
  createDecoder(options: DecodeOptions = {}): StreamingDecoder {
    const skipSpecial = options.skipSpecial ?? true;
    const strip = options.stripSpacePrefix ?? true;
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    let pending = new Uint8Array(64);
    let length = 0;
    let firstNormal: boolean | undefined;
    let atStart = true;
    const emit = (cut: number): string => {
      const chunk = pending.slice(0, cut);
      pending.copyWithin(0, cut, length);
      length -= cut;
      const cleaned = cleanSpaces(chunk, chunk.length);
      if (cleaned === 0) return '';
      const from = atStart && strip && firstNormal && chunk[0] === SPACE ? 1 : 0;
      atStart = false;
      return decoder.decode(chunk.subarray(from, cleaned), { stream: true });
    };
    return {
      push: (id: number): string => {
        this.checkId(id);
        if (skipSpecial && this.tokenFlags[id] & SKIPPABLE) return '';
        const start = this.pieceOffsets[id];
        const end = this.pieceOffsets[id + 1];
        if (start === end) return '';
        firstNormal ??= (this.tokenFlags[id] & NORMAL) !== 0;
        if (length + end - start > pending.length) {
          const grown = new Uint8Array(Math.max(pending.length * 2, length + end - start));
          grown.set(pending.subarray(0, length));
          pending = grown;
        }
        pending.set(this.pieceBytes.subarray(start, end), length);
        const before = length;
        length += end - start;
        return emit(lastSafeCut(pending, before, length));
      },
      flush: (): string => {
        const text = emit(length) + decoder.decode();
        firstNormal = undefined;
        atStart = true;
        return text;
      },
    };
  }

  /** The vocabulary text of a token, e.g. "▁hello", "piece", "[CLS]". */
  tokenToPiece(id: number): string {
    this.checkId(id);
    return this.vocab.tokens[id];
  }

  /** The id of a vocabulary text, if it is one. */
  pieceToToken(piece: string): number | undefined {
    return this.vocab.id(piece);
  }

  /** The bytes a token decodes to ("▁" as a space; special tokens as their text), before clean-up. */
  tokenToBytes(id: number): Uint8Array {
    this.checkId(id);
    return this.pieceBytes.slice(this.pieceOffsets[id], this.pieceOffsets[id + 1]);
  }

  /** `tokenizer.ggml.token_type` of a token. */
  tokenType(id: number): TokenType {
    this.checkId(id);
    return this.vocab.types[id] as TokenType;
  }

  /** True for eos, eot and eom (an embedding vocabulary rarely has them). */
  isEndOfGeneration(id: number): boolean {
    const { eos, eot, eom } = this.specialTokens;
    return id === eos || id === eot || id === eom;
  }

  private checkId(id: number): void {
    if (id >>> 0 !== id || id >= this.vocab.size) throw new TokenIdError(id, this.vocab.size);
  }

  /** Bytes of every token, as llama.cpp's token_to_piece(special = true), in one buffer. */
  private buildPieces(): { offsets: Int32Array; bytes: Uint8Array; flags: Uint8Array } {
    const { tokens, types } = this.vocab;
    const n = tokens.length;
    const offsets = new Int32Array(n + 1);
    const flags = new Uint8Array(n);
    const encoder = new TextEncoder();
    let bytes = new Uint8Array(n * 8 + 1024);
    let length = 0;
    for (let id = 0; id < n; id++) {
      const type = types[id];
      let text: string | undefined;
      if (type === TokenType.Control || type === TokenType.Unknown) {
        text = tokens[id];
        flags[id] = SKIPPABLE;
      } else if (type === TokenType.UserDefined) {
        text = tokens[id];
      } else if (type === TokenType.Normal || type === TokenType.Byte) {
        // llama.cpp aborts on a byte token in a "bert" vocabulary; we print its text.
        text = tokens[id].replaceAll('\u2581', ' ');
        flags[id] = NORMAL;
      }
      // Unused and undefined tokens print nothing, as in llama.cpp.
      if (text !== undefined) {
        if (length + text.length * 3 > bytes.length) {
          const grown = new Uint8Array(Math.max(bytes.length * 2, length + text.length * 3));
          grown.set(bytes.subarray(0, length));
          bytes = grown;
        }
        length += encoder.encodeInto(text, bytes.subarray(length)).written;
      }
      offsets[id + 1] = length;
    }
    return { offsets, bytes: bytes.slice(0, length), flags };
  }
}
