import { describe, expect, it } from 'vitest';
import { UnknownPreTokenizerError, UnsupportedTokenizerError } from './errors.js';
import { GGUF_TOKENIZER_KEYS as K } from './gguf.js';
import { ggufTokenizerMetadataFromHf, type HfTokenizerJson, tokenizerFromHf } from './hf.js';
import { TokenType } from './token-types.js';

const byteLevelJson = (preTokenizer: HfTokenizerJson['pre_tokenizer']): HfTokenizerJson => ({
  model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2, Ġ: 3 }, merges: [['a', 'b']] },
  added_tokens: [
    { id: 4, content: '<|end|>', special: true },
    { id: 6, content: '<tool>', special: false },
  ],
  pre_tokenizer: preTokenizer,
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|end|>' } }, { Sequence: { id: 'A' } }, { SpecialToken: { id: '<|end|>' } }],
  },
});

describe('ggufTokenizerMetadataFromHf', () => {
  it('converts a byte-level BPE tokenizer.json to GGUF keys', () => {
    const meta = ggufTokenizerMetadataFromHf(byteLevelJson({ type: 'ByteLevel', use_regex: true }));
    expect(meta[K.model]).toBe('gpt2');
    expect(meta[K.pre]).toBe('gpt-2');
    expect(meta[K.tokens]).toEqual(['a', 'b', 'ab', 'Ġ', '<|end|>', '[PAD5]', '<tool>']);
    expect(Array.from(meta[K.tokenType] as Int32Array)).toEqual([
      TokenType.Normal,
      TokenType.Normal,
      TokenType.Normal,
      TokenType.Normal,
      TokenType.Control,
      TokenType.Unused,
      TokenType.UserDefined,
    ]);
    expect(meta[K.merges]).toEqual(['a b']);
    expect(meta[K.scores]).toBeUndefined();
    expect([meta[K.bosTokenId], meta[K.eosTokenId], meta[K.addBosToken], meta[K.addEosToken]]).toEqual([
      4,
      4,
      true,
      true,
    ]);
  });

  it('pads the token list to the model vocabulary with [PAD<id>] as convert_hf_to_gguf does, and refuses a smaller one', () => {
    const json = byteLevelJson({ type: 'ByteLevel', use_regex: true });
    const meta = ggufTokenizerMetadataFromHf(json, {}, { vocabSize: 9 });
    expect((meta[K.tokens] as string[]).slice(6)).toEqual(['<tool>', '[PAD7]', '[PAD8]']);
    expect(Array.from(meta[K.tokenType] as Int32Array).slice(7)).toEqual([TokenType.Unused, TokenType.Unused]);
    expect(() => ggufTokenizerMetadataFromHf(json, {}, { vocabSize: 6 })).toThrow(
      /vocab_size: expected at least 7 \(the tokenizer's highest id \+ 1\), found 6/,
    );
  });

  it('recognises the Llama-3 Split + ByteLevel pre-tokenizer and rejects other patterns', () => {
    const split = (regex: string) =>
      byteLevelJson({
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', use_regex: false },
        ],
      });
    const llama3 =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    expect(ggufTokenizerMetadataFromHf(split(llama3))[K.pre]).toBe('llama-bpe');
    expect(() => ggufTokenizerMetadataFromHf(split('\\p{N}'))).toThrow(UnknownPreTokenizerError);
    expect(() => ggufTokenizerMetadataFromHf(byteLevelJson({ type: 'Whitespace' }))).toThrow(UnsupportedTokenizerError);
    expect(() => ggufTokenizerMetadataFromHf(byteLevelJson({ type: 'ByteLevel', add_prefix_space: true }))).toThrow(
      /add_prefix_space/,
    );
  });

  it('rejects models other than BPE and WordPiece', () => {
    const json = { ...byteLevelJson(null), model: { type: 'Unigram', vocab: {}, merges: [] } };
    expect(() => ggufTokenizerMetadataFromHf(json)).toThrow(UnsupportedTokenizerError);
  });

  it('converts a SentencePiece-style BPE (byte_fallback) with scores from merge ranks', () => {
    const json: HfTokenizerJson = {
      model: {
        type: 'BPE',
        vocab: { '<unk>': 0, '<s>': 1, '</s>': 2, '<0x0A>': 3, '▁': 4, a: 5, '▁a': 6, aa: 7 },
        merges: ['▁ a', 'a a'],
        byte_fallback: true,
        unk_token: '<unk>',
      },
      added_tokens: [
        { id: 0, content: '<unk>', special: true },
        { id: 1, content: '<s>', special: true },
        { id: 2, content: '</s>', special: true },
      ],
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: '▁' },
          { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        ],
      },
      pre_tokenizer: null,
    };
    const meta = ggufTokenizerMetadataFromHf(JSON.stringify(json), {
      eos_token: '</s>',
      bos_token: { content: '<s>' },
    });
    expect(meta[K.model]).toBe('llama');
    expect(meta[K.pre]).toBeUndefined();
    expect(Array.from(meta[K.scores] as Float32Array)).toEqual([0, 0, 0, 0, 0, 0, -1, -2]);
    expect(Array.from(meta[K.tokenType] as Int32Array)).toEqual([2, 3, 3, 6, 1, 1, 1, 1]);
    expect([meta[K.bosTokenId], meta[K.eosTokenId], meta[K.unknownTokenId], meta[K.addSpacePrefix]]).toEqual([
      1,
      2,
      0,
      true,
    ]);
    const t = tokenizerFromHf(json, { eos_token: '</s>' });
    expect(Array.from(t.encode('aa a\n'))).toEqual([1, 6, 5, 6, 3]);
  });
});
