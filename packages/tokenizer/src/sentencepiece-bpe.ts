/**
 * SentencePiece BPE (`tokenizer.ggml.model = "llama"`), as llama.cpp's
 * llm_tokenizer_spm_session: the whole text fragment, spaces written as "▁"
 * (U+2581) and with a leading "▁" when add_space_prefix is set, starts as one
 * symbol per code point; the adjacent pair whose concatenation is a vocabulary
 * token with the highest score merges first (ties: leftmost), until no pair is
 * a token. A symbol that is not a token is emitted as byte-fallback tokens
 * `<0xXX>` of its UTF-8 bytes.
 *
 * llama.cpp's `resegment` also undoes merges recursively for symbols that are
 * not in the vocabulary. A merge only happens when the concatenation is a
 * vocabulary token, so every merged symbol is a token and only single code
 * points can miss: resegmenting reduces to the byte fallback, which is what we
 * implement.
 *
 * Speed: a merge can only join two symbols if some token contains their two
 * characters side by side. Where two neighbouring characters never occur
 * adjacent in any token, no merge will ever cross, so the text is cut there
 * and each piece (roughly a word) is merged on its own — the same result as
 * merging the whole text, since merges in different pieces never interact and
 * keep their relative order.
 */
import type { IdBuffer } from './id-buffer.js';
import { MergeEngine } from './merge.js';
import { PairTable } from './pair-table.js';
import type { Vocabulary } from './vocabulary.js';

const SPACE_MARK = 0x2581;

export class SentencePieceBpe {
  private readonly engine: MergeEngine;
  /** BMP code point → symbol id: vocabulary id, a virtual id (≥ vocab size), or -1. */
  private readonly bmpSymbol = new Int32Array(0x10000).fill(-1);
  private readonly astralSymbol = new Map<number, number>();
  /** Code points of virtual ids (id - vocab size): single characters that only occur inside tokens. */
  private readonly virtualCodePoints: number[] = [];
  /** Byte → `<0xXX>` token (or the one-byte token), -1 when the vocabulary has neither. */
  readonly byteTokens = new Int32Array(256).fill(-1);
  private codePoints = new Int32Array(64);
  private fragment = new Int32Array(64);
  /** (code point, code point) pairs that occur adjacent inside some token. */
  private readonly adjacent: PairTable;

  constructor(
    private readonly vocab: Vocabulary,
    scores: ArrayLike<number> | undefined,
    private readonly unk: number | null,
  ) {
    const size = vocab.size;
    // Priority = rank of the score among distinct scores, highest first.
    const scoreOf = (id: number): number => (scores ? Number(scores[id]) : 0);
    const distinct = [...new Set(Array.from({ length: size }, (_, id) => scoreOf(id)))].sort((a, b) => b - a);
    const rankOf = new Map(distinct.map((score, rank) => [score, rank]));

    for (let id = 0; id < size; id++) {
      const text = vocab.tokens[id];
      const cp = text.codePointAt(0) as number;
      if (text.length === (cp > 0xffff ? 2 : 1)) this.setSymbol(cp, id);
    }
    const virtualId = (cp: number): number => {
      const existing = this.symbolOf(cp);
      if (existing >= 0) return existing;
      const id = size + this.virtualCodePoints.length;
      this.virtualCodePoints.push(cp);
      this.setSymbol(cp, id);
      return id;
    };
    // Every split of every multi-character token into two tokens (or single characters) is a merge.
    // Only splits whose halves have the length of some token are looked up: a lookup hashes its
    // half, so trying every split of a long token from a file would take time quadratic in its length.
    const lengths = new Set<number>();
    for (const text of vocab.tokens) lengths.add(text.length);
    const pairs = new PairTable(size * 4);
    const priority: number[] = [];
    const result: number[] = [];
    for (let id = 0; id < size; id++) {
      const text = vocab.tokens[id];
      if (text.length < 2) continue;
      const tokenPriority = rankOf.get(scoreOf(id)) as number;
      for (let k = 1; k < text.length; k++) {
        const unit = text.charCodeAt(k);
        if (unit >= 0xdc00 && unit < 0xe000) continue;
        // A half of at most two code units may be one code point (a virtual symbol) without being a token.
        if ((k > 2 && !lengths.has(k)) || (text.length - k > 2 && !lengths.has(text.length - k))) continue;
        const left = this.pieceId(text, 0, k, virtualId);
        const right = this.pieceId(text, k, text.length, virtualId);
        if (left < 0 || right < 0) continue;
        if (pairs.add(left, right, priority.length)) {
          priority.push(tokenPriority);
          result.push(id);
        }
      }
    }
    this.engine = new MergeEngine({ pairs, priority: Int32Array.from(priority), result: Int32Array.from(result) });
    this.adjacent = new PairTable(size * 4);
    for (let id = 0; id < size; id++) {
      const text = vocab.tokens[id];
      let previous = -1;
      for (const char of text) {
        const cp = char.codePointAt(0) as number;
        if (previous >= 0) this.adjacent.add(previous, cp, 1);
        previous = cp;
      }
    }

    const hex = '0123456789ABCDEF';
    for (let b = 0; b < 256; b++) {
      const id =
        vocab.id(`<0x${hex[b >> 4]}${hex[b & 15]}>`) ?? (b < 0x80 ? vocab.id(String.fromCharCode(b)) : undefined);
      if (id !== undefined) this.byteTokens[b] = id;
    }
  }

