import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGguf, validateGguf } from '@trit/gguf';
import { argmax, cosine } from '@trit/testkit';
import { type BitnetCppModelOptions, buildBitnetCppModel } from '@trit/testkit/bitnet-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitNetBackend } from './backend.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-bitnet-cpp-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, options: BitnetCppModelOptions = {}) {
  const model = buildBitnetCppModel({ seed: 7, ...options });
  const path = join(dir, name);
  await writeFile(path, model.bytes);
  return { path, model };
}

const tokens = [5, 200, 17, 42, 8, 99, 260, 120];

async function logitsOf(path: string, options: { activation?: 'silu' | 'relu2' } = {}) {
  const backend = await BitNetBackend.load(path, { contextSize: 16, kernelImplementation: 'js', ...options });
  try {
    return { activation: backend.config.activation, logits: backend.evaluate(tokens, { logits: 'all' }) };
  } finally {
    await backend.dispose();
  }
}

describe('a model file as bitnet.cpp writes it (docs/formats.md §bitnet, §I2_S)', () => {
  it('reads as written: the converter’s keys in order, no tokenizer.ggml.pre or hidden_activation, I2_S projections', async () => {
    const { path, model } = await write('official.gguf');
    const file = await readGguf(path);
    expect(file.dialect).toBe('bitnet.cpp');
    expect([...file.metadata.keys()]).toEqual(model.keys);
    expect(file.metadata.has('tokenizer.ggml.pre')).toBe(false);
    expect(file.metadata.has('bitnet-b1.58.hidden_activation')).toBe(false);
    expect(new Set(file.tensors.map((t) => t.typeName))).toEqual(new Set(['F16', 'F32', 'I2_S']));
    for (const t of model.tensors) {
      expect(file.tensor(t.name).typeName, t.name).toBe(t.type);
      expect(Array.from(await file.dequantizeTensor(t.name)), t.name).toEqual(Array.from(t.values));
    }
    const report = await validateGguf(path, { checkTensorData: true });
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('runs relu²(gate)·up with no flag: its logits match a relu² float reference of the same weights, not SiLU', async () => {
    const { path } = await write('official.gguf');
    const asWritten = await logitsOf(path);
    expect(asWritten.activation).toBe('relu2');
    // The default is relu² exactly: the same logits as asking for it.
    const asked = await logitsOf(path, { activation: 'relu2' });
    expect(Array.from(asWritten.logits)).toEqual(Array.from(asked.logits));

    // References: the same weights in F32 under llama.cpp's `bitnet` with the activation named explicitly,
    // run on the float path (activations not rounded to int8).
    const relu2 = await logitsOf((await write('f32-relu2.gguf', reference('relu2'))).path);
    const silu = await logitsOf((await write('f32-silu.gguf', reference('silu'))).path);
    expect([relu2.activation, silu.activation]).toEqual(['relu2', 'silu']);
    const vocab = asWritten.logits.length / tokens.length;
    const at = (logits: Float32Array, t: number) => logits.subarray(t * vocab, (t + 1) * vocab);
    const againstRelu2: number[] = [];
    const againstSilu: number[] = [];
    tokens.forEach((_, t) => {
      againstRelu2.push(cosine(at(asWritten.logits, t), at(relu2.logits, t)));
      againstSilu.push(cosine(at(asWritten.logits, t), at(silu.logits, t)));
      expect(argmax(at(asWritten.logits, t)), `top-1 at ${t}`).toBe(argmax(at(relu2.logits, t)));
    });
    expect(Math.min(...againstRelu2)).toBeGreaterThan(0.999);
    expect(Math.max(...againstSilu)).toBeLessThan(0.99);
    // Asking for SiLU on the I2_S file follows the SiLU reference instead.
    const forcedSilu = await logitsOf(path, { activation: 'silu' });
    tokens.forEach((_, t) => {
      expect(cosine(at(forcedSilu.logits, t), at(silu.logits, t))).toBeGreaterThan(0.999);
    });
  });

  it('tokenizes without tokenizer.ggml.pre, with llama.cpp’s default pre-tokenizer, BOS first', async () => {
    const { path, model } = await write('official.gguf');
    const backend = await BitNetBackend.load(path, { contextSize: 16, kernelImplementation: 'js' });
    try {
      const tokenizer = backend.tokenizer;
      expect(tokenizer).toBeDefined();
      const ids = Array.from(tokenizer?.encode('the model') ?? []);
      expect(ids.map((id) => model.vocabulary.tokens[id])).toEqual(['<|begin_of_text|>', 't', 'he', 'Ġmod', 'el']);
      expect(tokenizer?.decode(ids.slice(1))).toBe('the model');
    } finally {
      await backend.dispose();
    }
  });
});

function reference(activation: string): BitnetCppModelOptions {
  return { architecture: 'bitnet', projections: 'F32', hiddenActivation: activation };
}
