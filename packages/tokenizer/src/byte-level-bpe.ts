/**
 * Byte-level BPE (`tokenizer.ggml.model = "gpt2"`), as llama.cpp's
 * llm_tokenizer_bpe_session: pre-tokenize, map each UTF-8 byte of a pre-token
 * to GPT-2's byte-level code point, merge adjacent pairs by lowest merge rank,
 * look the symbols up in the vocabulary.
 *
 * Everything runs on integer ids. A merge whose halves or result are not
 * vocabulary tokens still takes part, with an "extended" id above the
 * vocabulary, because llama.cpp merges by string and only looks symbols up at
 * the end; an extended symbol left at the end falls back to its single-byte
 * characters, as llama.cpp does.
 */
import { BYTE_TO_CODE_POINT } from './byte-map.js';
import { TokenizerMetadataError } from './errors.js';
import type { IdBuffer } from './id-buffer.js';
import { MergeEngine } from './merge.js';
import { PairTable } from './pair-table.js';
import { Boundaries, type Splitter } from './pre-tokenizers.js';
import type { Vocabulary } from './vocabulary.js';
import { WordCache } from './word-cache.js';

export type Merge = string | readonly [string, string];

/** Pre-tokens longer than this (in UTF-16 code units) bypass the cache. */
const MAX_CACHED_LENGTH = 256;

export interface ByteLevelOptions {
  merges: readonly Merge[];
  splitter: Splitter;
  ignoreMerges: boolean;
  /** Cache entries kept at most (default 16384). */
  cacheSize?: number;
}

export class ByteLevelBpe {
  private readonly engine: MergeEngine;
  /** Byte → id of its byte-level character (vocabulary or extended), -1 if it has neither. */
  private readonly byteSymbol = new Int32Array(256);
  /** Texts of extended ids (id - vocabulary size). */
  private readonly extendedTexts: string[] = [];
  private readonly extendedFallback: (Uint32Array | undefined)[] = [];
  /**
   * Bounded cache in two generations of cacheSize / 2 entries: when the
   * current one fills up it becomes the previous one and the old previous one
   * is dropped; a hit in the previous generation is copied forward. Frequent
   * pre-tokens so survive any amount of new text, at a memory cost of at most
   * cacheSize entries.
   */
  private current: WordCache;
  private previous: WordCache;
  private readonly boundaries = new Boundaries();
  private bytes = new Uint8Array(256);
  /** Byte-level code units of a word, for the ignore_merges lookup. */
  private codes = new Uint16Array(256);
  private readonly splitter: Splitter;
  private readonly ignoreMerges: boolean;
  readonly mergeCount: number;

  constructor(
    private readonly vocab: Vocabulary,
    options: ByteLevelOptions,
  ) {
    this.splitter = options.splitter;
    this.ignoreMerges = options.ignoreMerges;
    const generation = Math.max(1, Math.ceil((options.cacheSize ?? 16384) / 2));
    this.current = new WordCache(generation);
    this.previous = new WordCache(generation);
    const merges = options.merges;
    this.mergeCount = merges.length;
    const pairs = new PairTable(merges.length);
    const priority = new Int32Array(merges.length);
    const result = new Int32Array(merges.length);
    const extendedIds = new Map<string, number>();
    const { index } = vocab;
    const extendedId = (text: string): number => {
      const id = extendedIds.get(text);
      if (id !== undefined) return id;
      const extended = vocab.size + this.extendedTexts.length;
      this.extendedTexts.push(text);
      extendedIds.set(text, extended);
      return extended;
    };
    for (let rank = 0; rank < merges.length; rank++) {
      const merge = merges[rank];
      let left: number;
      let right: number;
      let joined: number;
      if (typeof merge === 'string') {
        // llama.cpp splits at the first space after position 0; a merge without one is ignored.
        const space = merge.indexOf(' ', 1);
        if (space < 0) continue;
        const end = merge.length;
        left = index.find(merge, 0, space);
        if (left < 0) left = extendedId(merge.slice(0, space));
        right = index.find(merge, space + 1, end);
        if (right < 0) right = extendedId(merge.slice(space + 1));
        joined = index.findJoined(merge, 0, space, merge, space + 1, end);
        if (joined < 0) joined = extendedId(merge.slice(0, space) + merge.slice(space + 1));
      } else if (
        Array.isArray(merge) &&
        merge.length === 2 &&
        typeof merge[0] === 'string' &&
        typeof merge[1] === 'string'
      ) {
        const [a, b] = merge;
        left = index.get(a);
        if (left < 0) left = extendedId(a);
        right = index.get(b);
        if (right < 0) right = extendedId(b);
        joined = index.findJoined(a, 0, a.length, b, 0, b.length);
        if (joined < 0) joined = extendedId(a + b);
      } else {
        throw new TokenizerMetadataError(
          `tokenizer.ggml.merges[${rank}]`,
          '"left right" or [left, right]',
          String(merge),
        );
      }
      priority[rank] = rank;
      result[rank] = joined;
      pairs.add(left, right, rank);
    }
    for (let b = 0; b < 256; b++) {
      const char = String.fromCharCode(BYTE_TO_CODE_POINT[b]);
      this.byteSymbol[b] = vocab.id(char) ?? extendedIds.get(char) ?? -1;
    }
    this.engine = new MergeEngine({ pairs, priority, result });
  }

