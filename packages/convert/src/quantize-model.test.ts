import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufValueType, GgufWriter, readGguf } from '@trit/gguf';
import { QuantizeError } from '@trit/quantizer';
import { float32ToBfloat16Bytes, float32ToBytes, writeShardedSafetensors } from '@trit/safetensors';
import { randomFloats } from '@trit/testkit';
import { tokenizerFromGguf } from '@trit/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { architectureOf, ggufTensorName, type HfConfig, permuteForRope } from './hf.js';
import {
  ggufModelSource,
  hfModelSource,
  type ModelSource,
  type QuantizeModelOptions,
  quantizeModel,
} from './quantize-model.js';

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
  options: {
    maxShardBytes?: number;
    dtype?: 'BF16' | 'F32';
    extra?: Record<string, unknown>;
    /** More tensors, written after the model's own. */
    extraTensors?: [string, number[]][];
  } = {},
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
  shapes.push(...(options.extraTensors ?? []));
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
    expect(file.metadata.getString('trit.quantization.quantizer_version')).toMatch(/^@trit\/convert \d/);
    const tokenizer = tokenizerFromGguf(file);
    expect(Array.from(tokenizer.encode(' the', { addSpecial: false }))).toEqual([256, 257]);
    const types = Object.fromEntries(file.tensors.map((t) => [t.name, t.typeName]));
    expect(types['blk.0.attn_q.weight']).toBe('TQ2_0');
    expect(types['blk.1.ffn_down.weight']).toBe('TQ2_0');
    // llama-quantize's defaults for TQ2_0: Q4_K embeddings, Q6_K head.
    expect(types['token_embd.weight']).toBe('Q4_K');
    expect(types['output.weight']).toBe('Q6_K');
    expect(report.denseTypes.rule).toBe('llama.cpp');
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
    await expect(quantizeModel(mixtral, out)).rejects.toThrow(
      /config\.json: unsupported architecture 'MixtralForCausalLM'/,
    );
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

/** Whether anything named after `output` (the file or a temporary beside it) exists in its directory. */
async function leftovers(output: string): Promise<string[]> {
  const { basename, dirname } = await import('node:path');
  const name = basename(output);
  return (await readdir(dirname(output))).filter((f) => f.includes(name));
}

describe('names from files are data', () => {
  it('tensors named toString and __proto__ are unmapped tensors, not Object.prototype members', async () => {
    const input = join(dir, 'proto-tensors');
    await writeHfModel(input, 'llama', {
      extraTensors: [
        ['toString', [4]],
        ['__proto__', [4]],
        ['constructor', [4]],
      ],
    });
    const out = join(dir, 'proto-tensors.gguf');
    const error = await quantizeModel(input, out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuantizeError);
    expect(String(error)).toMatch(/3 tensors have no GGUF name for llama \(first: toString, __proto__, constructor\)/);
    expect(ggufTensorName('toString')).toBeUndefined();
    expect(ggufTensorName('__proto__')).toBeUndefined();
    expect(ggufTensorName('model.layers.0.constructor')).toBeUndefined();
    expect(ggufTensorName('model.layers.0.hasOwnProperty')).toBeUndefined();
    expect(await leftovers(out)).toEqual([]);
  });

  it('config.json architectures and model_type found on Object.prototype are unsupported', async () => {
    const out = join(dir, 'proto-arch.gguf');
    for (const [name, extra, message] of [
      ['arch-constructor', { architectures: ['constructor'] }, /config\.json: unsupported architecture 'constructor'/],
      ['arch-proto', { architectures: ['__proto__', 'toString'] }, /unsupported architecture '__proto__', 'toString'/],
      [
        'type-constructor',
        { architectures: [], model_type: 'constructor' },
        /config\.json: unsupported architecture 'constructor' \(model_type\)/,
      ],
      [
        'arch-string',
        { architectures: 'LlamaForCausalLM' },
        /config\.json: "architectures" must be an array of strings/,
      ],
      ['type-number', { architectures: [], model_type: 7 }, /config\.json: "model_type" must be a string, found 7/],
    ] as const) {
      const input = join(dir, name);
      await writeHfModel(input, 'llama', { extra });
      const error = await quantizeModel(input, out).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(QuantizeError);
      expect(String(error), name).toMatch(message);
    }
    expect(architectureOf({ architectures: ['toString'], model_type: 'llama' } as HfConfig, 'c')).toBe('llama');
    expect(() => architectureOf({ model_type: 'hasOwnProperty' } as HfConfig, 'c')).toThrow(
      /unsupported architecture 'hasOwnProperty'/,
    );
    expect(await leftovers(out)).toEqual([]);
  });

  it('GGUF metadata keys __proto__, constructor and toString round-trip as ordinary keys', async () => {
    const input = join(dir, 'proto-meta');
    await writeHfModel(input, 'llama', { dtype: 'F32' });
    const hf = await hfModelSource(input);
    // JSON.parse makes "__proto__" an own key, as a file would.
    const odd = JSON.parse('{"__proto__": "p", "constructor": "c", "toString": 7, "hasOwnProperty": true}');
    const first = join(dir, 'proto-meta-1.gguf');
    await quantizeModel({ ...hf, metadata: Object.assign(Object.create(null), hf.metadata, odd) }, first, {
      floatOnly: 'f32',
    });
    // Second pass: the keys now come from a GGUF file.
    const source = await ggufModelSource(first);
    expect(Object.getPrototypeOf(source.metadata)).toBeNull();
    expect(Object.keys(source.metadata)).toEqual(expect.arrayContaining(['__proto__', 'constructor', 'toString']));
    const second = join(dir, 'proto-meta-2.gguf');
    await quantizeModel(first, second, { floatOnly: 'f32' });
    const file = await readGguf(second);
    expect(file.metadata.get('__proto__')).toEqual({ type: GgufValueType.STRING, value: 'p' });
    expect(file.metadata.get('constructor')).toEqual({ type: GgufValueType.STRING, value: 'c' });
    expect(file.metadata.get('toString')).toEqual({ type: GgufValueType.UINT32, value: 7 });
    expect(file.metadata.get('hasOwnProperty')).toEqual({ type: GgufValueType.BOOL, value: true });
    expect(file.tensors.length).toBe(hf.tensors.length);
  });

  it('format and floatOnly names found on Object.prototype are unknown', async () => {
    const input = join(dir, 'proto-format');
    await writeHfModel(input, 'bitnet');
    const out = join(dir, 'proto-format.gguf');
    for (const options of [
      { format: 'toString' },
      { format: 'constructor' },
      { floatOnly: '__proto__' },
      { floatOnly: 'hasOwnProperty' },
    ]) {
      const error = await quantizeModel(input, out, options as QuantizeModelOptions).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QuantizeError);
      expect(String(error)).toMatch(
        /unknown (format|floatOnly type) "(toString|constructor|__proto__|hasOwnProperty)"/,
      );
    }
    expect(await leftovers(out)).toEqual([]);
  });
});

