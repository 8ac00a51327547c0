import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CODE_POINT } from './byte-map.js';
import { TokenIdError, TokenizerMetadataError, UnknownPreTokenizerError, UnsupportedTokenizerError } from './errors.js';
import { trickyString } from './test-strings.js';
import { TokenType } from './token-types.js';
import { BpeTokenizer, type BpeTokenizerOptions } from './tokenizer.js';

const BYTE_CHARS = Array.from(BYTE_TO_CODE_POINT, (cp) => String.fromCharCode(cp));

/** A byte-level vocabulary: the 256 byte characters, then `extra` tokens (normal unless typed). */
function byteLevel(
  extra: [text: string, type?: number][],
  merges: string[],
  options: Partial<BpeTokenizerOptions> = {},
) {
  const tokens = [...BYTE_CHARS, ...extra.map(([t]) => t)];
  const tokenTypes = [...BYTE_CHARS.map(() => TokenType.Normal), ...extra.map(([, type]) => type ?? TokenType.Normal)];
  return new BpeTokenizer({ model: 'gpt2', pre: 'gpt-2', tokens, tokenTypes, merges, ...options });
}

const HELLO_MERGES = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or', 'Ġwor l', 'Ġworl d'];
const HELLO_TOKENS: [string][] = [['he'], ['ll'], ['hell'], ['hello'], ['Ġw'], ['or'], ['Ġwor'], ['Ġworl'], ['Ġworld']];

