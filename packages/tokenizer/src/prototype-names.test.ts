/**
 * Token texts and pre-tokenizer names come from files: `__proto__`,
 * `constructor`, `toString` and `hasOwnProperty` must behave as ordinary
 * tokens or unknown names, never as members of Object.prototype.
 */
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CODE_POINT } from './byte-map.js';
import { TokenizerMetadataError, UnknownPreTokenizerError } from './errors.js';
import { GGUF_TOKENIZER_KEYS as K, tokenizerFromGguf } from './gguf.js';
import { ggufTokenizerMetadataFromHf, tokenizerFromHf } from './hf.js';
import { findPreTokenizer, PRE_TOKENIZERS } from './pre-tokenizer-registry.js';
import { TokenType } from './token-types.js';
import { BpeTokenizer } from './tokenizer.js';

const ODD = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
const BYTE_CHARS = Array.from(BYTE_TO_CODE_POINT, (cp) => String.fromCharCode(cp));

/** tokenizer.json text (as read from a file) with the byte symbols, then `extra` vocab entries written raw. */
function tokenizerJson(extra: string, added = '[]'): string {
  const bytes = BYTE_CHARS.map((c, i) => `${JSON.stringify(c)}:${i}`).join(',');
  return `{"model":{"type":"BPE","vocab":{${bytes}${extra}},"merges":[]},"added_tokens":${added},"pre_tokenizer":{"type":"ByteLevel","use_regex":true}}`;
}

