/**
 * BpeTokenizer: byte-level BPE (GPT-2, Llama-3) and SentencePiece BPE (Llama-2)
 * with llama.cpp's behaviour for special tokens, BOS/EOS and defaults.
 */

import { ByteLevelBpe, type Merge } from './byte-level-bpe.js';
import { CODE_POINT_TO_BYTE } from './byte-map.js';
import { TokenIdError, TokenizerMetadataError, UnknownPreTokenizerError, UnsupportedTokenizerError } from './errors.js';
import { IdBuffer } from './id-buffer.js';
import { findPreTokenizer, PRE_TOKENIZERS, type PreTokenizerSpec } from './pre-tokenizer-registry.js';
import { SentencePieceBpe } from './sentencepiece-bpe.js';
import {
  defaultSpecialTokens,
  SpecialTokenSplitter,
  type SpecialTokens,
  type TokenizerModel,
} from './special-tokens.js';
import { TokenType } from './token-types.js';
import { Vocabulary } from './vocabulary.js';

export interface EncodeOptions {
  /** Add BOS / EOS as the model asks (`add_bos_token`, `add_eos_token`). Default true. */
  addSpecial?: boolean;
  /** Match control and unknown tokens written in the text (user-defined tokens always match). Default false. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /**
   * Leave out control and unknown tokens (BOS, EOS, `<|eot_id|>` …), as
   * RuvLLM's decode does and llama.cpp's token_to_piece with special = false.
   * Default true; pass false to render them as their text. User-defined
   * tokens are always rendered.
   */
  skipSpecial?: boolean;
  /**
   * SentencePiece only: drop the space that add_space_prefix put at the start
   * of the text and after each special token, so decode(encode(s)) === s.
   * Turn off when decoding a continuation. Default true.
   */
  stripSpacePrefix?: boolean;
}

/** What a model backend needs from a tokenizer. */
export interface Tokenizer {
  readonly vocabSize: number;
  encode(text: string, options?: EncodeOptions): Uint32Array;
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
}

/** Incremental detokenizer: never returns half of a UTF-8 character. */
export interface StreamingDecoder {
  /** Text completed by this token (possibly empty). */
  push(id: number): string;
  /** Whatever is pending, incomplete bytes as U+FFFD; the decoder can then be reused. */
  flush(): string;
}

export interface BpeTokenizerOptions {
  /** `tokenizer.ggml.model`: "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE). */
  model: TokenizerModel | string;
  tokens: readonly string[];
  /** `tokenizer.ggml.token_type`; all normal when absent. */
  tokenTypes?: ArrayLike<number>;
  /** `tokenizer.ggml.scores`, used by "llama". */
  scores?: ArrayLike<number>;
  /** `tokenizer.ggml.merges` ("left right", or [left, right] pairs), required by "gpt2". */
  merges?: readonly Merge[];
  /** `tokenizer.ggml.pre`, used by "gpt2"; absent means "default" with a warning. */
  pre?: string;
  /** Explicit ids win over llama.cpp's defaults; null removes a token. */
  specialTokens?: Partial<SpecialTokens>;
  addBos?: boolean;
  addEos?: boolean;
  /** SentencePiece: prepend a space to each text fragment. Default true for "llama". */
  addSpacePrefix?: boolean;
  /** Byte-level BPE: emit a whole pre-token that is a token directly. Default from the pre-tokenizer. */
  ignoreMerges?: boolean;
  /** Byte-level BPE: pre-tokens remembered at most. Default 16384. */
  cacheSize?: number;
}

const SPECIAL_KEYS = ['bos', 'eos', 'eot', 'eom', 'unk', 'pad', 'sep', 'cls', 'mask'] as const;

// llama.cpp finds these by text when the GGUF names none; first in the list wins here
// (llama.cpp walks a hash map, so its choice between two present candidates is arbitrary).
const EOT_TEXTS = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '<｜end▁of▁sentence｜>',
  '<end_of_utterance>',
];
const EOM_TEXTS = ['<|eom_id|>'];
const EOG_TEXTS = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '</s>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '[EOS]',
  '<|end_of_text|>',
  '<end_of_utterance>',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '<｜end▁of▁sentence｜>',
  '[e~[',
];

/** Scratch buffers above this many elements are dropped after use. */
const RETAINED_SCRATCH = 1 << 22;

/** Skipped by skipSpecial. */
const SKIPPABLE = 1;
/** Ends a text fragment in encode, so the next fragment gets the SentencePiece space prefix. */
const FRAGMENT_END = 2;

interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** Lone surrogates become U+FFFD, as TextEncoder would encode them. */
function wellFormed(text: string): string {
  const s = text as unknown as WellFormedString;
  if (typeof s.isWellFormed === 'function') return s.isWellFormed() ? text : s.toWellFormed();
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

export class BpeTokenizer implements Tokenizer {
  readonly model: TokenizerModel;
  /** Resolved `tokenizer.ggml.pre` (byte-level BPE only). */
  readonly pre: string | undefined;
  readonly specialTokens: Readonly<SpecialTokens>;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  readonly ignoreMerges: boolean;
  /** Things llama.cpp would log as warnings while loading (missing pre, bad special ids …). */
  readonly warnings: readonly string[];

  private readonly vocab: Vocabulary;
  private readonly special: SpecialTokenSplitter;
  private readonly byteLevel: ByteLevelBpe | undefined;
  private readonly sentencePiece: SentencePieceBpe | undefined;
  private readonly endOfGeneration: ReadonlySet<number>;
  private readonly pieceOffsets: Int32Array;
  private readonly pieceBytes: Uint8Array;
  private readonly tokenFlags: Uint8Array;
  private readonly textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** Reused between decode calls. */
  private decodeBuffer = new Uint8Array(1024);
  /** Reused between encode calls; each call returns an exact-size copy. */
  private readonly output = new IdBuffer(1024);

  /** RuvLLM's constructor name. Applies llama.cpp's defaults for everything not given. */
  static fromVocab(options: BpeTokenizerOptions): BpeTokenizer {
    return new BpeTokenizer(options);
  }

  constructor(options: BpeTokenizerOptions) {
    const model = options.model;
    if (model !== 'gpt2' && model !== 'llama') throw new UnsupportedTokenizerError(String(model), ['gpt2', 'llama']);
    this.model = model;
    const warnings: string[] = [];
    const vocab = new Vocabulary(options.tokens, options.tokenTypes);
    this.vocab = vocab;
    if (options.scores !== undefined && options.scores.length !== vocab.size) {
      throw new TokenizerMetadataError('tokenizer.ggml.scores', `${vocab.size} entries`, `${options.scores.length}`);
    }

    let addBos: boolean;
    let ignoreMerges = false;
    if (model === 'gpt2') {
      let pre = options.pre;
      if (pre === undefined) {
        warnings.push("tokenizer.ggml.pre is missing: using the 'default' pre-tokenizer, as llama.cpp does");
        pre = 'default';
      }
      const spec = findPreTokenizer(pre);
      if (spec === undefined) throw new UnknownPreTokenizerError(String(pre), Object.keys(PRE_TOKENIZERS));
      this.pre = pre;
      addBos = spec.addBos;
      ignoreMerges = options.ignoreMerges ?? spec.ignoreMerges;
      if (options.merges === undefined) {
        throw new TokenizerMetadataError('tokenizer.ggml.merges', 'an array of merges for a "gpt2" model', 'nothing');
      }
    } else {
      this.pre = undefined;
      addBos = true;
    }
    this.addBos = options.addBos ?? addBos;
    this.addEos = options.addEos ?? false;
    this.addSpacePrefix = model === 'llama' ? (options.addSpacePrefix ?? true) : false;
    this.ignoreMerges = ignoreMerges;

    const special = this.resolveSpecialTokens(options.specialTokens ?? {}, warnings);
    this.specialTokens = special;
    this.endOfGeneration = this.findEndOfGeneration(special);
    if (this.addBos && special.bos === null) {
      throw new TokenizerMetadataError(
        'tokenizer.ggml.bos_token_id',
        'a token id, since add_bos_token is true',
        'none',
      );
    }
    if (this.addEos && special.eos === null) {
      throw new TokenizerMetadataError(
        'tokenizer.ggml.eos_token_id',
        'a token id, since add_eos_token is true',
        'none',
      );
    }
    this.warnings = warnings;

    this.special = new SpecialTokenSplitter(vocab.tokens, vocab.types);
    if (model === 'gpt2') {
      const spec = findPreTokenizer(this.pre as string) as PreTokenizerSpec;
      this.byteLevel = new ByteLevelBpe(vocab, {
        merges: options.merges as readonly Merge[],
        splitter: spec.splitter,
        ignoreMerges,
        cacheSize: options.cacheSize,
      });
    } else {
      this.sentencePiece = new SentencePieceBpe(vocab, options.scores, special.unk);
    }
    const { offsets, bytes, flags } = this.buildPieces();
    this.pieceOffsets = offsets;
    this.pieceBytes = bytes;
    this.tokenFlags = flags;
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  /** Token ids of a text, as llama.cpp's llama_tokenize(text, addSpecial, parseSpecial). */
  encode(text: string, options: EncodeOptions = {}): Uint32Array {
    if (typeof text !== 'string') throw new TypeError(`encode expects a string, got ${typeof text}`);
    const addSpecial = options.addSpecial ?? true;
    const parseSpecial = options.parseSpecial ?? false;
    text = wellFormed(text);
    const out = this.output;
    out.length = 0;
    if (addSpecial && this.addBos) out.push(this.specialTokens.bos as number);
    const { starts, ends } = this.special.partition(text, parseSpecial);
    let afterSpecial = true;
    for (let f = 0; f < starts.length; f++) {
      const start = starts[f];
      if (start < 0) {
        out.push(ends[f]);
        afterSpecial = true;
        continue;
      }
      if (this.byteLevel) this.byteLevel.encode(text, start, ends[f], out);
      else
        (this.sentencePiece as SentencePieceBpe).encode(text, start, ends[f], this.addSpacePrefix && afterSpecial, out);
      afterSpecial = false;
    }
    if (addSpecial && this.addEos) out.push(this.specialTokens.eos as number);
    const ids = out.result();
    // Do not keep a huge scratch buffer alive after one huge input.
    if (out.data.length > RETAINED_SCRATCH) out.data = new Uint32Array(1024);
    return ids;
  }

  /** Text of token ids; invalid UTF-8 becomes U+FFFD. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skipSpecial = options.skipSpecial ?? true;
    const strip = this.addSpacePrefix && (options.stripSpacePrefix ?? true);
    const { pieceOffsets, pieceBytes, tokenFlags } = this;
    const vocabSize = tokenFlags.length;
    let buffer = this.decodeBuffer;
    let length = 0;
    let fragmentStart = true;
    for (let i = 0, n = ids.length; i < n; i++) {
      const id = ids[i];
      // One test rejects negatives, fractions, NaN and ids ≥ 2^32.
      if (id >>> 0 !== id || id >= vocabSize) throw new TokenIdError(id, vocabSize);
      const flags = tokenFlags[id];
      let start = pieceOffsets[id];
      const end = pieceOffsets[id + 1];
      if (flags & FRAGMENT_END) {
        fragmentStart = true;
        if (skipSpecial && flags & SKIPPABLE) continue;
      } else {
        if (strip && fragmentStart && start < end && pieceBytes[start] === 0x20) start++;
        fragmentStart = false;
      }
      if (length + end - start > buffer.length) {
        const grown = new Uint8Array(Math.max(buffer.length * 2, length + end - start));
        grown.set(buffer.subarray(0, length));
        this.decodeBuffer = buffer = grown;
      }
      while (start < end) buffer[length++] = pieceBytes[start++];
    }
    const text = this.textDecoder.decode(buffer.subarray(0, length));
    if (buffer.length > RETAINED_SCRATCH * 4) this.decodeBuffer = new Uint8Array(1024);
    return text;
  }

  /** An incremental decoder with the same options and result as decode. */
  createDecoder(options: DecodeOptions = {}): StreamingDecoder {
    const skipSpecial = options.skipSpecial ?? true;
    const strip = this.addSpacePrefix && (options.stripSpacePrefix ?? true);
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    let fragmentStart = true;
    return {
      push: (id: number): string => {
        if (id >>> 0 !== id || id >= this.tokenFlags.length) throw new TokenIdError(id, this.tokenFlags.length);
        const flags = this.tokenFlags[id];
        let start = this.pieceOffsets[id];
        const end = this.pieceOffsets[id + 1];
        if (flags & FRAGMENT_END) {
          fragmentStart = true;
          if (skipSpecial && flags & SKIPPABLE) return '';
        } else {
          if (strip && fragmentStart && start < end && this.pieceBytes[start] === 0x20) start++;
          fragmentStart = false;
        }
        return decoder.decode(this.pieceBytes.subarray(start, end), { stream: true });
      },
      flush: (): string => {
        fragmentStart = true;
        return decoder.decode();
      },
    };
  }

  /** The vocabulary text of a token, e.g. "Ġhello", "▁hello", "<0x0A>". */
  tokenToPiece(id: number): string {
    this.checkId(id);
    return this.vocab.tokens[id];
  }

  /** The id of a vocabulary text, if it is one. */
  pieceToToken(piece: string): number | undefined {
    return this.vocab.id(piece);
  }

  /** The bytes a token decodes to (special tokens as their text, no space stripping). */
  tokenToBytes(id: number): Uint8Array {
    this.checkId(id);
    return this.pieceBytes.slice(this.pieceOffsets[id], this.pieceOffsets[id + 1]);
  }

  /** `tokenizer.ggml.token_type` of a token (after llama.cpp's control-token fixes). */
  tokenType(id: number): TokenType {
    this.checkId(id);
    return this.vocab.types[id] as TokenType;
  }

  /** True for tokens that end generation: eos, eot, eom and llama.cpp's list of such texts. */
  isEndOfGeneration(id: number): boolean {
    return this.endOfGeneration.has(id);
  }

  private checkId(id: number): void {
    if (id >>> 0 !== id || id >= this.vocab.size) throw new TokenIdError(id, this.vocab.size);
  }

  private resolveSpecialTokens(given: Partial<SpecialTokens>, warnings: string[]): SpecialTokens {
    const size = this.vocab.size;
    const special = defaultSpecialTokens(this.model);
    for (const key of SPECIAL_KEYS) {
      const fallback = special[key];
      if (fallback !== null && fallback >= size) {
        warnings.push(`default ${key} token ${fallback} is outside the vocabulary (${size}): none`);
        special[key] = null;
      }
      if (!Object.hasOwn(given, key) || given[key] === undefined) continue;
      const id = given[key];
      if (id === null) {
        special[key] = null;
      } else if (Number.isInteger(id) && id >= 0 && id < size) {
        special[key] = id;
      } else {
        warnings.push(`${key} token id ${id} is outside the vocabulary (${size}): keeping ${special[key]}`);
      }
    }
    const types = this.vocab.types;
    const markControl = (id: number): void => {
      if (types[id] !== TokenType.Control) types[id] = TokenType.Control;
    };
    const findByText = (texts: readonly string[]): number | null => {
      for (const text of texts) {
        const id = this.vocab.id(text);
        if (id !== undefined) return id;
      }
      return null;
    };
    if (special.eot === null) {
      special.eot = findByText(EOT_TEXTS);
      if (special.eot !== null) markControl(special.eot);
    }
    if (special.eom === null) {
      special.eom = findByText(EOM_TEXTS);
      if (special.eom !== null) markControl(special.eom);
    }
    return special;
  }

  private findEndOfGeneration(special: SpecialTokens): Set<number> {
    const ids = new Set<number>();
    for (const text of EOG_TEXTS) {
      const id = this.vocab.id(text);
      if (id === undefined) continue;
      ids.add(id);
      // llama.cpp marks such tokens as control even when the file says otherwise.
      this.vocab.types[id] = TokenType.Control;
    }
    for (const id of [special.eos, special.eot, special.eom]) if (id !== null) ids.add(id);
    return ids;
  }

  /** Bytes of every token, as llama.cpp's token_to_piece(special = true), in one buffer. */
  private buildPieces(): { offsets: Int32Array; bytes: Uint8Array; flags: Uint8Array } {
    const { tokens, types } = this.vocab;
    const n = tokens.length;
    const offsets = new Int32Array(n + 1);
    const flags = new Uint8Array(n);
    let bytes = new Uint8Array(n * 8 + 1024);
    let length = 0;
    const encoder = new TextEncoder();
    const hexByte = /^<0x([0-9A-Fa-f]{2})>$/;
    for (let id = 0; id < n; id++) {
      const text = tokens[id];
      const type = types[id];
      // Room for the worst case: 3 UTF-8 bytes per code unit.
      if (length + text.length * 3 > bytes.length) {
        const grown = new Uint8Array(Math.max(bytes.length * 2, length + text.length * 3));
        grown.set(bytes.subarray(0, length));
        bytes = grown;
      }
      if (type === TokenType.Control || type === TokenType.Unknown || type === TokenType.UserDefined) {
        length += encoder.encodeInto(text, bytes.subarray(length)).written;
        flags[id] = FRAGMENT_END | (type === TokenType.UserDefined ? 0 : SKIPPABLE);
      } else if (type === TokenType.Normal) {
        if (this.model === 'gpt2') length = writeByteLevel(text, bytes, length, encoder);
        else length += encoder.encodeInto(text.replaceAll('\u2581', ' '), bytes.subarray(length)).written;
      } else if (type === TokenType.Byte) {
        const match = hexByte.exec(text);
        if (match) bytes[length++] = Number.parseInt(match[1], 16);
      }
      // Unused and undefined tokens print nothing, as in llama.cpp.
      offsets[id + 1] = length;
    }
    return { offsets, bytes: bytes.slice(0, length), flags };
  }
}

/**
 * Reverses the GPT-2 byte map into `out` at `length`; returns the new length.
 * A character that is no byte's image is kept as its own UTF-8 (llama.cpp
 * prints "[UNK_BYTE_0x…]" there instead).
 */
function writeByteLevel(text: string, out: Uint8Array, length: number, encoder: TextEncoder): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const byte = c < CODE_POINT_TO_BYTE.length ? CODE_POINT_TO_BYTE[c] : -1;
    if (byte >= 0) {
      out[length++] = byte;
    } else {
      const wide = c >= 0xd800 && c < 0xdc00 && i + 1 < text.length;
      length += encoder.encodeInto(text.slice(i, wide ? i + 2 : i + 1), out.subarray(length)).written;
      if (wide) i++;
    }
  }
  return length;
}
