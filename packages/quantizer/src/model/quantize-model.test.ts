import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufValueType, readGguf } from '@trit/gguf';
import { float32ToBfloat16Bytes, float32ToBytes, writeShardedSafetensors } from '@trit/safetensors';
import { randomFloats } from '@trit/testkit';
import { tokenizerFromGguf } from '@trit/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuantizeError } from '../errors.js';
import { ggufTensorName, permuteForRope } from './hf.js';
import { quantizeModel } from './quantize-model.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-qm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const E = 256;
const F = 512;
const HEADS = 4;
const KV = 2;
const V = 300;

/** A two-layer Hugging Face checkpoint written by hand (BF16, optionally sharded). */
async function writeHfModel(
  path: string,
  arch: 'llama' | 'bitnet',
  options: { maxShardBytes?: number; dtype?: 'BF16' | 'F32'; extra?: Record<string, unknown> } = {},
) {
  await mkdir(path, { recursive: true });
  const hd = E / HEADS;
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [V, E]]];
  for (let l = 0; l < 2; l++) {
    const b = `model.layers.${l}.`;
    shapes.push(
      [`${b}input_layernorm.weight`, [E]],
      [`${b}self_attn.q_proj.weight`, [E, E]],
      [`${b}self_attn.k_proj.weight`, [KV * hd, E]],
      [`${b}self_attn.v_proj.weight`, [KV * hd, E]],
      [`${b}self_attn.o_proj.weight`, [E, E]],
      [`${b}post_attention_layernorm.weight`, [E]],
      [`${b}mlp.gate_proj.weight`, [F, E]],
      [`${b}mlp.up_proj.weight`, [F, E]],
      [`${b}mlp.down_proj.weight`, [E, F]],
    );
    if (arch === 'bitnet')
      shapes.push([`${b}self_attn.attn_sub_norm.weight`, [E]], [`${b}mlp.ffn_sub_norm.weight`, [F]]);
  }
  shapes.push(['model.norm.weight', [E]]);
  if (arch === 'llama') shapes.push(['lm_head.weight', [V, E]]);
  const dtype = options.dtype ?? 'BF16';
  await writeShardedSafetensors(
    path,
    shapes.map(([name, shape], i) => ({
      name,
      dtype,
      shape,
      data: () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const values = name.includes('norm')
          ? new Float32Array(n).fill(1)
          : randomFloats(n, i + 1, 'gaussian', 1 / Math.sqrt(shape.at(-1) as number));
        return dtype === 'BF16' ? float32ToBfloat16Bytes(values) : float32ToBytes(values);
      },
    })),
    { maxShardBytes: options.maxShardBytes },
  );
  const config = {
    architectures: [arch === 'llama' ? 'LlamaForCausalLM' : 'BitNetForCausalLM'],
    hidden_size: E,
    intermediate_size: F,
    num_hidden_layers: 2,
    num_attention_heads: HEADS,
    num_key_value_heads: KV,
    max_position_embeddings: 128,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    vocab_size: V,
    hidden_act: arch === 'bitnet' ? 'relu2' : 'silu',
    tie_word_embeddings: arch === 'bitnet',
    ...options.extra,
  };
  await writeFile(join(path, 'config.json'), JSON.stringify(config));
  const vocab: Record<string, number> = {};
  const bytes = [...Array(256).keys()].map((b) =>
    String.fromCharCode(b < 33 ? 256 + b : b === 127 ? 289 : b > 126 && b < 161 ? 162 + b : b === 173 ? 323 : b),
  );
  // A byte-level vocabulary (GPT-2 byte map) of the 256 byte symbols, then a few merges.
  bytes.forEach((t, i) => {
    vocab[t] = i;
  });
  vocab.Ġt = 256;
  vocab.he = 257;
  await writeFile(
    join(path, 'tokenizer.json'),
    JSON.stringify({
      added_tokens: [{ id: 258, content: '<|endoftext|>', special: true }],
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
      model: { type: 'BPE', vocab, merges: ['Ġ t', 'h e'] },
    }),
  );
}