describe('names from files are data', () => {
  it('tokenizer.json vocab entries __proto__, constructor, toString are tokens with their ids', () => {
    const extra = ODD.map((t, i) => `,${JSON.stringify(t)}:${256 + i}`).join('');
    const text = tokenizerJson(extra, '[{"id":260,"content":"valueOf","special":false}]');
    const meta = ggufTokenizerMetadataFromHf(text);
    expect((meta[K.tokens] as string[]).slice(256)).toEqual([...ODD, 'valueOf']);
    expect(Array.from(meta[K.tokenType] as Int32Array).slice(256)).toEqual([
      ...ODD.map(() => TokenType.Normal),
      TokenType.UserDefined,
    ]);
    const tokenizer = tokenizerFromHf(text);
    expect(tokenizer.vocabSize).toBe(261);
    for (const [i, token] of ODD.entries()) {
      expect(tokenizer.pieceToToken(token)).toBe(256 + i);
      expect(tokenizer.decode([256 + i])).toBe(token);
    }
    // A user-defined token is split out of text as is.
    expect(Array.from(tokenizer.encode('valueOf', { addSpecial: false }))).toEqual([260]);
    // Absent names are absent, not found on a prototype.
    const plain = tokenizerFromHf(tokenizerJson(''));
    for (const token of [...ODD, 'valueOf']) expect(plain.pieceToToken(token)).toBeUndefined();
  });

  it('a vocab id that is not a non-negative integer is named, whatever the token', () => {
    for (const [extra, key, found] of [
      [',"__proto__":-1', 'model.vocab["__proto__"]', '-1'],
      [',"constructor":"7"', 'model.vocab["constructor"]', '"7"'],
      [',"toString":1.5', 'model.vocab["toString"]', '1.5'],
    ]) {
      const error = (() => {
        try {
          ggufTokenizerMetadataFromHf(tokenizerJson(extra));
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(TokenizerMetadataError);
      expect((error as TokenizerMetadataError).key).toBe(key);
      expect((error as TokenizerMetadataError).found).toBe(found);
    }
    expect(() => ggufTokenizerMetadataFromHf(tokenizerJson('', '[{"id":"x","content":"a"}]'))).toThrow(
      /added_tokens\[0\]: expected/,
    );
    expect(() =>
      ggufTokenizerMetadataFromHf(
        '{"model":{"type":"BPE","vocab":[],"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}',
      ),
    ).toThrow(/model\.vocab: expected an object of token → id, found an array/);
  });

  it('pre-tokenizer names found on Object.prototype are unknown', () => {
    expect(Object.getPrototypeOf(PRE_TOKENIZERS)).toBeNull();
    expect(findPreTokenizer('gpt-2')?.kind).toBe('gpt2');
    const tokens = [...BYTE_CHARS];
    for (const pre of [...ODD, 'valueOf']) {
      expect(findPreTokenizer(pre)).toBeUndefined();
      expect(() => new BpeTokenizer({ model: 'gpt2', pre, tokens, merges: [] })).toThrow(UnknownPreTokenizerError);
      const fromGguf = () => tokenizerFromGguf({ [K.model]: 'gpt2', [K.pre]: pre, [K.tokens]: tokens, [K.merges]: [] });
      expect(fromGguf).toThrow(new UnknownPreTokenizerError(pre, Object.keys(PRE_TOKENIZERS)).message);
    }
  });

  it('GGUF metadata as a plain record: only own keys count, a "metadata" wrapper included', () => {
    const own = { [K.model]: 'gpt2', [K.pre]: 'gpt-2', [K.tokens]: BYTE_CHARS, [K.merges]: [] };
    const inheritedBos = Object.assign(Object.create({ [K.addBosToken]: true }), own);
    expect(tokenizerFromGguf(inheritedBos).addBos).toBe(false);
    // An inherited `metadata` is not a wrapper to unwrap.
    expect(() => tokenizerFromGguf(Object.create({ metadata: own }))).toThrow(
      new TokenizerMetadataError(K.model, 'a string ("gpt2", "llama" or "bert")', 'nothing'),
    );
    expect(tokenizerFromGguf({ metadata: own }).vocabSize).toBe(256);
  });
});

describe('ids from files size the token list only as far as the file backs them', () => {
  it('a lone id of 1e9 is refused before anything that long is allocated; gaps within bounds are padded', () => {
    const huge = tokenizerJson(',"far":1000000000');
    expect(() => ggufTokenizerMetadataFromHf(huge)).toThrow(TokenizerMetadataError);
    expect(() => tokenizerFromHf(huge)).toThrow(/model\.vocab.*ids below 770 .*found id 1000000000/);
    const added = tokenizerJson('', '[{"id":4294967295,"content":"<|x|>","special":true}]');
    expect(() => ggufTokenizerMetadataFromHf(added)).toThrow(/found id 4294967295/);
    // A model's vocab_size (its embedding rows) may pad further.
    const gap = tokenizerJson(',"far":700');
    expect((ggufTokenizerMetadataFromHf(gap)[K.tokens] as string[]).length).toBe(701);
    expect(
      (ggufTokenizerMetadataFromHf(tokenizerJson(',"far":900'), {}, { vocabSize: 1024 })[K.tokens] as string[]).length,
    ).toBe(1024);
  });
});

describe('values from files are described, never re-serialized whole', () => {
  it('a merge, an added token and a Split pattern nested 100,000 deep are typed errors, not a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const withMerge = tokenizerJson('').replace('"merges":[]', `"merges":[${deep}]`);
    expect(() => ggufTokenizerMetadataFromHf(withMerge)).toThrow(/model\.merges\[0\].*found an array/);
    const withAdded = tokenizerJson('', `[{"id":${deep},"content":"x"}]`);
    expect(() => ggufTokenizerMetadataFromHf(withAdded)).toThrow(/added_tokens\[0\].*found id an array, content "x"/);
  });
});

describe('pre-tokenizer and normalizer Sequences from files', () => {
  it('a Sequence whose list is not an array, or that nests 100,000 deep, is a typed error', () => {
    const json = JSON.parse(tokenizerJson(''));
    json.pre_tokenizer = { type: 'Sequence', pretokenizers: 2 ** 64 };
    expect(() => ggufTokenizerMetadataFromHf(JSON.stringify(json))).toThrow(
      /pre_tokenizer: expected a Sequence with an array of components, found 18446744073709552000/,
    );
    const deep = `${'{"type":"Sequence","pretokenizers":['.repeat(100_000)}${']}'.repeat(100_000)}`;
    const text = tokenizerJson('').replace(
      '"pre_tokenizer":{"type":"ByteLevel","use_regex":true}',
      `"pre_tokenizer":${deep}`,
    );
    expect(() => ggufTokenizerMetadataFromHf(text)).toThrow(TokenizerMetadataError);
    expect(() => ggufTokenizerMetadataFromHf(text)).toThrow(/Sequences nested at most 32 deep/);
  });
});