describe('byte-level BPE', () => {
  const t = byteLevel(HELLO_TOKENS, HELLO_MERGES);
  const id = (piece: string) => t.pieceToToken(piece) as number;

  it('merges by rank within each pre-token', () => {
    expect(Array.from(t.encode('hello world'))).toEqual([id('hello'), id('Ġworld')]);
    // "hellohello" is one pre-token: both halves merge, nothing merges across them.
    expect(Array.from(t.encode('hellohello'))).toEqual([id('hello'), id('hello')]);
    expect(Array.from(t.encode('hel'))).toEqual([id('he'), id('l')]);
    expect(t.decode(t.encode('hello world'))).toBe('hello world');
  });

  it("uses llama.cpp's gpt2 defaults: bos = eos = 11, no BOS", () => {
    expect(t.specialTokens.bos).toBe(11);
    expect(t.specialTokens.eos).toBe(11);
    expect(t.specialTokens.unk).toBeNull();
    expect(t.addBos).toBe(false);
    expect(t.encode('he')).toEqual(Uint32Array.of(id('he')));
  });

  it('llama3 pre-tokenizers add BOS and ignore merges for whole pre-tokens in the vocabulary', () => {
    // "abc" is a token, but merges alone would stop at "ab" + "c".
    const tokens: [string][] = [['ab'], ['abc']];
    const plain = byteLevel(tokens, ['a b'], { specialTokens: { bos: 0 } });
    const llama3 = byteLevel(tokens, ['a b'], { pre: 'llama3', specialTokens: { bos: 0 } });
    expect(plain.ignoreMerges).toBe(false);
    expect(llama3.ignoreMerges).toBe(true);
    expect(llama3.addBos).toBe(true);
    expect(Array.from(plain.encode('abc'))).toEqual([256, BYTE_CHARS.indexOf('c')]);
    expect(Array.from(llama3.encode('abc'))).toEqual([0, 257]);
    // An explicit add_bos_token wins over the pre-tokenizer's default.
    expect(byteLevel(tokens, ['a b'], { pre: 'llama-bpe', addBos: false }).encode('abc')).toEqual(Uint32Array.of(257));
  });

  it('merges through strings that are not tokens, falling back to single-byte tokens like llama.cpp', () => {
    // "xy" is no token, "xyz" is.
    const xt = byteLevel([['xyz']], ['x y', 'xy z']);
    expect(Array.from(xt.encode('xyz'))).toEqual([256]);
    expect(xt.decode(xt.encode('xy'))).toBe('xy');
    expect(Array.from(xt.encode('xy'))).toEqual([BYTE_CHARS.indexOf('x'), BYTE_CHARS.indexOf('y')]);
  });

  it('warns and uses the default pre-tokenizer when pre is missing; rejects unknown ones', () => {
    const noPre = byteLevel([], [], { pre: undefined });
    expect(noPre.pre).toBe('default');
    expect(noPre.warnings.join()).toMatch(/tokenizer\.ggml\.pre is missing/);
    expect(() => byteLevel([], [], { pre: 'qwen35' })).toThrow(UnknownPreTokenizerError);
    expect(() => byteLevel([], [], { pre: 'toString' })).toThrow(UnknownPreTokenizerError);
    expect(() => byteLevel([], [], { merges: undefined })).toThrow(TokenizerMetadataError);
    expect(() => new BpeTokenizer({ model: 't5', tokens: ['a'] })).toThrow(UnsupportedTokenizerError);
  });

  it('keeps the default for an out-of-range special id, with a warning', () => {
    const bad = byteLevel([], [], { specialTokens: { eos: 999_999, pad: 3 } });
    expect(bad.specialTokens.eos).toBe(11);
    expect(bad.specialTokens.pad).toBe(3);
    expect(bad.warnings.join()).toMatch(/eos token id 999999 is outside/);
    expect(() => byteLevel([], [], { addBos: true, specialTokens: { bos: null } })).toThrow(/bos_token_id/);
  });

  it('gives the same ids with a tiny cache as with the default one', () => {
    const tiny = byteLevel(HELLO_TOKENS, HELLO_MERGES, { cacheSize: 2 });
    fc.assert(
      fc.property(trickyString(40), (s) => {
        expect(Array.from(tiny.encode(s))).toEqual(Array.from(t.encode(s)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('special tokens', () => {
  const specials: [string, number][] = [
    ['<s>', TokenType.Control],
    ['</s>', TokenType.Control],
    ['ab', TokenType.Control],
    ['bcd', TokenType.Control],
    ['<tool>', TokenType.UserDefined],
    ['<unk>', TokenType.Unknown],
  ];
  const t = byteLevel(specials, [], { specialTokens: { bos: 256, eos: 257 }, addBos: true });
  const char = (c: string) => BYTE_CHARS.indexOf(c);

  it('are split out only with parseSpecial, except user-defined tokens', () => {
    expect(Array.from(t.encode('<s>x', { parseSpecial: true }))).toEqual([256, 256, char('x')]);
    expect(t.encode('<s>x').length).toBe(1 + 4);
    expect(Array.from(t.encode('<tool>', { addSpecial: false }))).toEqual([260]);
    expect(Array.from(t.encode('<unk>', { addSpecial: false, parseSpecial: true }))).toEqual([261]);
  });

  it('match longest first over the whole text, as tokenizer_st_partition', () => {
    // "bcd" (3 bytes) is tried before "ab": "abcd" → "a" + bcd, though "ab" starts earlier.
    expect(Array.from(t.encode('abcd', { addSpecial: false, parseSpecial: true }))).toEqual([char('a'), 259]);
    expect(Array.from(t.encode('abab', { addSpecial: false, parseSpecial: true }))).toEqual([258, 258]);
  });

  it('add BOS/EOS only with addSpecial', () => {
    const both = byteLevel(specials, [], { specialTokens: { bos: 256, eos: 257 }, addBos: true, addEos: true });
    expect(Array.from(both.encode('x'))).toEqual([256, char('x'), 257]);
    expect(Array.from(both.encode('x', { addSpecial: false }))).toEqual([char('x')]);
    expect(Array.from(both.encode(''))).toEqual([256, 257]);
  });

  it('decode as text, or not at all with skipSpecial (user-defined tokens stay)', () => {
    const ids = t.encode('a<s>b<tool>c', { parseSpecial: true });
    expect(t.decode(ids, { skipSpecial: false })).toBe('<s>a<s>b<tool>c');
    expect(t.decode(ids)).toBe('ab<tool>c');
  });

  it('find EOT / EOM by text and mark them control, and know end-of-generation tokens', () => {
    const v = byteLevel([['<|eot_id|>'], ['<|eom_id|>'], ['<|endoftext|>']], []);
    expect(v.specialTokens.eot).toBe(256);
    expect(v.specialTokens.eom).toBe(257);
    expect(v.tokenType(256)).toBe(TokenType.Control);
    expect(v.isEndOfGeneration(258)).toBe(true);
    expect(v.isEndOfGeneration(11)).toBe(true);
    expect(v.isEndOfGeneration(12)).toBe(false);
  });
});

describe('decode', () => {
  const t = byteLevel(HELLO_TOKENS, HELLO_MERGES);

  it('throws a RangeError naming an out-of-range id', () => {
    expect(() => t.decode([0, t.vocabSize])).toThrow(TokenIdError);
    expect(() => t.decode([-1])).toThrow(RangeError);
    expect(() => t.decode([1.5])).toThrow(/1\.5/);
    expect(() => t.tokenToPiece(t.vocabSize)).toThrow(new RegExp(String(t.vocabSize)));
  });

  it('round-trips well-formed text and turns lone surrogates into U+FFFD', () => {
    fc.assert(
      fc.property(trickyString(), (s) => {
        expect(t.decode(t.encode(s))).toBe(s.toWellFormed());
      }),
      { numRuns: 1000 },
    );
    expect(t.decode(t.encode('a\ud800b'))).toBe('a\ufffdb');
  });

  it('is lossy on invalid UTF-8 (U+FFFD), keeps a BOM, and reports token pieces and bytes', () => {
    const byte = (b: number) => BYTE_TO_CODE_POINT.indexOf(BYTE_TO_CODE_POINT[b]);
    expect(t.decode([byte(0xe4), byte(0xb8)])).toBe('\ufffd');
    expect(t.decode(t.encode('\ufeffhi'))).toBe('\ufeffhi');
    expect(t.tokenToPiece(t.pieceToToken('Ġworld') as number)).toBe('Ġworld');
    expect(Array.from(t.tokenToBytes(t.pieceToToken('Ġw') as number))).toEqual([0x20, 0x77]);
  });

  it('streams without ever emitting half a character', () => {
    fc.assert(
      fc.property(trickyString(), (s) => {
        const ids = t.encode(s);
        const decoder = t.createDecoder();
        let text = '';
        for (const id of ids) {
          const piece = decoder.push(id);
          // No U+FFFD appears for valid input, and no lone surrogate is produced.
          expect(piece.isWellFormed()).toBe(true);
          if (!s.toWellFormed().includes('\ufffd')) expect(piece).not.toContain('\ufffd');
          text += piece;
        }
        text += decoder.flush();
        expect(text).toBe(t.decode(ids));
      }),
      { numRuns: 500 },
    );
    const decoder = t.createDecoder();
    const euro = new TextEncoder().encode('€').map((b) => BYTE_TO_CODE_POINT.indexOf(BYTE_TO_CODE_POINT[b]));
    expect(decoder.push(euro[0])).toBe('');
    expect(decoder.push(euro[1])).toBe('');
    expect(decoder.flush()).toBe('\ufffd');
    expect(decoder.push(euro[0]) + decoder.push(euro[1]) + decoder.push(euro[2])).toBe('€');
    expect(() => decoder.push(-3)).toThrow(TokenIdError);
  });
});

describe('SentencePiece BPE', () => {
  // <unk> <s> </s>, byte tokens for 0x00–0xFF, then pieces with scores.
  const hex = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
  const pieces: [string, number][] = [
    ['▁', -1],
    ['a', -2],
    ['b', -3],
    ['c', -4],
    ['ab', -10],
    ['bc', -5],
    ['▁a', -20],
    ['▁ab', -30],
    ['abc', -6],
  ];
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => hex(b)), ...pieces.map(([p]) => p)];
  const scores = [0, 0, 0, ...new Array(256).fill(0), ...pieces.map(([, s]) => s)];
  const types = [TokenType.Unknown, TokenType.Control, TokenType.Control, ...new Array(256).fill(TokenType.Byte)];
  const t = new BpeTokenizer({ model: 'llama', tokens, scores, tokenTypes: [...types, ...pieces.map(() => 1)] });
  const id = (p: string) => t.pieceToToken(p) as number;

  it("uses llama.cpp's defaults: bos 1, eos 2, unk 0, BOS and space prefix on", () => {
    expect(t.specialTokens).toMatchObject({ bos: 1, eos: 2, unk: 0 });
    expect(t.addBos).toBe(true);
    expect(t.addSpacePrefix).toBe(true);
  });

  it('merges the highest-scoring pair first', () => {
    // ▁abc: "bc" (-5) beats "ab" (-10) and "▁a" (-20); then "▁a" + "bc" is no token, so ▁a never forms.
    expect(Array.from(t.encode('abc', { addSpecial: false }))).toEqual([id('▁'), id('abc')]);
    expect(Array.from(t.encode('ab', { addSpecial: false }))).toEqual([id('▁ab')]);
    expect(Array.from(t.encode('ab'))).toEqual([1, id('▁ab')]);
  });

  it('falls back to <0xXX> bytes for characters not in the vocabulary', () => {
    expect(Array.from(t.encode('é', { addSpecial: false }))).toEqual([id('▁'), 3 + 0xc3, 3 + 0xa9]);
    expect(t.decode(t.encode('é'))).toBe('é');
  });

  it('prefixes a space after special tokens and strips it again in decode', () => {
    const ids = t.encode('a</s>b', { parseSpecial: true });
    expect(Array.from(ids)).toEqual([1, id('▁a'), 2, id('▁'), id('b')]);
    expect(t.decode(ids)).toBe('ab');
    expect(t.decode(ids, { skipSpecial: false })).toBe('<s>a</s>b');
    expect(t.decode(ids, { stripSpacePrefix: false })).toBe(' a b');
    const noPrefix = new BpeTokenizer({
      model: 'llama',
      tokens,
      scores,
      tokenTypes: [...types, ...pieces.map(() => 1)],
      addSpacePrefix: false,
    });
    expect(Array.from(noPrefix.encode('ab', { addSpecial: false }))).toEqual([id('ab')]);
  });

  it('round-trips any text, a literal "▁" (the space marker) coming back as a space as in llama.cpp', () => {
    expect(t.decode(t.encode('a\u2581b'))).toBe('a b');
    fc.assert(
      fc.property(trickyString(), (s) => {
        expect(t.decode(t.encode(s))).toBe(s.toWellFormed().replaceAll('\u2581', ' '));
      }),
      { numRuns: 500 },
    );
  });

  it('streams the same text as decode, space prefixes and special tokens included', () => {
    fc.assert(
      fc.property(trickyString(), fc.boolean(), (s, skipSpecial) => {
        const ids = t.encode(`${s}</s>${s}`, { parseSpecial: true });
        for (const stripSpacePrefix of [true, false]) {
          const decoder = t.createDecoder({ skipSpecial, stripSpacePrefix });
          let text = '';
          for (const id of ids) text += decoder.push(id);
          text += decoder.flush();
          expect(text).toBe(t.decode(ids, { skipSpecial, stripSpacePrefix }));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('builds a vocabulary holding a 400,000-character token (a fuzzed file) without trying every split', () => {
    // Looking up both halves of every split took time quadratic in the token's length (17 s at 90,000
    // characters); a regression runs past the test timeout. Merges still come from the splits that are tokens.
    const long = '▁'.padEnd(400_000, 'x');
    const t = new BpeTokenizer({ model: 'llama', tokens: [...tokens, long, '▁xx', 'xx'] });
    const piece = (p: string) => t.pieceToToken(p) as number;
    expect(Array.from(t.encode('xxxx', { addSpecial: false }))).toEqual([piece('▁xx'), piece('xx')]);
    expect(t.decode(t.encode(long.slice(1, 31), { addSpecial: false }))).toBe(long.slice(1, 31));
  });

  it('rejects scores that do not match the tokens', () => {
    expect(() => new BpeTokenizer({ model: 'llama', tokens, scores: [1, 2] })).toThrow(TokenizerMetadataError);
    expect(() => new BpeTokenizer({ model: 'llama', tokens: ['a', 'a'] })).toThrow(/unique/);
  });
});
