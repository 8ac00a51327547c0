/**
 * GPT-2 parity: our tokenizer, built from GPT-2's encoder.json + vocab.bpe as a
 * GGUF would carry them and as a tokenizer.json, against gpt-3-encoder (GPT-2's
 * own algorithm), gpt-tokenizer and js-tiktoken (r50k_base, the same vocabulary).
 *
 * Known differences, each tested below:
 * - The references use JavaScript's \s, we use White_Space as llama.cpp does:
 *   U+0085 is whitespace for us, U+FEFF is not.
 * - gpt-tokenizer 4.0.0's r50k_base never splits "<|endoftext|>" out of the
 *   text, even with allowedSpecial "all"; js-tiktoken does, as we do with
 *   parseSpecial.
 */
import fc from 'fast-check';
import { encode as gpt3Encode } from 'gpt-3-encoder';
import { encode as gptTokenizerEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { tokenizerFromGguf } from './gguf.js';
import { tokenizerFromHf } from './hf.js';
import { mixedCorpus, PARITY_STRINGS } from './test-corpus.js';
import { trickyString } from './test-strings.js';
import { gpt2GgufMetadata, gpt2HfJson } from './test-vocabs.js';

const tiktoken = getEncoding('r50k_base');
const routes = {
  gguf: tokenizerFromGguf(gpt2GgufMetadata()),
  'tokenizer.json': tokenizerFromHf(gpt2HfJson(), { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' }),
};
const references: Record<string, (text: string) => number[]> = {
  'gpt-3-encoder': (text) => gpt3Encode(text),
  'gpt-tokenizer': (text) => gptTokenizerEncode(text, { disallowedSpecial: new Set() }),
  'js-tiktoken': (text) => tiktoken.encode(text, [], []),
};
/** Text on which the references' \s and White_Space agree. */
const sameWhitespace = (s: string) => s.replace(/[\u0085\ufeff]/g, ' ');
const corpus = mixedCorpus(256 * 1024, 11);
// gpt-3-encoder concatenates arrays per pre-token (quadratic on long texts), so it gets the corpus line by line.
const lines = corpus.split(/(?<=\n)/);

describe.each(Object.entries(routes))('GPT-2 from %s', (_route, tokenizer) => {
  const ours = (text: string) => Array.from(tokenizer.encode(text));

  it('has the GGUF defaults for GPT-2', () => {
    expect(tokenizer.vocabSize).toBe(50257);
    expect(tokenizer.pre).toBe('gpt-2');
    expect(tokenizer.addBos).toBe(false);
    expect(tokenizer.specialTokens.eos).toBe(50256);
  });

  it.each(Object.keys(references))('matches %s on the hand-picked strings and a 256 KB mixed corpus', (name) => {
    const reference = references[name];
    for (const text of PARITY_STRINGS)
      expect(ours(sameWhitespace(text)), text).toEqual(reference(sameWhitespace(text)));
    if (name === 'gpt-3-encoder') {
      for (const line of lines) expect(ours(line)).toEqual(reference(line));
    } else {
      expect(ours(corpus)).toEqual(reference(corpus));
    }
  });

  it('matches all three on random strings', () => {
    fc.assert(
      fc.property(trickyString().map(sameWhitespace), (text) => {
        const expected = references['gpt-3-encoder'](text);
        expect(ours(text)).toEqual(expected);
        expect(references['gpt-tokenizer'](text)).toEqual(expected);
        expect(references['js-tiktoken'](text)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('decodes back to the text exactly, lone surrogates as U+FFFD', () => {
    for (const text of [...PARITY_STRINGS, corpus])
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text.toWellFormed());
    fc.assert(
      fc.property(trickyString(), (text) => {
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(text.toWellFormed());
      }),
      { numRuns: 300 },
    );
  });

  it('splits <|endoftext|> out only with parseSpecial, like js-tiktoken with "all"', () => {
    const text = 'a<|endoftext|>b';
    expect(ours(text)).toEqual(references['gpt-3-encoder'](text));
    expect(Array.from(tokenizer.encode(text, { parseSpecial: true }))).toEqual(tiktoken.encode(text, 'all'));
    expect(Array.from(tokenizer.encode(text, { parseSpecial: true }))).toEqual([64, 50256, 65]);
    // Known difference: gpt-tokenizer keeps it as text even when every special token is allowed.
    expect(gptTokenizerEncode(text, { allowedSpecial: 'all' })).toEqual(ours(text));
  });

  it('differs from the JavaScript-\\s references exactly where U+0085 / U+FEFF change the split', () => {
    // " \u0085." — White_Space: " ", "\u0085", "."; JavaScript \s: one punctuation run " \u0085.".
    expect(ours(' \u0085.')).toEqual([220, 126, 227, 13]);
    expect(references['gpt-3-encoder'](' \u0085.')).toEqual([1587, 227, 13]);
    // "\ufeff'the" — U+FEFF is no whitespace: "\ufeff'" is one run, then "the".
    expect(ours("\ufeff'the")).toEqual([171, 119, 123, 6, 1169]);
    expect(references['js-tiktoken']("\ufeff'the")).toEqual([171, 119, 123, 470, 258]);
  });
});

it('encodes the text of every GPT-2 token as js-tiktoken does (tiktoken checks whole pieces first, BPE agrees)', () => {
  const { gguf } = routes;
  const mismatches: number[] = [];
  for (let id = 0; id < 50256; id++) {
    const text = gguf.decode([id]);
    if (text.includes('\ufffd')) continue;
    if (Array.from(gguf.encode(text)).join() !== tiktoken.encode(text, [], []).join()) mismatches.push(id);
  }
  expect(mismatches).toEqual([]);
});
