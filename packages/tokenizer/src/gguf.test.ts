import { describe, expect, it } from 'vitest';
import { TokenizerMetadataError, UnsupportedTokenizerError } from './errors.js';
import { GGUF_TOKENIZER_KEYS as K, tokenizerFromGguf } from './gguf.js';
import { TokenType } from './token-types.js';

const TOKENS = ['<unk>', '<s>', '</s>', '▁', 'a', 'b', '▁a', 'ab'];
const spm = (extra: Record<string, unknown> = {}) => ({
  [K.model]: 'llama',
  [K.tokens]: TOKENS,
  [K.scores]: new Float32Array([0, 0, 0, -1, -2, -3, -4, -5]),
  [K.tokenType]: new Int32Array([2, 3, 3, 1, 1, 1, 1, 1]),
  ...extra,
});

describe('tokenizerFromGguf', () => {
  it('reads plain values (@huggingface/gguf) and wrapped { type, value } entries (@trit/gguf) alike', () => {
    const plain = tokenizerFromGguf(spm());
    const wrapped = tokenizerFromGguf({
      metadata: Object.fromEntries(
        Object.entries(spm({ [K.bosTokenId]: 1n })).map(([key, value]) =>
          Array.isArray(value) || ArrayBuffer.isView(value)
            ? [key, { type: 9, elementType: 8, value }]
            : [key, { type: 8, value }],
        ),
      ),
    });
    expect(Array.from(wrapped.encode('a ab'))).toEqual(Array.from(plain.encode('a ab')));
    // "▁a▁ab": ▁a (score -4) beats ab (-5), leftmost first; ▁a + b is no token.
    expect(Array.from(plain.encode('a ab'))).toEqual([1, 6, 6, 5]);
    expect(wrapped.specialTokens.bos).toBe(1);
  });

  it('reads map-like metadata (a Map, or @trit/gguf GgufMetadata with get()) and a parsed file wrapper', () => {
    const map = new Map(Object.entries(spm()).map(([key, value]) => [key, { type: 8, value }]));
    class MetadataLike {
      get(key: string): unknown {
        return map.get(key);
      }
    }
    const expected = Array.from(tokenizerFromGguf(spm()).encode('a ab'));
    expect(Array.from(tokenizerFromGguf(map).encode('a ab'))).toEqual(expected);
    expect(Array.from(tokenizerFromGguf({ metadata: new MetadataLike() }).encode('a ab'))).toEqual(expected);
  });

  it("applies llama.cpp's SentencePiece defaults and lets explicit keys win", () => {
    const t = tokenizerFromGguf(spm());
    expect(t.specialTokens).toMatchObject({ bos: 1, eos: 2, unk: 0, pad: null, sep: null });
    expect([t.addBos, t.addEos, t.addSpacePrefix]).toEqual([true, false, true]);
    const custom = tokenizerFromGguf(
      spm({
        [K.bosTokenId]: 2,
        [K.eosTokenId]: 1,
        [K.paddingTokenId]: 0,
        [K.separatorTokenId]: 3,
        [K.clsTokenId]: 4,
        [K.maskTokenId]: 5,
        [K.unknownTokenId]: 0,
        [K.eotTokenId]: 2,
        [K.eomTokenId]: 1,
        [K.addBosToken]: false,
        [K.addEosToken]: true,
        [K.addSpacePrefix]: false,
      }),
    );
    expect(custom.specialTokens).toEqual({ bos: 2, eos: 1, eot: 2, eom: 1, unk: 0, pad: 0, sep: 3, cls: 4, mask: 5 });
    expect(Array.from(custom.encode('ab'))).toEqual([7, 1]);
  });

  it('rejects arrays that disagree in length, naming the key and both lengths', () => {
    expect(() => tokenizerFromGguf(spm({ [K.scores]: new Float32Array(3) }))).toThrow(
      new TokenizerMetadataError(K.scores, '8 entries (one per token)', '3'),
    );
    expect(() => tokenizerFromGguf(spm({ [K.tokenType]: [1, 1] }))).toThrow(/token_type: expected 8 entries/);
  });

  it('rejects missing or mistyped keys', () => {
    expect(() => tokenizerFromGguf(spm({ [K.tokens]: undefined }))).toThrow(
      /tokenizer\.ggml\.tokens: expected an array/,
    );
    expect(() => tokenizerFromGguf({ [K.tokens]: TOKENS })).toThrow(/tokenizer\.ggml\.model/);
    expect(() => tokenizerFromGguf(spm({ [K.tokens]: 'abc' }))).toThrow(TokenizerMetadataError);
    expect(() => tokenizerFromGguf(spm({ [K.tokens]: ['a', 3] }))).toThrow(/tokens\[1\]/);
    expect(() => tokenizerFromGguf(spm({ [K.bosTokenId]: -1 }))).toThrow(/bos_token_id/);
    expect(() => tokenizerFromGguf(spm({ [K.addBosToken]: 1 }))).toThrow(/add_bos_token: expected a bool/);
    expect(() => tokenizerFromGguf(spm({ [K.model]: 'no-such-model' }))).toThrow(UnsupportedTokenizerError);
    // An object with other keys than type/value/elementType is a value, not a wrapper.
    expect(() => tokenizerFromGguf(spm({ [K.model]: { type: 8, value: 'llama', extra: 1 } }))).toThrow(/a string/);
  });

  it('accepts numeric arrays as plain arrays, typed arrays or bigint arrays', () => {
    const t = tokenizerFromGguf(
      spm({
        [K.scores]: [0, 0, 0, -1, -2, -3, -4, -5],
        [K.tokenType]: BigInt64Array.from([2n, 3n, 3n, 1n, 1n, 1n, 1n, 1n]),
      }),
    );
    expect(t.tokenType(0)).toBe(TokenType.Unknown);
    expect(Array.from(t.encode('ab'))).toEqual([1, 6, 5]);
  });

  it('warns when a byte-level model has no pre-tokenizer', () => {
    const t = tokenizerFromGguf({ [K.model]: 'gpt2', [K.tokens]: ['a', 'b', 'ab'], [K.merges]: ['a b'] });
    expect(t.pre).toBe('default');
    expect(t.warnings.length).toBeGreaterThan(0);
    // Defaults bos = eos = 11 are outside this 3-token vocabulary, so there are none.
    expect(t.specialTokens.bos).toBeNull();
    expect(Array.from(t.encode('ab'))).toEqual([2]);
  });
});