describe('an empty or partial model is an error before any output exists', () => {
  it('a ModelSource with no tensors', async () => {
    const out = join(dir, 'empty-source.gguf');
    const source: ModelSource = { path: 'empty', architecture: 'llama', metadata: {}, tensors: [] };
    for (const options of [{}, { floatOnly: 'f16' } as const]) {
      const error = await quantizeModel(source, out, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QuantizeError);
      expect(String(error)).toMatch(/empty: the model has no tensors/);
    }
    expect(await leftovers(out)).toEqual([]);
  });

  it('a GGUF with metadata but no tensors', async () => {
    const path = join(dir, 'no-tensors.gguf');
    const text = (s: string) => {
      const bytes = new TextEncoder().encode(s);
      return [...u64(bytes.length), ...bytes];
    };
    const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    const u64 = (v: number) => [...u32(v), 0, 0, 0, 0];
    // Magic, version 3, 0 tensors, 1 key: general.architecture = "llama" (type 8, string).
    const bytes = [...[0x47, 0x47, 0x55, 0x46], ...u32(3), ...u64(0), ...u64(1)];
    bytes.push(...text('general.architecture'), ...u32(8), ...text('llama'));
    while (bytes.length % 32 !== 0) bytes.push(0);
    await writeFile(path, new Uint8Array(bytes));
    expect((await readGguf(path)).tensors).toEqual([]);
    const out = join(dir, 'no-tensors-out.gguf');
    const error = await quantizeModel(path, out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuantizeError);
    expect(String(error)).toMatch(/no-tensors\.gguf: the model has no tensors/);
    expect(await leftovers(out)).toEqual([]);
  });

  it('a Hugging Face checkpoint whose index maps nothing, or whose single file holds nothing', async () => {
    const { SafetensorsError } = await import('@trit/safetensors');
    const out = join(dir, 'empty-hf.gguf');
    const sharded = join(dir, 'empty-index');
    await writeHfModel(sharded, 'llama', { maxShardBytes: 300_000 });
    await writeFile(
      join(sharded, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 0 }, weight_map: {} }),
    );
    const indexError = await quantizeModel(sharded, out).catch((e: unknown) => e);
    expect(indexError).toBeInstanceOf(SafetensorsError);
    expect(String(indexError)).toMatch(/model\.safetensors\.index\.json.*weight_map is empty/);
    const single = join(dir, 'empty-single');
    await writeHfModel(single, 'llama');
    await writeShardedSafetensors(single, []);
    const singleError = await quantizeModel(single, out).catch((e: unknown) => e);
    expect(singleError).toBeInstanceOf(SafetensorsError);
    expect(String(singleError)).toMatch(/model\.safetensors.*checkpoint has no tensors/);
    expect(await leftovers(out)).toEqual([]);
  });

  it('tensors that are not a whole model: a block lacks a tensor, or a block is beyond block_count', async () => {
    const input = join(dir, 'partial');
    await writeHfModel(input, 'bitnet');
    const full = await hfModelSource(input);
    const out = join(dir, 'partial.gguf');
    const without = (name: string): ModelSource => ({ ...full, tensors: full.tensors.filter((t) => t.name !== name) });
    for (const [source, message] of [
      [
        without('blk.1.ffn_down.weight'),
        /not a whole bitnet model: 1 required tensors are missing \(first: blk\.1\.ffn_down\.weight\)/,
      ],
      [without('blk.0.attn_sub_norm.weight'), /missing \(first: blk\.0\.attn_sub_norm\.weight\)/],
      [without('token_embd.weight'), /missing \(first: token_embd\.weight\)/],
      [
        { ...full, metadata: { ...full.metadata, 'bitnet.block_count': 1 } },
        /tensor blk\.1\.\* is beyond bitnet\.block_count = 1/,
      ],
      [
        { ...full, metadata: { ...full.metadata, 'bitnet.block_count': 3 } },
        /bitnet\.block_count = 3, but the tensors cover 2 layers \(blk\.0 … blk\.1\)/,
      ],
      [
        { ...full, metadata: { ...full.metadata, 'bitnet.block_count': 2 ** 31 } },
        /bitnet\.block_count = 2147483648, but the tensors cover 2 layers/,
      ],
    ] as const) {
      const error = await quantizeModel(source, out, { floatOnly: 'f16' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QuantizeError);
      expect(String(error)).toMatch(message);
    }
    expect(await leftovers(out)).toEqual([]);
  });
});

