/**
 * Llama-2 (SentencePiece BPE) parity: our tokenizer, built from
 * llama-tokenizer-js's vocabulary as a GGUF (scores derived from the merge
 * order, see test-vocabs.ts) and as a tokenizer.json (BPE with byte_fallback),
 * against llama-tokenizer-js.
 *
 * Known differences, each tested below:
 * - An empty text: llama.cpp (and we) give [BOS], llama-tokenizer-js [].
 * - Lone surrogates: we encode them as U+FFFD, the UTF-8 llama.cpp receives
 *   from a TextEncoder, and "�" is a token; llama-tokenizer-js byte-encodes
 *   each one as <0xEF><0xBF><0xBD>.
 * - llama-tokenizer-js never parses special tokens; with parseSpecial we split
 *   "</s>" out and, as llama.cpp, put a "▁" prefix on the text after it.
 */
import fc from 'fast-check';
import llamaTokenizer from 'llama-tokenizer-js';
import { describe, expect, it } from 'vitest';
import { tokenizerFromGguf } from './gguf.js';
import { tokenizerFromHf } from './hf.js';
import { mixedCorpus, PARITY_STRINGS } from './test-corpus.js';
import { trickyString } from './test-strings.js';
import { llama2GgufMetadata, llama2HfJson } from './test-vocabs.js';

const routes = {
  gguf: tokenizerFromGguf(llama2GgufMetadata()),
  'tokenizer.json': tokenizerFromHf(llama2HfJson(), { eos_token: '</s>' }),
};
const reference = (text: string) => llamaTokenizer.encode(text);
// SentencePiece merges a whole text at once; both sides get the corpus in paragraphs.
const paragraphs = mixedCorpus(128 * 1024, 13)
  .split(/(?<=\n\n)/)
  .filter((p) => p.length > 0);

describe.each(Object.entries(routes))('Llama-2 from %s', (_route, tokenizer) => {
  const ours = (text: string) => Array.from(tokenizer.encode(text));

  it("has llama.cpp's SentencePiece defaults", () => {
    expect(tokenizer.vocabSize).toBe(32000);
    expect(tokenizer.specialTokens).toMatchObject({ bos: 1, eos: 2, unk: 0 });
    expect([tokenizer.addBos, tokenizer.addEos, tokenizer.addSpacePrefix]).toEqual([true, false, true]);
  });

  it('matches llama-tokenizer-js on the hand-picked strings, its own test cases and a 128 KB corpus', () => {
    for (const text of PARITY_STRINGS) expect(ours(text.toWellFormed()), text).toEqual(reference(text.toWellFormed()));
    expect(ours('grabbed')).toEqual([1, 2646, 1327, 287]);
    expect(ours(' grabbed')).toEqual([1, 29871, 2646, 1327, 287]);
    expect(ours('           grabbed')).toEqual([1, 9651, 2646, 1327, 287]);
    expect(ours('\n')).toEqual([1, 29871, 13]);
    expect(ours('🦙Ꙋ')).toEqual([1, 29871, 243, 162, 169, 156, 237, 156, 141]);
    for (const text of paragraphs) expect(ours(text)).toEqual(reference(text));
  });

  it('matches llama-tokenizer-js on random well-formed strings', () => {
    fc.assert(
      fc.property(
        trickyString(24, true).filter((s) => s.length > 0),
        (text) => {
          expect(ours(text)).toEqual(reference(text));
        },
      ),
      { numRuns: 400 },
    );
  });

  // "▁" (U+2581) is SentencePiece's space marker, so a literal one decodes to a space, in
  // llama.cpp, Hugging Face and llama-tokenizer-js alike; every other text round-trips.
  const expected = (text: string) => text.toWellFormed().replaceAll('\u2581', ' ');

  it('decodes back to the text exactly, lone surrogates as U+FFFD, "▁" as a space', () => {
    for (const text of [...PARITY_STRINGS, ...paragraphs]) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(expected(text));
    }
    expect(tokenizer.decode(tokenizer.encode('a▁b'))).toBe('a b');
    expect(llamaTokenizer.decode(reference('a▁b'))).toBe('a b');
    fc.assert(
      fc.property(trickyString(), (text) => {
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(expected(text));
        if (text.length > 0) expect(llamaTokenizer.decode(reference(text.toWellFormed()))).toBe(expected(text));
      }),
      { numRuns: 300 },
    );
  });

  it('gives [BOS] for an empty text, where llama-tokenizer-js gives []', () => {
    expect(ours('')).toEqual([1]);
    expect(reference('')).toEqual([]);
  });

  it('encodes a lone surrogate as the "�" token, where llama-tokenizer-js uses three byte tokens', () => {
    const replacement = tokenizer.pieceToToken('\ufffd') as number;
    expect(ours('a\ud800')).toEqual([1, 263, replacement]);
    expect(ours('a\ud800')).toEqual(reference('a\ufffd'));
    expect(reference('a\ud800')).toEqual([1, 263, 242, 194, 192]);
  });

  it('splits </s> out with parseSpecial and prefixes the next text with a space, as llama.cpp', () => {
    const text = 'Hi</s>there';
    expect(Array.from(tokenizer.encode(text, { parseSpecial: true }))).toEqual([
      1,
      6324,
      2,
      ...reference('there').slice(1),
    ]);
    expect(ours(text)).toEqual(reference(text));
    expect(tokenizer.decode(tokenizer.encode(text, { parseSpecial: true }))).toBe('Hithere');
    expect(tokenizer.decode(tokenizer.encode(text, { parseSpecial: true }), { skipSpecial: false })).toBe(`<s>${text}`);
  });
});
