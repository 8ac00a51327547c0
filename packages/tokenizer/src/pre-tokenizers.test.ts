import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findPreTokenizer } from './pre-tokenizer-registry.js';
import {
  splitDeepSeekCoder,
  splitDeepSeekLlm,
  splitDefault,
  splitFalcon,
  splitStarCoder,
} from './pre-tokenizer-sequences.js';
import { type Splitter, splitGpt2, splitLlama3, splitQwen2, splitToStrings } from './pre-tokenizers.js';
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

/**
 * llama.cpp matches a pattern without `\p{…}` after replacing each non-ASCII
 * White_Space code point by U+000B; the replacement keeps lengths, so the
 * pieces of the replaced text are the pieces of the original.
 */
function byRegexSequence(stages: readonly RegExp[], text: string): string[] {
  const replaced = text.replace(/[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/g, '\v');
  let pieces = [replaced];
  for (const stage of stages) pieces = pieces.flatMap((piece) => regexSplit(stage, piece));
  const out: string[] = [];
  let start = 0;
  for (const piece of pieces.filter((p) => p.length > 0)) {
    out.push(text.slice(start, start + piece.length));
    start += piece.length;
  }
  return out;
}

const GPT2_NO_TAIL = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WHITESPACE_CLASS_BODY}\\p{L}\\p{N}]+|${S}+(?!${NOT_S})|${S}+`,
  'gu',
);
// DeepSeek's classes, read independently of the implementation from the pattern text.
// DeepSeek's classes as the pattern text lists them, written with escapes (some of its code points
// are not NFC-stable); read independently of the implementation's range tables.
const DEEPSEEK_LETTERS =
  'A-Za-z\\u{b5}\\u{c0}-\\u{d6}\\u{d8}-\\u{f6}\\u{f8}-\\u{1ba}\\u{1bc}-\\u{1bf}\\u{1c4}-\\u{293}\\u{295}-\\u{2af}\\u{370}-\\u{373}\\u{376}\\u{377}\\u{37b}-\\u{37d}\\u{37f}\\u{386}\\u{388}-\\u{38a}\\u{38c}\\u{38e}-\\u{3a1}\\u{3a3}-\\u{3f5}\\u{3f7}-\\u{481}\\u{48a}-\\u{52f}\\u{531}-\\u{556}\\u{10a0}-\\u{10c5}\\u{13a0}-\\u{13f5}\\u{13f8}-\\u{13fd}\\u{1c90}-\\u{1cba}\\u{1cbd}-\\u{1cbf}\\u{1d00}-\\u{1d2b}\\u{1d6b}-\\u{1d77}\\u{1d79}-\\u{1d9a}\\u{1e00}-\\u{1f15}\\u{1f18}-\\u{1f1d}\\u{1f20}-\\u{1f45}\\u{1f48}-\\u{1f4d}\\u{1f50}-\\u{1f57}\\u{1f59}\\u{1f5b}\\u{1f5d}\\u{1f5f}-\\u{1f7d}\\u{1f80}-\\u{1fb4}\\u{1fb6}-\\u{1fbc}\\u{1fbe}\\u{1fc2}-\\u{1fc4}\\u{1fc6}-\\u{1fcc}\\u{1fd0}-\\u{1fd3}\\u{1fd6}-\\u{1fdb}\\u{1fe0}-\\u{1fec}\\u{1ff2}-\\u{1ff4}\\u{1ff6}-\\u{1ffc}\\u{2102}\\u{2107}\\u{210a}-\\u{2113}\\u{2115}\\u{2119}-\\u{211d}\\u{2124}\\u{2126}\\u{2128}\\u{212a}-\\u{212d}\\u{212f}-\\u{2134}\\u{2139}\\u{213c}-\\u{213f}\\u{2145}-\\u{2149}\\u{214e}\\u{2183}\\u{2184}\\u{2c00}-\\u{2c7b}\\u{2c7e}-\\u{2ce4}\\u{2ceb}-\\u{2cee}\\u{2cf2}\\u{2cf3}\\u{a640}-\\u{a66d}\\u{a680}-\\u{a69b}\\u{a722}-\\u{a76f}\\u{a771}-\\u{a787}\\u{a78b}-\\u{a78e}\\u{ab70}-\\u{abbf}\\u{fb00}-\\u{fb06}\\u{fb13}-\\u{fb17}\\u{ff21}-\\u{ff3a}\\u{ff41}-\\u{ff5a}\\u{10400}-\\u{1044f}\\u{104b0}-\\u{104d3}\\u{104d8}-\\u{104fb}\\u{10c80}-\\u{10cb2}\\u{10cc0}-\\u{10cf2}\\u{118a0}-\\u{118df}\\u{1e900}-\\u{1e943}';
const DEEPSEEK_PUNCTUATION = '!-/:-~\\u{ff01}-\\u{ff0f}\\u{ff1a}-\\u{ff5e}\\u{2018}-\\u{201f}\\u{3000}-\\u{3002}';
const DEEPSEEK_CJK = '\\u{4e00}-\\u{9fa5}\\u{800}-\\u{4e00}\\u{ac00}-\\u{d7ff}';
const SEQUENCES: Record<string, { splitter: Splitter; stages: RegExp[] }> = {
  falcon: {
    splitter: splitFalcon,
    stages: [/[\p{P}$+<=>^~|`]+/gu, GPT2_NO_TAIL, /[0-9][0-9][0-9]/gu],
  },
  starcoder: { splitter: splitStarCoder, stages: [/\p{N}/gu, GPT2_NO_TAIL] },
  'deepseek-llm': {
    splitter: splitDeepSeekLlm,
    stages: [
      /[\r\n]/gu,
      new RegExp(`${S}?[${DEEPSEEK_LETTERS}]+`, 'gu'),
      new RegExp(`${S}?[${DEEPSEEK_PUNCTUATION}]+`, 'gu'),
      new RegExp(`${S}+$`, 'gu'),
      new RegExp(`[${DEEPSEEK_CJK}]+`, 'gu'),
      /\p{N}+/gu,
    ],
  },
  'deepseek-coder': {
    splitter: splitDeepSeekCoder,
    stages: [
      /[\r\n]/gu,
      new RegExp(`${S}?\\p{L}+`, 'gu'),
      new RegExp(`${S}?\\p{P}+`, 'gu'),
      new RegExp(`[${DEEPSEEK_CJK}]+`, 'gu'),
      /\p{N}/gu,
    ],
  },
};