describe('hyper-parameters a runtime sizes from are checked, not copied', () => {
  it('config.json num_hidden_layers = 2^31 and a GGUF claiming 2^31 layers are refused before any output exists', async () => {
    const input = join(dir, 'many-layers');
    await writeHfModel(input, 'llama', { extra: { num_hidden_layers: 2 ** 31 } });
    const out = join(dir, 'many-layers.gguf');
    await expect(quantizeModel(input, out)).rejects.toThrow(
      /llama\.block_count = 2147483648, but the tensors cover 2 layers/,
    );
    expect(await leftovers(out)).toEqual([]);

    // A float GGUF that claims 2^31 layers (written through a good one, then its metadata changed).
    const good = join(dir, 'two-layers.gguf');
    await writeHfModel(join(dir, 'two'), 'llama');
    await quantizeModel(join(dir, 'two'), good, { floatOnly: 'f16' });
    const bad = join(dir, 'claims-many.gguf');
    const file = await readGguf(good);
    const writer = await GgufWriter.create(bad);
    for (const [key, value] of file.metadata) writer.setMetadata(key, key === 'llama.block_count' ? 2 ** 31 : value);
    for (const t of file.tensors) writer.addTensor(t.name, t.type, t.shape);
    for (const t of file.tensors) await writer.writeTensorData(t.name, await file.readTensorData(t));
    await writer.finish();
    const error = await quantizeModel(bad, out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuantizeError);
    expect(String(error)).toMatch(
      /llama\.block_count = 2147483648, but the tensors cover 2 layers \(blk\.0 … blk\.1\)/,
    );
    expect(await leftovers(out)).toEqual([]);
  });
});