  private setSymbol(cp: number, id: number): void {
    if (cp < 0x10000) this.bmpSymbol[cp] = id;
    else this.astralSymbol.set(cp, id);
  }

  private symbolOf(cp: number): number {
    return cp < 0x10000 ? this.bmpSymbol[cp] : (this.astralSymbol.get(cp) ?? -1);
  }

  /** Id text[start, end) has as a symbol: a token, or a virtual id for a single code point; -1 otherwise. */
  private pieceId(text: string, start: number, end: number, virtualId: (cp: number) => number): number {
    const id = this.vocab.index.find(text, start, end);
    if (id >= 0) return id;
    const cp = text.codePointAt(start) as number;
    return end - start === (cp > 0xffff ? 2 : 1) ? virtualId(cp) : -1;
  }

  /** Appends the ids of text[start, end); `spacePrefix` prepends "▁". */
  encode(text: string, start: number, end: number, spacePrefix: boolean, out: IdBuffer): void {
    const capacity = end - start + 1;
    if (this.fragment.length < capacity) {
      this.fragment = new Int32Array(capacity);
      this.codePoints = new Int32Array(capacity);
    }
    const { fragment, codePoints } = this;
    let n = 0;
    if (spacePrefix) {
      codePoints[n] = SPACE_MARK;
      fragment[n++] = this.bmpSymbol[SPACE_MARK];
    }
    for (let i = start; i < end; i++) {
      let cp = text.charCodeAt(i);
      if (cp === 0x20) cp = SPACE_MARK;
      else if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < end) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low < 0xe000) {
          cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          i++;
        }
      }
      codePoints[n] = cp;
      // A symbol that is no token keeps its position's code point for the byte fallback, as -2 - n.
      const id = cp < 0x10000 ? this.bmpSymbol[cp] : (this.astralSymbol.get(cp) ?? -1);
      fragment[n] = id >= 0 ? id : -2 - n;
      n++;
    }
    let pieceStart = 0;
    for (let i = 1; i <= n; i++) {
      if (i < n && this.adjacent.get(codePoints[i - 1], codePoints[i]) >= 0) continue;
      this.mergePiece(pieceStart, i, out);
      pieceStart = i;
    }
    // Do not keep huge scratch arrays alive after one huge input.
    if (fragment.length > 1 << 22) {
      this.fragment = new Int32Array(64);
      this.codePoints = new Int32Array(64);
    }
  }

  /** Merges fragment[start, end) and appends its ids. */
  private mergePiece(start: number, end: number, out: IdBuffer): void {
    const symbols = this.engine.reserve(end - start);
    const fragment = this.fragment;
    for (let i = start; i < end; i++) symbols[i - start] = fragment[i];
    const count = this.engine.merge(end - start);
    const vocabSize = this.vocab.size;
    for (let i = 0; i < count; i++) {
      const id = symbols[i];
      if (id >= 0 && id < vocabSize) out.push(id);
      else if (id >= vocabSize) this.pushBytes(this.virtualCodePoints[id - vocabSize], out);
      else this.pushBytes(this.codePoints[-2 - id], out);
    }
  }

  private pushBytes(cp: number, out: IdBuffer): void {
    if (cp < 0x80) this.pushByte(cp, out);
    else if (cp < 0x800) {
      this.pushByte(0xc0 | (cp >> 6), out);
      this.pushByte(0x80 | (cp & 0x3f), out);
    } else if (cp < 0x10000) {
      this.pushByte(0xe0 | (cp >> 12), out);
      this.pushByte(0x80 | ((cp >> 6) & 0x3f), out);
      this.pushByte(0x80 | (cp & 0x3f), out);
    } else {
      this.pushByte(0xf0 | (cp >> 18), out);
      this.pushByte(0x80 | ((cp >> 12) & 0x3f), out);
      this.pushByte(0x80 | ((cp >> 6) & 0x3f), out);
      this.pushByte(0x80 | (cp & 0x3f), out);
    }
  }

  private pushByte(byte: number, out: IdBuffer): void {
    const id = this.byteTokens[byte];
    // llama.cpp aborts when a byte has no token; the unknown token is the gentler answer.
    if (id >= 0) out.push(id);
    else if (this.unk !== null) out.push(this.unk);
  }
}
