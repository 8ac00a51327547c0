/**
 * Pre-tokenizers that llama.cpp runs as a list of patterns (docs/formats.md
 * §Sequential pre-tokenizers): the first pattern splits the text into its
 * matches and the unmatched gaps between them, each later pattern splits every
 * piece the previous one produced in the same way, and the last one's pieces
 * are the pre-tokens.
 *
 * Every pattern here is a `Splitter` that covers [start, end) with matches and
 * gaps. The GPT-2 pattern is the hand-written splitGpt2; the others are small
 * shapes (`X`, `X+`, `\s?X+`, `\s+$`, `[0-9]{3}`) over a code point set,
 * matched leftmost-first as std::regex does.
 */
import { ASTRAL, Boundaries, classAt, type Splitter, splitGpt2 } from './pre-tokenizers.js';
import { LETTER, NUMBER, PUNCTUATION, WHITESPACE } from './unicode.js';

/** Code units of the code point at i when it is in the set, 0 when it is not. */
type Member = (text: string, i: number) => number;

/**
 * A `\p{…}` class as llama.cpp matches it: the class bits of unicode.ts, plus
 * the listed ASCII characters.
 */
function classMember(bits: number, asciiExtra = ''): Member {
  const extra = new Uint8Array(0x80);
  for (const ch of asciiExtra) extra[ch.charCodeAt(0)] = 1;
  return (text, i) => {
    const c = text.charCodeAt(i);
    if (c < 0x80) return extra[c] || classAt(text, i) & bits ? 1 : 0;
    const g = classAt(text, i);
    return g & bits ? (g & ASTRAL ? 2 : 1) : 0;
  };
}

/**
 * A literal class of inclusive code point ranges (sorted, disjoint). llama.cpp
 * matches such patterns after replacing every non-ASCII White_Space code point
 * by U+000B, so those never belong to the class, even when a range covers them.
 */
function rangeMember(ranges: readonly (readonly [number, number])[]): Member {
  const starts = Int32Array.from(ranges, (r) => r[0]);
  const ends = Int32Array.from(ranges, (r) => r[1]);
  return (text, i) => {
    const cp = text.codePointAt(i) as number;
    if (cp >= 0x80 && classAt(text, i) & WHITESPACE) return 0;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cp < starts[mid]) hi = mid - 1;
      else if (cp > ends[mid]) lo = mid + 1;
      else return cp > 0xffff ? 2 : 1;
    }
    return 0;
  };
}

const whitespace: Member = (text, i) => (classAt(text, i) & WHITESPACE ? 1 : 0);

function codeUnitsAt(text: string, i: number): number {
  return classAt(text, i) & ASTRAL ? 2 : 1;
}

/**
 * A pattern given by `matchEnd(p)`: the end of its match starting at p, or -1.
 * Tried at each position from the left, as a regex iterator does; what lies
 * between matches is kept as gap pieces.
 */
function pattern(matchEnd: (text: string, p: number, end: number) => number): Splitter {
  return (text, start, end, out) => {
    let gapStart = start;
    let p = start;
    while (p < end) {
      const q = matchEnd(text, p, end);
      if (q < 0) {
        p += codeUnitsAt(text, p);
        continue;
      }
      if (gapStart < p) out.push(p);
      out.push(q);
      gapStart = p = q;
    }
    if (gapStart < end) out.push(end);
  };
}

function runEnd(member: Member, text: string, p: number, end: number): number {
  while (p < end) {
    const n = member(text, p);
    if (n === 0) break;
    p += n;
  }
  return p;
}

/** `X`: each member code point on its own. */
function each(member: Member): Splitter {
  return pattern((text, p) => {
    const n = member(text, p);
    return n > 0 ? p + n : -1;
  });
}

/** `X+`. */
function runs(member: Member): Splitter {
  return pattern((text, p, end) => (member(text, p) > 0 ? runEnd(member, text, p, end) : -1));
}

/** `\s?X+`: a whitespace code point joins the run that follows it. */
function spaceThenRuns(member: Member): Splitter {
  return pattern((text, p, end) => {
    if (whitespace(text, p) && p + 1 < end && member(text, p + 1) > 0) return runEnd(member, text, p + 1, end);
    return member(text, p) > 0 ? runEnd(member, text, p, end) : -1;
  });
}