describe('HF → GGUF mapping', () => {
  it('maps llama and BitNet names as gguf-py does', () => {
    expect(ggufTensorName('model.embed_tokens.weight')).toBe('token_embd.weight');
    expect(ggufTensorName('lm_head.weight')).toBe('output.weight');
    expect(ggufTensorName('model.layers.11.self_attn.o_proj.weight')).toBe('blk.11.attn_output.weight');
    expect(ggufTensorName('model.layers.3.post_attention_layernorm.weight')).toBe('blk.3.ffn_norm.weight');
    expect(ggufTensorName('model.layers.0.self_attn.attn_sub_norm.weight')).toBe('blk.0.attn_sub_norm.weight');
    expect(ggufTensorName('model.layers.0.mlp.ffn_layernorm.weight')).toBe('blk.0.ffn_sub_norm.weight');
    expect(ggufTensorName('model.layers.0.mlp.experts.0.w1.weight')).toBeUndefined();
  });

  it('permutes Q/K rows: new row 2i + j ← old row j·(hd/2) + i, per head', () => {
    // 2 heads of 4 rows, 1 column: rows hold their own index.
    const out = permuteForRope(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 8, 1, 2);
    expect(Array.from(out)).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    const wide = permuteForRope(
      Float32Array.from({ length: 8 }, (_, i) => i),
      4,
      2,
      1,
    );
    expect(Array.from(wide)).toEqual([0, 1, 4, 5, 2, 3, 6, 7]);
  });
});

