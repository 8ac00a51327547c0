/**
 * llama.cpp itself as the reference: each vocabulary is written into a GGUF
 * with @trit/gguf, loaded vocabulary-only by the llama.cpp binaries bundled in
 * node-llama-cpp, and both tokenizers must give the same ids. The reference
 * JS libraries (the other parity tests) are checked against the same files,
 * so a difference between them and llama.cpp shows up here too.
 *
 * node-llama-cpp logs "missing tensor 'token_embd.weight'" / "failed to load
 * model" for these files before loading them vocabulary-only; that is expected.
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
import { gpt2GgufMetadata, llama2GgufMetadata, llama3GgufMetadata } from './test-vocabs.js';
import type { BpeTokenizer } from './tokenizer.js';

const { llama, unavailable } = await loadLlamaCpp();
afterAll(() => disposeLlamaCpp(llama));
if (unavailable) console.warn(`skipping llama.cpp tokenizer parity: ${unavailable}`);

const unwrap = (v: unknown) =>
  v && typeof v === 'object' && 'type' in v && 'value' in v ? (v as { value: unknown }).value : v;

/** Hyper-parameters llama.cpp reads before the vocabulary, even vocabulary-only. */
function hyperParameters(arch: string): Record<string, number> {
  const common = {
    context_length: 512,
    embedding_length: 64,
    block_count: 1,
    feed_forward_length: 128,
    'attention.head_count': 4,
  };
  const extra =
    arch === 'gpt2' ? { 'attention.layer_norm_epsilon': 1e-5 } : { 'attention.layer_norm_rms_epsilon': 1e-5 };
  return Object.fromEntries(Object.entries({ ...common, ...extra }).map(([k, v]) => [`${arch}.${k}`, v]));
}

async function writeVocab(path: string, arch: string, metadata: Record<string, unknown>): Promise<void> {
  const w = await GgufWriter.create(path);
  w.setMetadata('general.architecture', arch);
  for (const [key, value] of Object.entries(hyperParameters(arch))) w.setMetadata(key, value);
  for (const [key, value] of Object.entries(metadata)) {
    if (key !== 'general.architecture') w.setMetadata(key, unwrap(value) as never);
  }
  await w.finish();
}

const CASES = [
  { name: 'GPT-2 (gpt2, pre gpt-2)', arch: 'gpt2', metadata: gpt2GgufMetadata },
  { name: 'Llama-3 (gpt2, pre llama-bpe)', arch: 'llama', metadata: llama3GgufMetadata },
  { name: 'Llama-2 (SentencePiece)', arch: 'llama', metadata: llama2GgufMetadata },
];

const FIXED = [
  'Hello world! The quick brown fox jumps over the lazy dog.',
  "I'm sure they'll say it's fine; DON'T YOU THINK? We've I'D she'S",
  'function add(a, b) {\n\treturn a + b; // sum\n}\n\n\n    indented    code\r\n',
  '3.14159265358979 1234567890123 42 007 1,000,000',
  '日本語のテキストと中文混合 العربية हिन्दी Ελληνικά русский',
  '👨‍👩‍👧‍👦 family 👍🏽 🏳️‍🌈 flags 🇺🇸 e\u0301 n\u0303 combining',
  '   leading and trailing spaces   ',
  '\n\n\nnewlines\n \n\t\t',
  '<|begin_of_text|>system<|eot_id|> </s> <s> <|endoftext|> text',
  '',
  ' ',
  'a',
];

describe.skipIf(unavailable !== undefined)('tokenizer parity with llama.cpp', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trit-tok-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.name}: same ids as llama.cpp on fixed, mixed and random text`, async () => {
      if (!llama) return;
      const path = join(dir, `${c.arch}-${CASES.indexOf(c)}.gguf`);
      await writeVocab(path, c.arch, c.metadata());
      const ours = tokenizerFromGguf(await readGguf(path)) as BpeTokenizer;
      const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
      try {
        let compared = 0;
        const check = (text: string, parseSpecial: boolean) => {
          const theirs = Array.from(model.tokenize(text, parseSpecial), Number);
          compared += theirs.length;
          const mine = Array.from(ours.encode(text, { addSpecial: false, parseSpecial }));
          expect(mine, `${JSON.stringify(text.slice(0, 80))} parseSpecial=${parseSpecial}`).toEqual(theirs);
        };
        for (const text of FIXED) for (const parseSpecial of [false, true]) check(text, parseSpecial);
        const corpus = mixedCorpus(64 * 1024, 3);
        for (let start = 0; start < corpus.length; start += 2048) check(corpus.slice(start, start + 2048), false);
        fc.assert(
          fc.property(trickyString(24, true), (text) => check(text, false)),
          { numRuns: 300, seed: 5 },
        );
        // 64 KiB of mixed text alone is well over 10k tokens in every vocabulary.
        expect(compared).toBeGreaterThan(10_000);
      } finally {
        await model.dispose();
      }
    }, 120_000);
  }
});

// Every pre-tokenizer family llama.cpp names, on GPT-2's byte-level vocabulary: the ids depend on the
// splitter (and ignore_merges), so one vocabulary under each name tests each splitter end to end.
const PRE_NAMES = [
  'qwen2',
  'stablelm2',
  'deepseek-llm',
  'deepseek-coder',
  'falcon',
  'starcoder',
  'refact',
  'command-r',
  'smollm',
  'default',
];
const PRE_FIXED = [
  'Qwen2 2024年12月4日 x=3.14159; 한국어 텍스트 ＡＢＣ！？ Ｈｅｌｌｏ「引用」',
  'def f(x):\n    return x * 42  # 1,000,000\r\n\r\n\t`code` $HOME ~/a|b ^c <d>',
  'Été naïve façon ΑΒΓ Привет Ꭰ 𐐀𐐁 ﬁ K Ω \u3000\u3000！ 。\u3000。 \u00a0x\u2003y',
  "don'T WE'LL it's ‘quoted’ “double” … — –",
  '0123456789 ٠١٢ ½ ² Ⅻ 00000 1234567',
];

describe.skipIf(unavailable !== undefined)('pre-tokenizer parity with llama.cpp, by tokenizer.ggml.pre', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trit-pre-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const pre of PRE_NAMES) {
    it(`GPT-2 vocabulary with pre "${pre}": same ids as llama.cpp on fixed, mixed and random text`, async () => {
      if (!llama) return;
      const path = join(dir, `gpt2-${pre}.gguf`);
      await writeVocab(path, 'gpt2', { ...gpt2GgufMetadata(), 'tokenizer.ggml.pre': pre });
      const ours = tokenizerFromGguf(await readGguf(path)) as BpeTokenizer;
      expect(ours.pre).toBe(pre);
      const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
      try {
        let compared = 0;
        const check = (text: string) => {
          const theirs = Array.from(model.tokenize(text, false), Number);
          compared += theirs.length;
          const mine = Array.from(ours.encode(text, { addSpecial: false, parseSpecial: false }));
          expect(mine, `${pre}: ${JSON.stringify(text.slice(0, 80))}`).toEqual(theirs);
        };
        for (const text of [...FIXED, ...PRE_FIXED]) check(text);
        const corpus = mixedCorpus(64 * 1024, 7);
        for (let start = 0; start < corpus.length; start += 2048) check(corpus.slice(start, start + 2048));
        fc.assert(
          fc.property(trickyString(24, true), (text) => check(text)),
          { numRuns: 300, seed: 11 },
        );
        expect(compared).toBeGreaterThan(10_000);
      } finally {
        await model.dispose();
      }
    }, 180_000);
  }
});