/** `\s+$`: the whitespace at the end of the piece (White_Space is all in the BMP). */
const trailingWhitespace: Splitter = (text, start, end, out) => {
  let p = end;
  while (p > start && whitespace(text, p - 1)) p--;
  if (p > start) out.push(p);
  if (p < end) out.push(end);
};

function isAsciiDigit(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 0x30 && c <= 0x39;
}

/** `[0-9][0-9][0-9]`. */
const asciiDigitTriples = pattern((text, p, end) =>
  p + 3 <= end && isAsciiDigit(text, p) && isAsciiDigit(text, p + 1) && isAsciiDigit(text, p + 2) ? p + 3 : -1,
);

/** The patterns in order, each splitting the pieces of the one before. */
export function inSequence(patterns: readonly Splitter[]): Splitter {
  // Two scratch lists per sequence, alternating: one holds the previous pattern's pieces.
  const scratch = [new Boundaries(), new Boundaries()];
  return (text, start, end, out) => {
    let previous: Boundaries | undefined;
    for (let k = 0; k < patterns.length; k++) {
      const split = patterns[k];
      const target = k === patterns.length - 1 ? out : scratch[k % 2];
      if (target !== out) target.count = 0;
      if (previous === undefined) {
        split(text, start, end, target);
      } else {
        let pieceStart = start;
        for (let i = 0; i < previous.count; i++) {
          const pieceEnd = previous.ends[i];
          split(text, pieceStart, pieceEnd, target);
          pieceStart = pieceEnd;
        }
      }
      previous = target;
    }
  };
}

const lineBreak = rangeMember([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
]);

/**
 * llama.cpp's `default` pre-tokenizer (`tokenizer.ggml.pre` missing or
 * "default"): `[\p{P}\$\+<=>\^~\|]+`, the GPT-2 pattern, `\p{N}+`, `[0-9][0-9][0-9]`.
 */
export const splitDefault: Splitter = inSequence([
  runs(classMember(PUNCTUATION, '$+<=>^~|')),
  splitGpt2,
  runs(classMember(NUMBER)),
  asciiDigitTriples,
]);

/** Falcon: `[\p{P}\$\+<=>\^~\|`]+`, the GPT-2 pattern, `[0-9][0-9][0-9]`. */
export const splitFalcon: Splitter = inSequence([
  runs(classMember(PUNCTUATION, '$+<=>^~|`')),
  splitGpt2,
  asciiDigitTriples,
]);

/** StarCoder (`starcoder`, `refact`, `command-r`, `smollm` …): `\p{N}`, then the GPT-2 pattern. */
export const splitStarCoder: Splitter = inSequence([each(classMember(NUMBER)), splitGpt2]);

/** DeepSeek's CJK pattern `[一-龥ࠀ-一가-퟿]+`: U+4E00–U+9FA5, U+0800–U+4E00, U+AC00–U+D7FF. */
const DEEPSEEK_CJK: readonly (readonly [number, number])[] = [
  [0x0800, 0x9fa5],
  [0xac00, 0xd7ff],
];

/**
 * DeepSeek-LLM's cased-letter class (Latin, Greek, Cyrillic, Armenian, Georgian,
 * Cherokee, Glagolitic, Coptic, Deseret, Osage, Old Hungarian, Warang Citi,
 * Adlam, full-width Latin …), as the code point ranges its pattern lists.
 */