const QWEN2 = new RegExp(
  `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^${WHITESPACE_CLASS_BODY}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?!${NOT_S})|${S}+`,
  'gu',
);

describe('Qwen2 splitter', () => {
  it('splits known examples: one number per pre-token', () => {
    expect(split(splitQwen2, "I'M 2024年 x=12.5\n\n  ok")).toEqual([
      'I',
      "'M",
      ' ',
      '2',
      '0',
      '2',
      '4',
      '年',
      ' x',
      '=',
      '1',
      '2',
      '.',
      '5',
      '\n\n',
      ' ',
      ' ok',
    ]);
  });

  it("equals llama.cpp's expanded regex on random strings (White_Space as \\s)", () => {
    fc.assert(
      fc.property(trickyString(), (s) => {
        expect(split(splitQwen2, s)).toEqual(regexSplit(QWEN2, s));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('sequential pre-tokenizers', () => {
  it('split known examples', () => {
    expect(split(splitFalcon, 'a `b` x+=1234567 (y)')).toEqual([
      'a',
      ' ',
      '`',
      'b',
      '`',
      ' x',
      '+=',
      '123',
      '456',
      '7',
      ' ',
      '(',
      'y',
      ')',
    ]);
    expect(split(splitStarCoder, "x1 = 2024; it's")).toEqual([
      'x',
      '1',
      ' =',
      ' ',
      '2',
      '0',
      '2',
      '4',
      ';',
      ' it',
      "'s",
    ]);
    // Later patterns only cut pieces: "Hello" and "," stay apart, and ASCII letters are in `:-~`.
    expect(split(splitDeepSeekLlm, 'Hello, 世界 123!\r\nÉté  ')).toEqual([
      'Hello',
      ',',
      ' ',
      '世界',
      ' ',
      '123',
      '!',
      '\r',
      '\n',
      'É',
      't',
      'é',
      '  ',
    ]);
    expect(split(splitDeepSeekCoder, 'def f(x):\n    return x*42')).toEqual([
      'def',
      ' f',
      '(',
      'x',
      '):',
      '\n',
      '   ',
      ' return',
      ' x',
      '*',
      '4',
      '2',
    ]);
  });

  it("an ideographic space is not in DeepSeek-LLM's punctuation class, as llama.cpp matches it", () => {
    // U+3000 is listed in the class, but llama.cpp replaces it by U+000B before matching: it can only be \s.
    expect(split(splitDeepSeekLlm, '\u3000\u3000!')).toEqual(['\u3000', '\u3000!']);
  });

  for (const [name, { splitter, stages }] of Object.entries(SEQUENCES)) {
    it(`${name}: equals its patterns applied in sequence`, () => {
      fc.assert(
        fc.property(trickyString(), (s) => {
          expect(split(splitter, s.toWellFormed())).toEqual(byRegexSequence(stages, s.toWellFormed()));
        }),
        { numRuns: 2000 },
      );
    });
  }
});

describe('pre-tokenizer registry', () => {
  it("maps llama.cpp's names to their pattern family and flags", () => {
    const families: Record<string, string[]> = {
      qwen2: ['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'hunyuan', 'solar-open', 'megrez', 'stablelm2'],
      starcoder: ['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone', 'minerva-7b', 'mellum2'],
      'deepseek-llm': ['deepseek-llm'],
      'deepseek-coder': ['deepseek-coder'],
      falcon: ['falcon'],
    };
    for (const [kind, names] of Object.entries(families)) {
      for (const name of names) {
        const spec = findPreTokenizer(name);
        expect(spec?.kind, name).toBe(kind);
        expect(spec?.ignoreMerges, name).toBe(false);
        expect(spec?.addBos, name).toBe(false);
      }
    }
    const keepsCleanSpaces = ['megrez', 'stablelm2', 'starcoder', 'refact', 'falcon', 'gpt-2', 'llama-bpe', 'default'];
    for (const name of keepsCleanSpaces) expect(findPreTokenizer(name)?.cleanSpaces, name).toBe(true);
    const noCleanSpaces = ['qwen2', 'hunyuan', 'deepseek-llm', 'deepseek-coder', 'command-r', 'smollm', 'trillion'];
    for (const name of noCleanSpaces) expect(findPreTokenizer(name)?.cleanSpaces, name).toBe(false);
    // Types llama.cpp has that we do not implement stay unknown.
    for (const name of ['qwen35', 'deepseek-v3', 'gpt-4o', 'tekken', 'chatglm-bpe']) {
      expect(findPreTokenizer(name), name).toBeUndefined();
    }
  });
});
