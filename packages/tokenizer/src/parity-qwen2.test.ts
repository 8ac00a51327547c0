/**
 * Second reference for the Qwen2 pre-tokenizer: Hugging Face's own
 * tokenizer.json form (a Split on Qwen2's pattern, then ByteLevel without its
 * regex) run by @huggingface/tokenizers, on GPT-2's vocabulary, against our
 * tokenizer with `tokenizer.ggml.pre` = "qwen2" on the same vocabulary.
 *
 * Known differences, kept out of the compared strings:
 * - Hugging Face's `(?i:'s|…)` folds case with Unicode rules; llama.cpp and we
 *   take ASCII letters only (U+017F and U+212A are the letters that differ).
 * - `<|endoftext|>` is an added token there and is split out of any text.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenizerFromGguf } from './gguf.js';
import { ggufTokenizerMetadataFromHf, tokenizerFromHf } from './hf.js';
import { mixedCorpus } from './test-corpus.js';
import { trickyString } from './test-strings.js';
import { gpt2GgufMetadata, gpt2HfJson } from './test-vocabs.js';
import type { BpeTokenizer } from './tokenizer.js';

const QWEN2_HF_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function qwen2StyleJson(): object {
  const json = gpt2HfJson() as unknown as Record<string, unknown>;
  return {
    ...json,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_HF_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
  };
}

const reference = new Tokenizer(qwen2StyleJson(), {});
const ours = tokenizerFromGguf({ ...gpt2GgufMetadata(), 'tokenizer.ggml.pre': 'qwen2' }) as BpeTokenizer;
const comparable = (s: string) => s.replace(/[\u017f\u212a]|<\|endoftext\|>/g, '');
const check = (text: string) => {
  const theirs = reference.encode(text, { add_special_tokens: false }).ids;
  expect(Array.from(ours.encode(text, { addSpecial: false })), JSON.stringify(text.slice(0, 80))).toEqual(theirs);
  return theirs.length;
};

describe('Qwen2 pre-tokenizer against @huggingface/tokenizers', () => {
  it('same ids on fixed strings, 64 KB of mixed text and random strings', () => {
    let compared = 0;
    for (const text of [
      "Qwen2 2024年12月4日 x=3.14159; I'M don'T WE'LL",
      'def f(x):\n    return x * 42  \r\n\r\n\t  end  ',
      '日本語 한국어 العربية 👨‍👩‍👧 e\u0301 ½²Ⅻ ٣',
    ]) {
      compared += check(text);
    }
    const corpus = comparable(mixedCorpus(64 * 1024, 5));
    for (let start = 0; start < corpus.length; start += 2048) compared += check(corpus.slice(start, start + 2048));
    fc.assert(
      fc.property(trickyString(24, true).map(comparable), (text) => {
        check(text);
      }),
      { numRuns: 1000, seed: 3 },
    );
    expect(compared).toBeGreaterThan(10_000);
  });

  it('a tokenizer.json with Qwen2\'s Split imports as pre "qwen2" and tokenizes as Hugging Face does', () => {
    expect(ggufTokenizerMetadataFromHf(qwen2StyleJson() as never)['tokenizer.ggml.pre']).toBe('qwen2');
    const imported = tokenizerFromHf(qwen2StyleJson() as never) as BpeTokenizer;
    const corpus = comparable(mixedCorpus(16 * 1024, 9));
    for (let start = 0; start < corpus.length; start += 2048) {
      const text = corpus.slice(start, start + 2048);
      expect(Array.from(imported.encode(text, { addSpecial: false }))).toEqual(
        reference.encode(text, { add_special_tokens: false }).ids,
      );
    }
    // Digits one at a time: the one place Qwen2's pattern differs from Llama-3's.
    expect(imported.encode('12345', { addSpecial: false }).length).toBe(5);
  });
});
