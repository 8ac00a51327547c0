/**
 * Hand-written pre-tokenizers (the regex splitters of llama.cpp's
 * `unicode_regex_split_custom_*`), working on UTF-16 code units with the class
 * table from unicode.ts. Each one is exactly equal to its regex; the property
 * tests in pre-tokenizers.test.ts check that against the JavaScript regex.
 *
 * A splitter appends the end offset of every pre-token in [start, end) to a
 * `Boundaries` list. The text must be well-formed UTF-16 (see toWellFormed).
 */
import { classTable, LETTER, NUMBER, WHITESPACE } from './unicode.js';

/** Growable list of pre-token end offsets, reused across calls. */
export class Boundaries {
  ends = new Int32Array(256);
  count = 0;

  push(end: number): void {
    if (this.count === this.ends.length) {
      const grown = new Int32Array(this.ends.length * 2);
      grown.set(this.ends);
      this.ends = grown;
    }
    this.ends[this.count++] = end;
  }
}

export type Splitter = (text: string, start: number, end: number, out: Boundaries) => void;

/** Added to class bits by classAt when the code point takes two code units. */
export const ASTRAL = 16;
const WORDLIKE = WHITESPACE | LETTER | NUMBER;

// Built when this module loads (a few milliseconds): module-level consts keep the hot loops free of
// initialisation checks.
const { ascii: asciiClass, blockIndex, blocks } = classTable();

// Run scanners, one per class so each loop tests a constant mask. ASCII takes the direct table.

/** End of the run of letters starting at p. */
function letterRunEnd(text: string, p: number, end: number): number {
  while (p < end) {
    const u = text.charCodeAt(p);
    if (u < 0x80) {
      if ((asciiClass[u] & LETTER) === 0) return p;
      p++;
    } else {
      const g = classAtNonAscii(text, p, u);
      if ((g & LETTER) === 0) return p;
      p += g & ASTRAL ? 2 : 1;
    }
  }
  return p;
}

/** End of the run of numbers starting at p. */
function numberRunEnd(text: string, p: number, end: number): number {
  while (p < end) {
    const u = text.charCodeAt(p);
    if (u < 0x80) {
      if ((asciiClass[u] & NUMBER) === 0) return p;
      p++;
    } else {
      const g = classAtNonAscii(text, p, u);
      if ((g & NUMBER) === 0) return p;
      p += g & ASTRAL ? 2 : 1;
    }
  }
  return p;
}

/** End of the run of code points that are neither whitespace, letters nor numbers. */
function otherRunEnd(text: string, p: number, end: number): number {
  while (p < end) {
    const u = text.charCodeAt(p);
    if (u < 0x80) {
      if ((asciiClass[u] & WORDLIKE) !== 0) return p;
      p++;
    } else {
      const g = classAtNonAscii(text, p, u);
      if ((g & WORDLIKE) !== 0) return p;
      p += g & ASTRAL ? 2 : 1;
    }
  }
  return p;
}

/** End of the run of whitespace starting at p (White_Space is all in the BMP). */
function spaceRunEnd(text: string, p: number, end: number): number {
  while (p < end) {
    const u = text.charCodeAt(p);
    if (((u < 0x80 ? asciiClass[u] : classAtNonAscii(text, p, u)) & WHITESPACE) === 0) return p;
    p++;
  }
  return p;
}

/** Class bits of the code point at i, plus ASTRAL when it takes two code units. */
export function classAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 0x80 ? asciiClass[c] : classAtNonAscii(text, i, c);
}

function classAtNonAscii(text: string, i: number, c: number): number {
  if (c >= 0xd800 && c < 0xdc00) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d < 0xe000) {
      const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
      return blocks[(blockIndex[cp >> 8] << 8) | (cp & 0xff)] | ASTRAL;
    }
  }
  return blocks[(blockIndex[c >> 8] << 8) | (c & 0xff)];
}

const APOSTROPHE = 0x27;
const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/** Length of a contraction ('s 't 're 've 'm 'll 'd) at pos, 0 if none. */
function contraction(text: string, pos: number, end: number, caseInsensitive: boolean): number {
  if (pos + 1 >= end) return 0;
  let a = text.charCodeAt(pos + 1);
  // llama.cpp lower-cases with unicode_tolower; no non-ASCII letter lower-cases to s t m d r v e l.
  if (caseInsensitive && a >= 0x41 && a <= 0x5a) a += 0x20;
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2;
  if (pos + 2 >= end) return 0;
  let b = text.charCodeAt(pos + 2);
  if (caseInsensitive && b >= 0x41 && b <= 0x5a) b += 0x20;
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3;
  return 0;
}

/**
 * End of the whitespace alternatives `\s+(?!\S)|\s+` starting at pos (a
 * whitespace code point): a run followed by a non-space keeps its last space
 * for the next word. White_Space code points are all in the BMP.
 */
