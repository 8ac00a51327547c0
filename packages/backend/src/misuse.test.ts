import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelDisposedError, loadKernel } from '@trit/tl1-kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitNetBackend, type GeneratedToken } from './backend.js';
import { BackendBusyError, BackendDisposedError, BackendUsageError, ModelLoadError } from './errors.js';
import { writeTestModel } from './test-models.js';

let dir: string;
let path: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-misuse-'));
  path = join(dir, 'model.gguf');
  await writeTestModel(path, { arch: 'bitnet', type: 'TQ2_0', layers: 1, context: 128 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KERNELS = [
  { backend: 'native', threads: 1 },
  { backend: 'wasm', threads: 2 },
  { backend: 'js', threads: 1 },
  { backend: 'js', threads: 2 },
] as const;

async function loadOn(kernel: (typeof KERNELS)[number]): Promise<BitNetBackend | undefined> {
  try {
    return await BitNetBackend.load(path, { ...kernel, contextSize: 64 });
  } catch (error) {
    if (kernel.backend === 'native' && process.arch !== 'x64') return undefined;
    throw error;
  }
}

async function collect(tokens: AsyncIterable<GeneratedToken>): Promise<number[]> {
  const ids: number[] = [];
  for await (const t of tokens) if (t.id >= 0) ids.push(t.id);
  return ids;
}

const PROMPT = [1, 300, 301, 302];
const GREEDY = { maxTokens: 6, temperature: 0 } as const;

describe.each(KERNELS)('one model, one sequence ($backend, $threads threads)', (kernel) => {
  it('refuses a second generation while one runs, and the first is unharmed', async () => {
    const model = await loadOn(kernel);
    if (!model) return;
    try {
      const alone = await collect(model.generate(PROMPT, GREEDY));
      const first = model.generate(PROMPT, GREEDY);
      const firstToken = await first.next();
      expect(firstToken.done).toBe(false);
      // Refused at the call, and also at the first step of a generator made before the first started.
      expect(() => model.generate([1, 310], GREEDY)).toThrow(BackendBusyError);
      expect(() => model.evaluate([5])).toThrow(BackendBusyError);
      expect(() => model.forwardToken(5)).toThrow(BackendBusyError);
      expect(() => model.resetCache()).toThrow(BackendBusyError);
      expect(() => model.getEmbeddings([5])).toThrow(/getEmbeddings: the model is generating/);
      const rest = await collect(first);
      expect([(firstToken.value as GeneratedToken).id, ...rest]).toEqual(alone);
      // Free again once it ended.
      expect(await collect(model.generate(PROMPT, GREEDY))).toEqual(alone);
    } finally {
      await model.dispose();
    }
  });

  it('two generators started together: the second fails at its first step, the first is unharmed', async () => {
    const model = await loadOn(kernel);
    if (!model) return;
    try {
      const alone = await collect(model.generate(PROMPT, GREEDY));
      const a = model.generate(PROMPT, GREEDY);
      const b = model.generate([1, 310, 311], GREEDY);
      const [ra, rb] = await Promise.allSettled([collect(a), collect(b)]);
      expect(ra).toEqual({ status: 'fulfilled', value: alone });
      expect(rb.status).toBe('rejected');
      expect((rb as PromiseRejectedResult).reason).toBeInstanceOf(BackendBusyError);
    } finally {
      await model.dispose();
    }
  });

  it('breaking out of a generation frees the model', async () => {
    const model = await loadOn(kernel);
    if (!model) return;
    try {
      for await (const _ of model.generate(PROMPT, GREEDY)) break;
      expect(model.evaluate([5]).length).toBe(model.vocabSize);
    } finally {
      await model.dispose();
    }
  });

  it('every call after dispose() throws BackendDisposedError at once', async () => {
    const model = await loadOn(kernel);
    if (!model) return;
    await model.dispose();
    await model.dispose();
    expect(() => model.evaluate([5])).toThrow(BackendDisposedError);
    expect(() => model.forwardToken(5)).toThrow(/forwardToken: the model was disposed/);
    expect(() => model.generate(PROMPT)).toThrow(BackendDisposedError);
    expect(() => model.getEmbeddings([5])).toThrow(BackendDisposedError);
    expect(() => model.resetCache()).toThrow(BackendDisposedError);
  });

  it('dispose() during a generation ends it with finishReason "aborted"', async () => {
    const model = await loadOn(kernel);
    if (!model) return;
    const ids: number[] = [];
    const generation = model.generate(PROMPT, { ...GREEDY, maxTokens: 20 });
    for await (const t of generation) {
      ids.push(t.id);
      if (ids.length === 2) await model.dispose();
    }
    expect(ids).toHaveLength(2);
    expect(model.lastStats.finishReason).toBe('aborted');
    expect(model.lastStats.generatedTokens).toBe(2);
  });
});

it('a model on a shared kernel that someone disposed throws a typed error, not a hang', async () => {
  const kernel = await loadKernel({ implementation: 'js', threads: 2 });
  const model = await BitNetBackend.load(path, { kernel, contextSize: 64 });
  await kernel.dispose();
  expect(() => model.evaluate([5])).toThrow(KernelDisposedError);
  const generation = model.generate(PROMPT, GREEDY);
  await expect(generation.next()).rejects.toThrow(KernelDisposedError);
  // The failed generation released the model.
  expect(() => model.evaluate([5])).toThrow(KernelDisposedError);
});

describe('option checks', () => {
  it('refuses NaN and infinite sampling options and out-of-range seeds at the call', async () => {
    const model = await BitNetBackend.load(path, { backend: 'js', contextSize: 32 });
    try {
      const bad: [object, RegExp][] = [
        [{ seed: Number.NaN }, /seed = NaN is out of range \(expected an integer in 0…4294967295\)/],
        [{ seed: -1 }, /seed = -1/],
        [{ seed: 1.5 }, /seed = 1.5/],
        [{ seed: 2 ** 32 }, /seed = 4294967296/],
        [{ temperature: Number.POSITIVE_INFINITY }, /temperature = Infinity is out of range/],
        [{ temperature: Number.NaN }, /temperature = NaN/],
        [{ repeatPenalty: Number.POSITIVE_INFINITY }, /repeatPenalty = Infinity/],
        [{ maxTokens: Number.NaN }, /maxTokens must be a non-negative integer, got NaN/],
      ];
      for (const [options, message] of bad) {
        expect(() => model.generate(PROMPT, options)).toThrow(BackendUsageError);
        expect(() => model.generate(PROMPT, options)).toThrow(message);
      }
      expect(() => model.generate([1, 99999])).toThrow(/token id 99999 \(at index 1\) is outside the vocabulary/);
      // A good call still works after the refusals.
      expect(await collect(model.generate(PROMPT, { ...GREEDY, seed: 4294967295 }))).toHaveLength(6);
    } finally {
      await model.dispose();
    }
  });

  it('refuses a contextSize beyond the model context_length, before allocating', async () => {
    await expect(BitNetBackend.load(path, { backend: 'js', contextSize: 1e7 })).rejects.toThrow(
      /contextSize 10000000 is more than the 128 positions of the model's context_length/,
    );
    const model = await BitNetBackend.load(path, { backend: 'js', contextSize: 128 });
    expect(model.contextSize).toBe(128);
    await model.dispose();
  });
});

describe('hyper-parameters checked against the file before anything is allocated', () => {
  it('block_count = 2^31 is a ModelLoadError naming the key, from load and validateModel alike', async () => {
    const bad = join(dir, 'layers.gguf');
    await writeTestModel(bad, { arch: 'llama', type: 'F16', layers: 2, metadata: { 'llama.block_count': 2 ** 31 } });
    const load = BitNetBackend.load(bad, { backend: 'js' });
    await expect(load).rejects.toThrow(ModelLoadError);
    await expect(BitNetBackend.load(bad, { backend: 'js' })).rejects.toThrow(
      /llama\.block_count = 2147483648, but the tensors cover 2 layers \(blk\.0 … blk\.1\)/,
    );
    const validation = await BitNetBackend.validateModel(bad);
    expect(validation.canLoad).toBe(false);
    expect(validation.problems.join()).toMatch(/llama\.block_count = 2147483648/);
  });

  it('head counts beyond the embedding width and a huge context are refused with the key', async () => {
    const heads = join(dir, 'heads.gguf');
    await writeTestModel(heads, {
      arch: 'llama',
      type: 'F16',
      layers: 1,
      metadata: { 'llama.attention.head_count': 4096 },
    });
    await expect(BitNetBackend.load(heads, { backend: 'js' })).rejects.toThrow(
      /llama\.attention\.head_count = 4096 is more heads than the 256 embedding dimensions/,
    );
    const context = join(dir, 'context.gguf');
    await writeTestModel(context, { arch: 'llama', type: 'F16', layers: 1, context: 2 ** 31 });
    await expect(BitNetBackend.load(context, { backend: 'js' })).rejects.toThrow(
      /llama\.context_length = 2147483648; expected at most 16777216/,
    );
  });

  it('validateModel says canLoad only when load succeeds: a tokenizer the tokenizer refuses', async () => {
    const bad = join(dir, 'tokenizer.gguf');
    await writeTestModel(bad, {
      arch: 'llama',
      type: 'F16',
      layers: 1,
      metadata: { 'tokenizer.ggml.scores': new Float32Array(10) },
    });
    const validation = await BitNetBackend.validateModel(bad);
    expect(validation.canLoad).toBe(false);
    expect(validation.problems.join()).toMatch(/^tokenizer: .*scores/);
    await expect(BitNetBackend.load(bad, { backend: 'js' })).rejects.toThrow(ModelLoadError);
  });
});
