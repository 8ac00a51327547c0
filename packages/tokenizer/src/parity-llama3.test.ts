/**
 * Llama-3 parity: our tokenizer, built from llama3-tokenizer-js's vocabulary
 * and merges as a GGUF (pre "llama-bpe") and as a tokenizer.json (Split +
 * ByteLevel, ignore_merges), against llama3-tokenizer-js.
 *
 * Known differences, each tested below:
 * - llama3-tokenizer-js uses JavaScript's \s, we use White_Space as llama.cpp
 *   does (U+0085 is whitespace, U+FEFF is not).
 * - llama3-tokenizer-js always turns special-token text into special tokens;
 *   llama.cpp and we only do with parseSpecial.
 * - llama3-tokenizer-js adds <|end_of_text|> by default; a Llama-3 GGUF says
 *   add_eos_token = false (llama.cpp's default), so we do not.
 * - Hugging Face's pattern has a case-insensitive (?i:'s|…) group that
 *   llama.cpp (and llama3-tokenizer-js) expand to ASCII classes; see
 *   pre-tokenizers.test.ts for where Unicode case folding would differ.
 */
import fc from 'fast-check';
import llama3Tokenizer from 'llama3-tokenizer-js';
import { describe, expect, it } from 'vitest';
import { tokenizerFromGguf } from './gguf.js';
import { tokenizerFromHf } from './hf.js';
import { mixedCorpus, PARITY_STRINGS } from './test-corpus.js';
import { trickyString } from './test-strings.js';
import { llama3GgufMetadata, llama3HfJson } from './test-vocabs.js';

const routes = {
  gguf: tokenizerFromGguf(llama3GgufMetadata()),
  'tokenizer.json': tokenizerFromHf(llama3HfJson(), { eos_token: '<|end_of_text|>' }),
};
const reference = (text: string) => llama3Tokenizer.encode(text, { bos: true, eos: false });
const sameWhitespace = (s: string) => s.replace(/[\u0085\ufeff]/g, ' ');
const corpus = mixedCorpus(256 * 1024, 12);

describe.each(Object.entries(routes))('Llama-3 from %s', (_route, tokenizer) => {
  // llama3-tokenizer-js parses special tokens in all text, so we compare with parseSpecial on.
  const ours = (text: string) => Array.from(tokenizer.encode(text, { parseSpecial: true }));

  it('has the Llama-3 defaults: BOS on, ignore_merges, eot found by text', () => {
    expect(tokenizer.vocabSize).toBe(128256);
    expect(tokenizer.pre).toBe('llama-bpe');
    expect([tokenizer.addBos, tokenizer.addEos, tokenizer.ignoreMerges]).toEqual([true, false, true]);
    expect(tokenizer.specialTokens).toMatchObject({ bos: 128000, eos: 128001, eot: 128009, eom: 128008 });
    expect(tokenizer.isEndOfGeneration(128009)).toBe(true);
  });

  it('matches llama3-tokenizer-js on the hand-picked strings and a 256 KB mixed corpus', () => {
    for (const text of PARITY_STRINGS)
      expect(ours(sameWhitespace(text)), text).toEqual(reference(sameWhitespace(text)));
    expect(ours(corpus)).toEqual(reference(corpus));
  });

  it('matches llama3-tokenizer-js on random strings', () => {
    fc.assert(
      fc.property(trickyString().map(sameWhitespace), (text) => {
        expect(ours(text)).toEqual(reference(text));
      }),
      { numRuns: 400 },
    );
  });

  it('decodes back to the text exactly, lone surrogates as U+FFFD', () => {
    for (const text of [...PARITY_STRINGS, corpus]) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text.toWellFormed());
      expect(tokenizer.decode(tokenizer.encode(text, { parseSpecial: true }), { skipSpecial: false })).toBe(
        `<|begin_of_text|>${text.toWellFormed()}`,
      );
    }
    fc.assert(
      fc.property(trickyString(), (text) => {
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(text.toWellFormed());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps special-token text as text without parseSpecial (llama3-tokenizer-js cannot)', () => {
    const text = 'x<|eot_id|>';
    expect(Array.from(tokenizer.encode(text, { addSpecial: false, parseSpecial: true }))).toEqual([87, 128009]);
    expect(Array.from(tokenizer.encode(text, { addSpecial: false }))).toEqual([87, 27, 91, 68, 354, 851, 91, 29]);
    expect(llama3Tokenizer.encode(text, { bos: false, eos: false })).toEqual([87, 128009]);
  });

  it('adds no EOS, where llama3-tokenizer-js does by default', () => {
    expect(Array.from(tokenizer.encode('hi'))).toEqual([128000, 6151]);
    expect(llama3Tokenizer.encode('hi')).toEqual([128000, 6151, 128001]);
  });

  it('differs from the JavaScript-\\s reference exactly where U+FEFF changes the split', () => {
    // White_Space: "\ufeff//" is one punctuation run and a vocabulary token (ignore_merges);
    // JavaScript \s: "\ufeff" is whitespace, then "//".
    expect(ours('\ufeff//')).toEqual([128000, 35866]);
    expect(reference('\ufeff//')).toEqual([128000, 3305, 322]);
  });
});