  /** Appends the ids of text[start, end). */
  encode(text: string, start: number, end: number, out: IdBuffer): void {
    const bounds = this.boundaries;
    bounds.count = 0;
    this.splitter(text, start, end, bounds);
    const ends = bounds.ends;
    let wordStart = start;
    for (let i = 0; i < bounds.count; i++) {
      const wordEnd = ends[i];
      if (wordEnd - wordStart > MAX_CACHED_LENGTH) {
        // Long runs (whitespace, minified code) rarely repeat: merge them without caching.
        const count = this.encodeWord(text, wordStart, wordEnd);
        for (let k = 0; k < count; k++) out.push(this.result[k]);
        wordStart = wordEnd;
        continue;
      }
      const hash = WordCache.hash(text, wordStart, wordEnd);
      let cache = this.current;
      let slot = cache.find(text, wordStart, wordEnd, hash);
      if (slot < 0) {
        const previous = this.previous;
        const old = previous.find(text, wordStart, wordEnd, hash);
        let count: number;
        if (old >= 0) {
          this.reserveResult(wordEnd - wordStart);
          count = previous.idsAt(old, this.result);
        } else {
          count = this.encodeWord(text, wordStart, wordEnd);
        }
        if (cache.full) {
          previous.clear();
          this.previous = cache;
          this.current = cache = previous;
          slot = cache.find(text, wordStart, wordEnd, hash);
        }
        slot = cache.insert(-1 - slot, text, wordStart, wordEnd, hash, this.result, count);
      }
      cache.copyTo(slot, out);
      wordStart = wordEnd;
    }
    // Do not keep a huge boundary list alive after one huge input.
    if (bounds.ends.length > 1 << 22) bounds.ends = new Int32Array(256);
  }

  /** Ids of the last encodeWord. */
  private result = new Int32Array(64);

  private reserveResult(length: number): void {
    if (this.result.length < length * 3) this.result = new Int32Array(length * 3);
  }

  /** BPE of the pre-token text[start, end) into this.result; returns the id count. */
  encodeWord(text: string, start: number, end: number): number {
    const n = this.toUtf8(text, start, end);
    const bytes = this.bytes;
    if (this.ignoreMerges) {
      if (this.codes.length < n) this.codes = new Uint16Array(n * 2);
      const codes = this.codes;
      for (let i = 0; i < n; i++) codes[i] = BYTE_TO_CODE_POINT[bytes[i]];
      const whole = this.vocab.index.findCodes(codes, n);
      if (whole >= 0) {
        this.reserveResult(1);
        this.result[0] = whole;
        return 1;
      }
    }
    const symbols = this.engine.reserve(n);
    const byteSymbol = this.byteSymbol;
    for (let i = 0; i < n; i++) symbols[i] = byteSymbol[bytes[i]];
    const count = this.engine.merge(n);
    this.reserveResult(n);
    const result = this.result;
    const vocabSize = this.vocab.size;
    let k = 0;
    for (let i = 0; i < count; i++) {
      const id = symbols[i];
      if (id >= 0 && id < vocabSize) result[k++] = id;
      else if (id >= vocabSize) for (const fallback of this.fallback(id)) result[k++] = fallback;
    }
    return k;
  }

  /**
   * llama.cpp looks each byte of a non-vocabulary symbol's UTF-8 text up as a
   * one-byte token: only ASCII byte-level characters can match.
   */
  private fallback(id: number): Uint32Array {
    const index = id - this.vocab.size;
    let ids = this.extendedFallback[index];
    if (ids === undefined) {
      const found: number[] = [];
      for (const char of this.extendedTexts[index]) {
        const single = char.charCodeAt(0) < 0x80 ? this.vocab.id(char) : undefined;
        if (single !== undefined) found.push(single);
      }
      ids = Uint32Array.from(found);
      this.extendedFallback[index] = ids;
    }
    return ids;
  }

  /** UTF-8 of well-formed text[start, end) into this.bytes; returns the byte count. */
  private toUtf8(word: string, start: number, end: number): number {
    if (this.bytes.length < (end - start) * 3) this.bytes = new Uint8Array((end - start) * 3 + 16);
    const bytes = this.bytes;
    let n = 0;
    for (let i = start; i < end; i++) {
      const c = word.charCodeAt(i);
      if (c < 0x80) bytes[n++] = c;
      else if (c < 0x800) {
        bytes[n++] = 0xc0 | (c >> 6);
        bytes[n++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c < 0xdc00) {
        const cp = ((c - 0xd800) << 10) + (word.charCodeAt(++i) - 0xdc00) + 0x10000;
        bytes[n++] = 0xf0 | (cp >> 18);
        bytes[n++] = 0x80 | ((cp >> 12) & 0x3f);
        bytes[n++] = 0x80 | ((cp >> 6) & 0x3f);
        bytes[n++] = 0x80 | (cp & 0x3f);
      } else {
        bytes[n++] = 0xe0 | (c >> 12);
        bytes[n++] = 0x80 | ((c >> 6) & 0x3f);
        bytes[n++] = 0x80 | (c & 0x3f);
      }
    }
    return n;
  }

  get cacheEntries(): number {
    return this.current.size + this.previous.size;
  }
}
