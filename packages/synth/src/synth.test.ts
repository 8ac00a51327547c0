import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGguf } from '@trit/gguf';
import { openSafetensorsModel } from '@trit/safetensors';
import { tokenizerFromHf } from '@trit/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SynthUsageError } from './errors.js';
import { synthConfig, synthesizeGguf, synthesizeModel } from './synth.js';
import { synthCorpus, trainByteLevelBpe } from './synth-tokenizer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-synth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('synthesizeModel', () => {
  it('bitnet-2b is BitNet b1.58 2B4T’s exact shape', () => {
    const c = synthConfig('bitnet', 'bitnet-2b');
    expect(c).toMatchObject({
      architectures: ['BitNetForCausalLM'],
      hidden_size: 2560,
      num_hidden_layers: 30,
      intermediate_size: 6912,
      num_attention_heads: 20,
      num_key_value_heads: 5,
      vocab_size: 128256,
      tie_word_embeddings: true,
      rope_theta: 500000,
      hidden_act: 'relu2',
    });
  });

  it('is deterministic from the seed, scaled like a trained model, and bitnet projections are ternary × one scale', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const c = join(dir, 'c');
    await synthesizeModel({ arch: 'bitnet', preset: 'tiny', seed: 1, output: a });
    await synthesizeModel({ arch: 'bitnet', preset: 'tiny', seed: 1, output: b });
    await synthesizeModel({ arch: 'bitnet', preset: 'tiny', seed: 2, output: c });
    const bytes = (d: string) => readFile(join(d, 'model.safetensors'));
    expect((await bytes(a)).equals(await bytes(b))).toBe(true);
    expect((await bytes(a)).equals(await bytes(c))).toBe(false);
    expect(await readFile(join(a, 'tokenizer.json'), 'utf8')).toBe(await readFile(join(b, 'tokenizer.json'), 'utf8'));

    const model = await openSafetensorsModel(a);
    expect(model.hasTensor('lm_head.weight')).toBe(false);
    const q = await model.readTensorFloat32('model.layers.0.self_attn.q_proj.weight');
    const levels = new Set(q);
    expect(levels.size).toBe(3);
    const scale = Math.max(...levels);
    expect([...levels].sort((x, y) => x - y)).toEqual([-scale, 0, scale]);
    const std = Math.sqrt(q.reduce((s, v) => s + v * v, 0) / q.length);
    expect(std).toBeGreaterThan(0.8 / Math.sqrt(256));
    expect(std).toBeLessThan(1.2 / Math.sqrt(256));
    const norm = await model.readTensorFloat32('model.layers.1.mlp.ffn_sub_norm.weight');
    expect(Math.min(...norm)).toBeGreaterThan(0.89);
    expect(Math.max(...norm)).toBeLessThan(1.11);
  });

  it('writes a real byte-level BPE that tokenizes and round-trips text', async () => {
    const d = join(dir, 'tok');
    await synthesizeModel({ arch: 'llama', preset: 'tiny', seed: 4, output: d });
    const json = JSON.parse(await readFile(join(d, 'tokenizer.json'), 'utf8'));
    const config = JSON.parse(await readFile(join(d, 'tokenizer_config.json'), 'utf8'));
    expect(json.model.merges.length).toBeGreaterThan(200);
    const tokenizer = tokenizerFromHf(json, config);
    expect(tokenizer.vocabSize).toBe(512);
    const text = 'the model and the kernel quantize ternary weights, 1234 times.';
    const ids = tokenizer.encode(text, { addSpecial: false });
    // Learned merges make common words single tokens: far fewer ids than bytes.
    expect(ids.length).toBeLessThan(text.length / 2);
    expect(tokenizer.decode(ids)).toBe(text);
    const withBos = tokenizer.encode(text);
    expect(withBos[0]).toBe(synthConfig('llama', 'tiny').bos_token_id);
  });

  it('fills any vocabulary size with valid merges', () => {
    const bpe = trainByteLevelBpe('a b a b c', 5000, 3, 50);
    expect(bpe.vocab.length).toBe(5000);
    expect(new Set(bpe.vocab).size).toBe(5000);
    const known = new Set(bpe.vocab);
    for (const [x, y] of bpe.merges) expect(known.has(x) && known.has(y) && known.has(x + y)).toBe(true);
    // bitnet-2b's 128,000 ordinary tokens (+256 specials = one per embedding row, as llama.cpp requires).
    expect(trainByteLevelBpe(synthCorpus(1, 20000), 128000, 0).vocab.length).toBe(128000);
  });

  it('shards over the limit with an index, and --gguf writes a float GGUF', async () => {
    const d = join(dir, 'sharded');
    const result = await synthesizeModel({ arch: 'llama', preset: 'tiny', seed: 0, output: d, maxShardBytes: 1 << 20 });
    const files = await readdir(d);
    expect(files).toContain('model.safetensors.index.json');
    expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(1);
    expect(result.files.every((f) => f.startsWith(d))).toBe(true);
    const index = JSON.parse(await readFile(join(d, 'model.safetensors.index.json'), 'utf8'));
    expect(Object.keys(index.weight_map).length).toBe((await openSafetensorsModel(d)).tensors.length);

    const gguf = join(dir, 'tiny.gguf');
    await synthesizeGguf({ arch: 'bitnet', preset: 'tiny', seed: 0, output: dir, ggufPath: gguf });
    const file = await readGguf(gguf);
    expect(file.architecture).toBe('bitnet');
    expect(new Set(file.tensors.map((t) => t.typeName))).toEqual(new Set(['F16', 'F32']));
    expect(file.metadata.getString('tokenizer.ggml.pre')).toBe('llama-bpe');
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

/** The id of a process that has exited (spawnSync waits for it). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid as number;
}

/** Every file of a directory with its bytes, for comparing whole models. */
async function snapshot(d: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(d)).sort()) out.set(name, (await readFile(join(d, name))).toString('base64'));
  return out;
}