const DEEPSEEK_LLM_LETTERS: readonly (readonly [number, number])[] = [
  [0x41, 0x5a],
  [0x61, 0x7a],
  [0xb5, 0xb5],
  [0xc0, 0xd6],
  [0xd8, 0xf6],
  [0xf8, 0x1ba],
  [0x1bc, 0x1bf],
  [0x1c4, 0x293],
  [0x295, 0x2af],
  [0x370, 0x373],
  [0x376, 0x377],
  [0x37b, 0x37d],
  [0x37f, 0x37f],
  [0x386, 0x386],
  [0x388, 0x38a],
  [0x38c, 0x38c],
  [0x38e, 0x3a1],
  [0x3a3, 0x3f5],
  [0x3f7, 0x481],
  [0x48a, 0x52f],
  [0x531, 0x556],
  [0x10a0, 0x10c5],
  [0x13a0, 0x13f5],
  [0x13f8, 0x13fd],
  [0x1c90, 0x1cba],
  [0x1cbd, 0x1cbf],
  [0x1d00, 0x1d2b],
  [0x1d6b, 0x1d77],
  [0x1d79, 0x1d9a],
  [0x1e00, 0x1f15],
  [0x1f18, 0x1f1d],
  [0x1f20, 0x1f45],
  [0x1f48, 0x1f4d],
  [0x1f50, 0x1f57],
  [0x1f59, 0x1f59],
  [0x1f5b, 0x1f5b],
  [0x1f5d, 0x1f5d],
  [0x1f5f, 0x1f7d],
  [0x1f80, 0x1fb4],
  [0x1fb6, 0x1fbc],
  [0x1fbe, 0x1fbe],
  [0x1fc2, 0x1fc4],
  [0x1fc6, 0x1fcc],
  [0x1fd0, 0x1fd3],
  [0x1fd6, 0x1fdb],
  [0x1fe0, 0x1fec],
  [0x1ff2, 0x1ff4],
  [0x1ff6, 0x1ffc],
  [0x2102, 0x2102],
  [0x2107, 0x2107],
  [0x210a, 0x2113],
  [0x2115, 0x2115],
  [0x2119, 0x211d],
  [0x2124, 0x2124],
  [0x2126, 0x2126],
  [0x2128, 0x2128],
  [0x212a, 0x212d],
  [0x212f, 0x2134],
  [0x2139, 0x2139],
  [0x213c, 0x213f],
  [0x2145, 0x2149],
  [0x214e, 0x214e],
  [0x2183, 0x2184],
  [0x2c00, 0x2c7b],
  [0x2c7e, 0x2ce4],
  [0x2ceb, 0x2cee],
  [0x2cf2, 0x2cf3],
  [0xa640, 0xa66d],
  [0xa680, 0xa69b],
  [0xa722, 0xa76f],
  [0xa771, 0xa787],
  [0xa78b, 0xa78e],
  [0xab70, 0xabbf],
  [0xfb00, 0xfb06],
  [0xfb13, 0xfb17],
  [0xff21, 0xff3a],
  [0xff41, 0xff5a],
  [0x10400, 0x1044f],
  [0x104b0, 0x104d3],
  [0x104d8, 0x104fb],
  [0x10c80, 0x10cb2],
  [0x10cc0, 0x10cf2],
  [0x118a0, 0x118df],
  [0x1e900, 0x1e943],
];

/** DeepSeek-LLM's punctuation class `[!-/:-~！-／：-～‘-‟　-。]` (ASCII `:-~` includes the letters). */
const DEEPSEEK_LLM_PUNCTUATION: readonly (readonly [number, number])[] = [
  [0x21, 0x2f],
  [0x3a, 0x7e],
  [0x2018, 0x201f],
  [0x3000, 0x3002],
  [0xff01, 0xff0f],
  [0xff1a, 0xff5e],
];

/**
 * DeepSeek-LLM: `[\r\n]`, `\s?[cased letters]+`, `\s?[!-/:-~！-／：-～‘-‟　-。]+`,
 * `\s+$`, `[一-龥ࠀ-一가-퟿]+`, `\p{N}+`.
 */
export const splitDeepSeekLlm: Splitter = inSequence([
  each(lineBreak),
  spaceThenRuns(rangeMember(DEEPSEEK_LLM_LETTERS)),
  spaceThenRuns(rangeMember(DEEPSEEK_LLM_PUNCTUATION)),
  trailingWhitespace,
  runs(rangeMember(DEEPSEEK_CJK)),
  runs(classMember(NUMBER)),
]);

/** DeepSeek-Coder: `[\r\n]`, `\s?\p{L}+`, `\s?\p{P}+`, `[一-龥ࠀ-一가-퟿]+`, `\p{N}`. */
export const splitDeepSeekCoder: Splitter = inSequence([
  each(lineBreak),
  spaceThenRuns(classMember(LETTER)),
  spaceThenRuns(classMember(PUNCTUATION)),
  runs(rangeMember(DEEPSEEK_CJK)),
  each(classMember(NUMBER)),
]);