describe('a config.json the runtime would refuse is refused before any output exists', () => {
  it('widths that disagree with the tensors, non-positive epsilon or RoPE base, a context beyond the cap', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { intermediate_size: 127 },
        /llama\.feed_forward_length gives blk\.0\.ffn_up\.weight the shape \[\d+, 127\], but it has \[\d+, \d+\]/,
      ],
      [{ rms_norm_eps: -1 }, /llama\.attention\.layer_norm_rms_epsilon = -1; expected a finite number above 0/],
      [{ rope_theta: 0 }, /llama\.rope\.freq_base = 0; expected a finite number above 0/],
      // Finite in config.json, but the GGUF holds f32.
      [{ rope_theta: 1e308 }, /llama\.rope\.freq_base = Infinity; expected a finite number above 0/],
      [{ max_position_embeddings: 2 ** 31 }, /llama\.context_length = 2147483648; expected at most 16777216/],
      [{ head_dim: 63 }, /llama\.rope\.dimension_count = 63; expected an even number/],
      [{ hidden_size: 2 ** 31 }, /llama\.embedding_length = 2147483648, but token_embd\.weight rows hold \d+ values/],
    ];
    for (const [extra, message] of cases) {
      const input = join(dir, `config-${Object.keys(extra)[0]}`);
      await writeHfModel(input, 'llama', { extra });
      const out = join(dir, 'config.gguf');
      const error = await quantizeModel(input, out, { floatOnly: 'f16' }).catch((e: unknown) => e);
      expect([extra, error instanceof QuantizeError]).toEqual([extra, true]);
      expect(String(error)).toMatch(message);
      expect(await leftovers(out)).toEqual([]);
    }
    // Nested 100,000 deep: JSON.parse takes it, but JSON.stringify in a message would overflow the stack.
    const deep = join(dir, 'config-deep');
    await writeHfModel(deep, 'llama');
    const config = await readFile(join(deep, 'config.json'), 'utf8');
    await writeFile(
      join(deep, 'config.json'),
      config.replace(/"hidden_size":\d+/, `"hidden_size":${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    );
    await expect(quantizeModel(deep, join(dir, 'deep.gguf'))).rejects.toThrow(
      /hidden_size must be a positive integer, found an array nested too deeply to show/,
    );
    // The runtime knows silu, relu2 and gelu (and their spellings): a bitnet model with another is refused.
    for (const act of ['constructor', 'r    ', 'tanh']) {
      const input = join(dir, 'config-act');
      await writeHfModel(input, 'bitnet', { extra: { hidden_act: act } });
      await expect(quantizeModel(input, join(dir, 'act.gguf'))).rejects.toThrow(
        `hidden_act "${act}" is not supported; supported: silu, swish, relu2, relu_sqr, relu_squared, squared_relu, gelu`,
      );
    }
    for (const key of ['num_key_value_heads', 'max_position_embeddings', 'rope_theta']) {
      await writeFile(
        join(deep, 'config.json'),
        config.replace(new RegExp(`"${key}":[^,}]+`), `"${key}":${'['.repeat(100_000)}${']'.repeat(100_000)}`),
      );
      await expect(quantizeModel(deep, join(dir, 'deep.gguf'))).rejects.toThrow(
        new RegExp(`${key} must be a number, found an array nested too deeply to show`),
      );
    }
  });
});

it('tokenizer metadata the tokenizer refuses (a duplicate token) is refused before any output exists', async () => {
  const input = join(dir, 'dup-token');
  await writeHfModel(input, 'llama');
  const path = join(input, 'tokenizer.json');
  const json = JSON.parse(await readFile(path, 'utf8'));
  json.added_tokens.push({ id: 259, content: '<|endoftext|>', special: true });
  await writeFile(path, JSON.stringify(json));
  const out = join(dir, 'dup-token.gguf');
  const error = await quantizeModel(input, out, { floatOnly: 'f16' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(QuantizeError);
  expect(String(error)).toMatch(/dup-token: the tokenizer cannot be loaded: .*<\|endoftext\|>/);
  expect(await leftovers(out)).toEqual([]);
});

describe('openModelSource names what a file is not', () => {
  it('an empty, short or text .gguf file; another kind of file; a directory without config.json', async () => {
    const out = join(dir, 'never-written.gguf');
    const cases: [string, string | Uint8Array, RegExp][] = [
      ['x.gguf', '', /x\.gguf: empty file \(expected a GGUF file\)/],
      ['text.gguf', 'hello world', /text\.gguf: not a GGUF file \(starts with 0x68 0x65 0x6c 0x6c, expected "GGUF"\)/],
      [
        'short.GGUF',
        'GG',
        /short\.GGUF: not a GGUF file \(starts with 0x47 0x47, only 2 bytes long, expected "GGUF"\)/,
      ],
      ['notes.txt', 'some notes', /notes\.txt: not a model file; expected a GGUF file, a \.safetensors file/],
      ['blank.bin', '', /blank\.bin: not a model file \(it is empty\)/],
    ];
    for (const [name, content, message] of cases) {
      const path = join(dir, name);
      await writeFile(path, content);
      const error = await quantizeModel(path, out).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(QuantizeError);
      expect(String(error), name).toMatch(message);
      expect(String(error), name).not.toMatch(/config\.json/);
    }
    const bare = join(dir, 'bare-dir');
    await mkdir(bare, { recursive: true });
    await expect(quantizeModel(bare, out)).rejects.toThrow(/config\.json: missing/);
    expect(await leftovers(out)).toEqual([]);
  });
});