describe('synthesizeModel writes the directory as a whole', () => {
  it('replaces a model it wrote entirely (no old shards beside a new single file), and refuses a directory holding other files', async () => {
    const parent = join(dir, 'whole');
    const d = join(parent, 'model');
    await synthesizeModel({ arch: 'llama', preset: 'tiny', seed: 1, output: d, maxShardBytes: 1 << 20 });
    expect((await readdir(d)).filter((f) => f.startsWith('model-')).length).toBeGreaterThan(1);
    const result = await synthesizeModel({ arch: 'llama', preset: 'tiny', seed: 2, output: d });
    expect((await readdir(d)).sort()).toEqual(
      ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].sort(),
    );
    expect(result.files.map((f) => f.slice(d.length + 1)).sort()).toEqual((await readdir(d)).sort());
    const before = await snapshot(d);

    await writeFile(join(d, 'README.md'), 'my notes');
    const refused = synthesizeModel({ arch: 'llama', preset: 'tiny', seed: 3, output: d });
    await expect(refused).rejects.toThrow(SynthUsageError);
    await expect(refused).rejects.toThrow(/model: holds files this write did not make.*found README\.md\)/);
    await rm(join(d, 'README.md'));
    expect(await snapshot(d)).toEqual(before);
    expect(await readdir(parent)).toEqual(['model']);
  });

  it('an abort mid-way leaves the old model and nothing else', async () => {
    const parent = join(dir, 'aborted');
    const d = join(parent, 'model');
    await synthesizeModel({ arch: 'bitnet', preset: 'tiny', seed: 1, output: d });
    const before = await snapshot(d);
    const controller = new AbortController();
    const run = synthesizeModel({
      arch: 'bitnet',
      preset: 'tiny',
      seed: 2,
      output: d,
      signal: controller.signal,
      onProgress: (done) => {
        if (done === 3) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(await snapshot(d)).toEqual(before);
    expect(await readdir(parent)).toEqual(['model']);
  });

  it('first removes what killed runs left beside the output (staging, temporaries), and says so', async () => {
    const parent = join(dir, 'stale');
    const dead = deadPid();
    await mkdir(join(parent, `.model.trit-staging-${dead}-a1`), { recursive: true });
    await writeFile(join(parent, `.model.trit-staging-${dead}-a1`, 'config.json'), '{}');
    await writeFile(join(parent, `.tiny.gguf.${dead}-b2.tmp`), 'partial gguf');
    await mkdir(join(parent, `.tiny.gguf.trit-synth-${dead}-c3`));
    const messages: string[] = [];
    await synthesizeModel({
      arch: 'llama',
      preset: 'tiny',
      output: join(parent, 'model'),
      onCleanup: (n) => messages.push(n.message),
    });
    expect(messages).toHaveLength(3);
    for (const m of messages)
      expect(m).toMatch(new RegExp(`^removed .*, left by process ${dead}, which is no longer running$`));
    expect(await readdir(parent)).toEqual(['model']);
    // synth --gguf cleans its own directory the same way.
    await writeFile(join(parent, `.tiny.gguf.${dead}-d4.tmp`), 'partial gguf');
    const gguf: string[] = [];
    await synthesizeGguf({
      arch: 'llama',
      preset: 'tiny',
      output: parent,
      ggufPath: join(parent, 'tiny.gguf'),
      onCleanup: (n) => gguf.push(n.path),
    });
    expect(gguf).toEqual([join(parent, `.tiny.gguf.${dead}-d4.tmp`)]);
    expect((await readdir(parent)).sort()).toEqual(['model', 'tiny.gguf']);
  });
});