function whitespaceRunEnd(text: string, pos: number, end: number): number {
  const q = spaceRunEnd(text, pos + 1, end);
  return q - pos > 1 && q < end ? q - 1 : q;
}

/** GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` */
export const splitGpt2: Splitter = (text, start, end, out) => {
  let pos = start;
  while (pos < end) {
    const c = text.charCodeAt(pos);
    if (c === APOSTROPHE) {
      const n = contraction(text, pos, end, false);
      if (n > 0) {
        pos += n;
        out.push(pos);
        continue;
      }
    }
    // The optional leading space belongs to the word, number or symbol run after it.
    let p = pos;
    let f: number;
    if (c === SPACE) {
      p = pos + 1;
      f = p < end ? classAt(text, p) : WHITESPACE;
    } else {
      f = c < 0x80 ? asciiClass[c] : classAt(text, pos);
    }
    if (!(f & WHITESPACE)) {
      if (f & LETTER) p = letterRunEnd(text, p, end);
      else if (f & NUMBER) p = numberRunEnd(text, p, end);
      else p = otherRunEnd(text, p, end);
      out.push(p);
      pos = p;
      continue;
    }
    pos = whitespaceRunEnd(text, pos, end);
    out.push(pos);
  }
};

/**
 * The Llama-3 pattern family, as llama.cpp runs it, with numbers taken
 * `digitsPerPiece` at a time (`\p{N}{1,3}` for Llama-3, `\p{N}` for Qwen2):
 * `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
 */
function llama3Family(digitsPerPiece: number): Splitter {
  return (text, start, end, out) => {
    let pos = start;
    while (pos < end) {
      const c = text.charCodeAt(pos);
      if (c === APOSTROPHE) {
        const n = contraction(text, pos, end, true);
        if (n > 0) {
          pos += n;
          out.push(pos);
          continue;
        }
      }
      const f = c < 0x80 ? asciiClass[c] : classAt(text, pos);
      const width = f & ASTRAL ? 2 : 1;
      // [^\r\n\p{L}\p{N}]?\p{L}+
      if (c !== CR && c !== LF && !(f & NUMBER)) {
        if (f & LETTER || (pos + width < end && classAt(text, pos + width) & LETTER)) {
          const p = letterRunEnd(text, pos + width, end);
          out.push(p);
          pos = p;
          continue;
        }
      }
      // \p{N}{1,digitsPerPiece}
      if (f & NUMBER) {
        let p = pos;
        let digits = 0;
        while (p < end) {
          const g = classAt(text, p);
          if (!(g & NUMBER)) break;
          p += g & ASTRAL ? 2 : 1;
          if (++digits === digitsPerPiece) {
            out.push(p);
            digits = 0;
          }
        }
        if (digits > 0) out.push(p);
        pos = p;
        continue;
      }
      // ' ?[^\s\p{L}\p{N}]+[\r\n]*'; a lone trailing space also ends up here, as in llama.cpp.
      const afterSpace = c === SPACE ? (pos + 1 < end ? classAt(text, pos + 1) : 0) : f;
      if (!(afterSpace & WORDLIKE)) {
        let p = otherRunEnd(text, c === SPACE ? pos + 1 : pos, end);
        while (p < end) {
          const d = text.charCodeAt(p);
          if (d !== CR && d !== LF) break;
          p++;
        }
        out.push(p);
        pos = p;
        continue;
      }
      // \s*[\r\n]+ takes the run up to its last line break; otherwise \s+(?!\S)|\s+.
      let q = pos;
      let afterLastBreak = -1;
      while (q < end) {
        const d = text.charCodeAt(q);
        if (!(classAt(text, q) & WHITESPACE)) break;
        q++;
        if (d === CR || d === LF) afterLastBreak = q;
      }
      if (afterLastBreak > 0) q = afterLastBreak;
      else if (q - pos > 1 && q < end) q--;
      out.push(q);
      pos = q;
    }
  };
}

/** Llama-3 (`llama3`, `llama-bpe` …): the Llama-3 pattern with `\p{N}{1,3}`. */
export const splitLlama3: Splitter = llama3Family(3);

/**
 * Qwen2 (`qwen2`, `stablelm2` …): the Llama-3 pattern with `\p{N}`, one number per pre-token:
 * `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
 */
export const splitQwen2: Splitter = llama3Family(1);

/** Splits with a splitter and returns the pieces, for tests and debugging. */
export function splitToStrings(splitter: Splitter, text: string): string[] {
  const out = new Boundaries();
  splitter(text, 0, text.length, out);
  const pieces: string[] = [];
  let start = 0;
  for (let i = 0; i < out.count; i++) {
    pieces.push(text.slice(start, out.ends[i]));
    start = out.ends[i];
  }
  return pieces;
}