describe('quantizeModel', () => {
  it('converts a sharded llama checkpoint: names, permuted Q/K, u32 hyper-parameters, tokenizer, ternary projections', async () => {
    const input = join(dir, 'llama');
    await writeHfModel(input, 'llama', { maxShardBytes: 300_000 });
    expect((await readdir(input)).filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(2);
    const output = join(dir, 'llama.gguf');
    const report = await quantizeModel(input, output, { format: 'tq2_0' });
    const file = await readGguf(output);
    expect(file.architecture).toBe('llama');
    expect(file.metadata.get('llama.block_count')).toEqual({ type: GgufValueType.UINT32, value: 2 });
    expect(file.metadata.get('llama.attention.head_count_kv')).toEqual({ type: GgufValueType.UINT32, value: KV });
    expect(file.metadata.get('llama.rope.freq_base')?.type).toBe(GgufValueType.FLOAT32);
    expect(file.metadata.getString('tokenizer.ggml.pre')).toBe('gpt-2');
    expect(file.metadata.getU32('general.quantization_version')).toBe(2);
    expect(file.metadata.getString('trit.quantization.quantizer_version')).toMatch(/^@trit\/quantizer \d/);
    const tokenizer = tokenizerFromGguf(file);
    expect(Array.from(tokenizer.encode(' the', { addSpecial: false }))).toEqual([256, 257]);
    const types = Object.fromEntries(file.tensors.map((t) => [t.name, t.typeName]));
    expect(types['blk.0.attn_q.weight']).toBe('TQ2_0');
    expect(types['blk.1.ffn_down.weight']).toBe('TQ2_0');
    expect(types['token_embd.weight']).toBe('F16');
    expect(types['output.weight']).toBe('F16');
    expect(types['blk.0.attn_norm.weight']).toBe('F32');
    expect(file.tensor('blk.0.attn_k.weight').shape).toEqual([E, KV * (E / HEADS)]);
    expect(file.tensors.map((t) => t.name).slice(0, 3)).toEqual([
      'output.weight',
      'output_norm.weight',
      'token_embd.weight',
    ]);
    const q = report.tensors.find((t) => t.name === 'blk.0.attn_q.weight');
    expect(q?.sparsity).toBeGreaterThan(0.2);
    expect(q?.relativeError).toBeGreaterThan(0.1);
    expect(q?.relativeError).toBeLessThan(0.7);
    expect(report.totals.ternaryTensors).toBe(14);
    expect(report.totals.bitsPerWeight).toBeLessThan(16);
    expect(report.totals.fileBytes).toBe(file.byteLength);
  });

  it('undoes the Q permutation exactly in float output (row 2i+j of GGUF = row j·hd/2+i of HF)', async () => {
    const input = join(dir, 'llama-f32');
    await writeHfModel(input, 'llama', { dtype: 'F32' });
    const output = join(dir, 'llama-f32.gguf');
    await quantizeModel(input, output, { floatOnly: 'f32' });
    const file = await readGguf(output);
    const { openSafetensorsModel } = await import('@trit/safetensors');
    const hf = await (await openSafetensorsModel(input)).readTensorFloat32('model.layers.0.self_attn.q_proj.weight');
    const gguf = await file.dequantizeTensor('blk.0.attn_q.weight');
    const hd = E / HEADS;
    for (const [h, i, j] of [
      [0, 0, 1],
      [2, 5, 0],
      [3, hd / 2 - 1, 1],
    ]) {
      const from = h * hd + j * (hd / 2) + i;
      const to = h * hd + 2 * i + j;
      expect(gguf.subarray(to * E, (to + 1) * E)).toEqual(hf.subarray(from * E, (from + 1) * E));
    }
    // V is not permuted.
    const v = await (await openSafetensorsModel(input)).readTensorFloat32('model.layers.0.self_attn.v_proj.weight');
    expect(await file.dequantizeTensor('blk.0.attn_v.weight')).toEqual(v);
  });

  it('converts bitnet (relu2 written, sub-norms mapped, no permutation) and a float GGUF input', async () => {
    const input = join(dir, 'bitnet');
    await writeHfModel(input, 'bitnet');
    const f16 = join(dir, 'bitnet-f16.gguf');
    await quantizeModel(input, f16, { floatOnly: 'f16' });
    const float = await readGguf(f16);
    expect(float.metadata.getString('bitnet.hidden_activation')).toBe('relu2');
    expect(float.hasTensor('blk.1.ffn_sub_norm.weight')).toBe(true);
    expect(float.hasTensor('output.weight')).toBe(false);
    const tq1 = join(dir, 'bitnet-tq1.gguf');
    const report = await quantizeModel(f16, tq1, { format: 'tq1_0', layers: { custom: ['blk.*.ffn_*'] } });
    const file = await readGguf(tq1);
    expect(file.tensor('blk.0.ffn_up.weight').typeName).toBe('TQ1_0');
    expect(file.tensor('blk.0.attn_q.weight').typeName).toBe('F16');
    expect(report.totals.ternaryTensors).toBe(6);
    // t158 goes to RuvLLM's dialect, which our reader recognises.
    const t158 = join(dir, 'bitnet-t158.gguf');
    await quantizeModel(f16, t158, { format: 't158' });
    const ruv = await readGguf(t158);
    expect(ruv.dialect).toBe('ruvllm');
    expect(ruv.tensor('blk.0.ffn_up.weight')).toMatchObject({ typeName: 'BITNET_T158', shape: [E, F] });
    expect(
      Array.from((await ruv.readTernaryTensor('blk.0.ffn_up.weight')).codes().subarray(0, 8)).every(
        (c) => c >= -1 && c <= 1,
      ),
    ).toBe(true);
  });

  it('converts dense tensors row slice by row slice to the same bytes as whole, from HF and GGUF inputs', async () => {
    const input = join(dir, 'sliced');
    await writeHfModel(input, 'bitnet', { dtype: 'F32' });
    const { readFile } = await import('node:fs/promises');
    for (const [from, options] of [
      [input, { floatOnly: 'f16' }],
      [input, { floatOnly: 'q8_0' }],
    ] as const) {
      const whole = join(dir, 'whole.gguf');
      const sliced = join(dir, 'sliced.gguf');
      const a = await quantizeModel(from, whole, options);
      // 1000 values: the 300 × 256 embedding goes in 3-row slices, 100 of them.
      const b = await quantizeModel(from, sliced, { ...options, denseSliceValues: 1000 });
      // Buffer.equals: vitest's toEqual walks megabytes element by element.
      expect((await readFile(sliced)).equals(await readFile(whole))).toBe(true);
      expect(b.tensors.map((t) => [t.name, t.mse, t.bytes])).toEqual(a.tensors.map((t) => [t.name, t.mse, t.bytes]));
    }
    // A GGUF input slices through its own row reader.
    const f16 = join(dir, 'sliced-f16.gguf');
    await quantizeModel(input, f16, { floatOnly: 'f16' });
    await quantizeModel(f16, join(dir, 'g-whole.gguf'), { floatOnly: 'f32' });
    await quantizeModel(f16, join(dir, 'g-sliced.gguf'), { floatOnly: 'f32', denseSliceValues: 700 });
    expect((await readFile(join(dir, 'g-sliced.gguf'))).equals(await readFile(join(dir, 'g-whole.gguf')))).toBe(true);
    // A NaN in a later slice is named by its element in the whole tensor.
    const bad = join(dir, 'sliced-nan');
    await writeHfModel(bad, 'bitnet', { dtype: 'F32' });
    const { openSafetensorsModel } = await import('@trit/safetensors');
    const t = (await openSafetensorsModel(bad)).tensor('model.embed_tokens.weight');
    const { open } = await import('node:fs/promises');
    const handle = await open(join(bad, t.shard), 'r+');
    await handle.write(new Uint8Array(new Float32Array([Number.NaN]).buffer), 0, 4, t.fileOffset + 4 * (257 * E + 5));
    await handle.close();
    await expect(quantizeModel(bad, join(dir, 'x.gguf'), { floatOnly: 'f16', denseSliceValues: 1000 })).rejects.toThrow(
      new RegExp(`embed_tokens\\.weight holds NaN at element ${257 * E + 5}`),
    );
  }, 60_000);

  it('names the file and problem for bad input, and leaves no output', async () => {
    const out = join(dir, 'never.gguf');
    await expect(quantizeModel(join(dir, 'missing'), out)).rejects.toThrow(/no such file/);
    const noConfig = join(dir, 'noconfig');
    await writeHfModel(noConfig, 'llama');
    await rm(join(noConfig, 'config.json'));
    await expect(quantizeModel(noConfig, out)).rejects.toThrow(/config\.json: missing/);
    const mixtral = join(dir, 'mixtral');
    await writeHfModel(mixtral, 'llama', { extra: { architectures: ['MixtralForCausalLM'] } });
    await expect(quantizeModel(mixtral, out)).rejects.toThrow(/MixtralForCausalLM is not supported/);
    const aborted = join(dir, 'aborted');
    await writeHfModel(aborted, 'bitnet');
    const bad = join(dir, 'nan');
    await writeHfModel(bad, 'llama', { dtype: 'F32' });
    const { openSafetensorsModel } = await import('@trit/safetensors');
    const model = await openSafetensorsModel(bad);
    const t = model.tensor('model.layers.1.mlp.up_proj.weight');
    const { open } = await import('node:fs/promises');
    const handle = await open(join(bad, t.shard), 'r+');
    await handle.write(new Uint8Array(new Float32Array([Number.NaN]).buffer), 0, 4, t.fileOffset + 8);
    await handle.close();
    const error = await quantizeModel(bad, out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuantizeError);
    expect(String(error)).toMatch(/model\.layers\.1\.mlp\.up_proj\.weight holds NaN at element 2/);
    const controller = new AbortController();
    controller.abort();
    await expect(quantizeModel(aborted, out, { signal: controller.signal })).rejects.toThrow(/abort/);
    expect((await readdir(dir)).filter((f) => f.startsWith('never') || f.startsWith('.never'))).toEqual([]);
  });
});
