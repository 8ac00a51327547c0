import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Splitter, splitDefault, splitGpt2, splitLlama3, splitToStrings } from './pre-tokenizers.js';
import { trickyString } from './test-strings.js';
import { WHITESPACE_CLASS_BODY } from './unicode.js';

// The patterns with \s and \S spelled as White_Space, which llama.cpp, HF tokenizers and tiktoken use.
const S = `[${WHITESPACE_CLASS_BODY}]`;
const NOT_S = `[^${WHITESPACE_CLASS_BODY}]`;
const GPT2 = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WHITESPACE_CLASS_BODY}\\p{L}\\p{N}]+|${S}+(?!${NOT_S})|${S}+`,
  'gu',
);
const LLAMA3 = new RegExp(
  `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${WHITESPACE_CLASS_BODY}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?!${NOT_S})|${S}+`,
  'gu',
);
// The same patterns with JavaScript's own \s, as gpt-3-encoder, gpt-tokenizer, js-tiktoken and llama3-tokenizer-js use them.
const GPT2_JS = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const LLAMA3_JS =
  /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
// Hugging Face's original Llama-3 form: (?i:'s|…) case-folds with Unicode rules. JavaScript has no
// scoped (?i:), so the whole pattern gets the i flag; that also case-folds the classes (U+0345
// folds to a letter), so the comparison below keeps to letters, digits, whitespace and ASCII.
const LLAMA3_HF =
  /'s|'t|'re|'ve|'m|'ll|'d|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/giu;

/** Matches and the unmatched gaps between them, as llama.cpp's unicode_regex_split_stl keeps both. */
function regexSplit(regex: RegExp, text: string): string[] {
  const out: string[] = [];
  let previous = 0;
  for (const match of text.matchAll(regex)) {
    const index = match.index as number;
    if (index > previous) out.push(text.slice(previous, index));
    if (match[0].length > 0) out.push(match[0]);
    previous = index + match[0].length;
  }
  if (previous < text.length) out.push(text.slice(previous));
  return out;
}

/** llama.cpp's default pre-tokenizer, pattern by pattern, each splitting the previous pieces. */
function defaultByRegex(text: string): string[] {
  const stages = [/[\p{P}$+<=>^~|]+/gu, GPT2, /\p{N}+/gu, /[0-9][0-9][0-9]/gu];
  let pieces = [text];
  for (const stage of stages) pieces = pieces.flatMap((piece) => regexSplit(stage, piece));
  return pieces.filter((p) => p.length > 0);
}

const split = (splitter: Splitter, text: string) => splitToStrings(splitter, text);

describe('GPT-2 splitter', () => {
  it('splits known examples', () => {
    expect(split(splitGpt2, "Hello world! I'M here, don't")).toEqual([
      'Hello',
      ' world',
      '!',
      ' I',
      "'",
      'M',
      ' here',
      ',',
      ' don',
      "'t",
    ]);
    expect(split(splitGpt2, 'x = 12345;   \n\ty  ')).toEqual(['x', ' =', ' 12345', ';', '   \n', '\t', 'y', '  ']);
    expect(split(splitGpt2, '')).toEqual([]);
  });

  it('equals the regex on random strings (White_Space as \\s)', () => {
    fc.assert(
      fc.property(trickyString(), (s) => {
        expect(split(splitGpt2, s)).toEqual(regexSplit(GPT2, s));
      }),
      { numRuns: 3000 },
    );
  });

  it('equals the JavaScript-\\s regex on strings without U+0085 and U+FEFF', () => {
    fc.assert(
      fc.property(
        trickyString().map((s) => s.replace(/[\u0085\ufeff]/g, '')),
        (s) => {
          expect(split(splitGpt2, s)).toEqual(regexSplit(GPT2_JS, s));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('differs from JavaScript \\s as documented: U+0085 is whitespace, U+FEFF is not', () => {
    expect(split(splitGpt2, '!\u0085')).toEqual(['!', '\u0085']);
    expect(regexSplit(GPT2_JS, '!\u0085')).toEqual(['!\u0085']);
    expect(split(splitGpt2, '\ufeff//')).toEqual(['\ufeff//']);
    expect(regexSplit(GPT2_JS, '\ufeff//')).toEqual(['\ufeff', '//']);
  });
});

describe('Llama-3 splitter', () => {
  it('splits known examples', () => {
    expect(split(splitLlama3, "I'M THEY'LL don't 1234567")).toEqual([
      'I',
      "'M",
      ' THEY',
      "'LL",
      ' don',
      "'t",
      ' ',
      '123',
      '456',
      '7',
    ]);
    expect(split(splitLlama3, 'a\r\n\r\n  b  \n')).toEqual(['a', '\r\n\r\n', ' ', ' b', '  \n']);
    expect(split(splitLlama3, '(x)!!\n\ny')).toEqual(['(x', ')!!\n\n', 'y']);
  });

  it("equals llama.cpp's expanded regex on random strings (White_Space as \\s)", () => {
    fc.assert(
      fc.property(trickyString(), (s) => {
        expect(split(splitLlama3, s)).toEqual(regexSplit(LLAMA3, s));
      }),
      { numRuns: 3000 },
    );
  });

  it('equals the JavaScript-\\s regex on strings without U+0085 and U+FEFF', () => {
    fc.assert(
      fc.property(
        trickyString().map((s) => s.replace(/[\u0085\ufeff]/g, '')),
        (s) => {
          expect(split(splitLlama3, s)).toEqual(regexSplit(LLAMA3_JS, s));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("follows llama.cpp's ASCII-only contractions, not Hugging Face's Unicode (?i:) group", () => {
    // U+017F LATIN SMALL LETTER LONG S case-folds to "s": HF's (?i:'s) takes "'ſ", llama.cpp's '[sS] does not.
    expect(split(splitLlama3, "don'ſt")).toEqual(['don', "'ſt"]);
    expect(regexSplit(LLAMA3_HF, "don'ſt")).toEqual(['don', "'ſ", 't']);
    // On everything else the two agree.
    fc.assert(
      fc.property(
        trickyString().map((s) => s.replace(/[^\p{L}\p{N}\t-\r \u00a0\u3000\x21-\x7e]|[\u017f\u212a]/gu, '')),
        (s) => {
          expect(split(splitLlama3, s)).toEqual(regexSplit(LLAMA3_HF, s));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("llama.cpp's default pre-tokenizer", () => {
  it('splits known examples', () => {
    expect(split(splitDefault, 'a (b) x+=1234567')).toEqual(['a', ' ', '(', 'b', ')', ' x', '+=', '123', '456', '7']);
  });

  it('equals its four patterns applied in sequence', () => {
    fc.assert(
      fc.property(trickyString(), (s) => {
        expect(split(splitDefault, s)).toEqual(defaultByRegex(s));
      }),
      { numRuns: 3000 },
    );
  });
});
