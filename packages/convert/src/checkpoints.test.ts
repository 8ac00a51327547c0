import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGguf } from '@trit/gguf';
import { QuantizeError } from '@trit/quantizer';
import {
  bfloat16BytesToFloat32,
  float16BytesToFloat32,
  float32ToBfloat16Bytes,
  float32ToBytes,
  float32ToFloat16Bytes,
  writeShardedSafetensors,
} from '@trit/safetensors';
import { randomFloats, randomTernary } from '@trit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permuteForRope } from './hf.js';
import { QUANTIZATION_METHODS, type QuantizeModelOptions, quantizeModel } from './quantize-model.js';

/*
 * Tiny checkpoints in each published BitNet layout (docs/formats.md §Hugging Face
 * BitNet checkpoints), written with a packer of this file's own, then converted:
 * the GGUF must hold exactly the published codes and scale (packed layouts) or
 * per-tensor absmean's (master weights). The logits check is in
 * packages/backend/src/hf-checkpoints.test.ts (the backend sits above this package).
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const E = 256;
const F = 512;
const HEADS = 4;
const KV = 2;
const HD = E / HEADS;
const V = 300;
const LAYERS = 2;

type Layout =
  | 'packed-bitlinear' // microsoft/bitnet-b1.58-2B-4T
  | 'llama-bitlinear' // Llama3-8B-1.58, Falcon3-1.58bit: LlamaForCausalLM + bitnet quantization_config
  | 'packed-autobitlinear' // offline AutoBitLinear, packed
  | 'codes-autobitlinear' // offline AutoBitLinear, codes stored unpacked as floats
  | 'master' // bitnet-b1.58-2B-4T-bf16: float master weights, no quantization_config
  | 'onebit' // 1bitLLM/bitnet_b1_58-*: BitnetForCausalLM, model_type llama, older sub-norm names
  | 'online-autobitlinear'; // float master weights under an online AutoBitLinear config

const PROJECTIONS: [hf: string, gguf: string, rows: number, cols: number][] = [
  ['self_attn.q_proj', 'attn_q', E, E],
  ['self_attn.k_proj', 'attn_k', KV * HD, E],
  ['self_attn.v_proj', 'attn_v', KV * HD, E],
  ['self_attn.o_proj', 'attn_output', E, E],
  ['mlp.gate_proj', 'ffn_gate', F, E],
  ['mlp.up_proj', 'ffn_up', F, E],
  ['mlp.down_proj', 'ffn_down', E, F],
];

/** pack_weights from its definition: byte [r, c] holds rows r + k·rows/4 at bits 2k, as code + 1. */
function packCodes(codes: Int8Array, rows: number, cols: number): Uint8Array {
  const quarter = rows / 4;
  const out = new Uint8Array(quarter * cols);
  for (let row = 0; row < rows; row++) {
    const k = Math.floor(row / quarter);
    const r = row % quarter;
    for (let c = 0; c < cols; c++) out[r * cols + c] |= (codes[row * cols + c] + 1) << (2 * k);
  }
  return out;
}

const roundHalfEven = (x: number) => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** transformers' WeightQuant in float32: gamma = max(mean|W|, 1e-5), codes = clamp(round(W / gamma)). */
export function weightQuant(w: Float32Array): { codes: Int8Array; gamma: number } {
  let sum = 0;
  for (const x of w) sum += Math.abs(x);
  const gamma = Math.fround(Math.max(Math.fround(sum / w.length), 1e-5));
  const s = Math.fround(1 / gamma);
  return { codes: Int8Array.from(w, (x) => Math.max(-1, Math.min(1, roundHalfEven(Math.fround(x * s))))), gamma };
}

/** The ternary truth of one projection: codes and gamma in Hugging Face row order. */
interface Truth {
  codes: Int8Array;
  gamma: number;
}

interface Written {
  path: string;
  /** Per GGUF projection name, before any Q/K permutation. */
  truth: Map<string, Truth>;
  arch: 'bitnet' | 'llama';
}

async function writeTokenizer(path: string): Promise<void> {
  const vocab: Record<string, number> = {};
  const bytes = [...Array(256).keys()].map((b) =>
    String.fromCharCode(b < 33 ? 256 + b : b === 127 ? 289 : b > 126 && b < 161 ? 162 + b : b === 173 ? 323 : b),
  );
  bytes.forEach((t, i) => {
    vocab[t] = i;
  });
  await writeFile(
    join(path, 'tokenizer.json'),
    JSON.stringify({
      added_tokens: [{ id: 256, content: '<|endoftext|>', special: true }],
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
      model: { type: 'BPE', vocab, merges: [] },
    }),
  );
}

/**
 * Writes a two-layer checkpoint in `layout`; `edit` may change a tensor list or
 * config before writing (to make bad layouts).
 */
export async function writeCheckpoint(
  name: string,
  layout: Layout,
  edit: {
    tensors?: (list: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[]) => void;
    config?: (config: Record<string, unknown>) => void;
  } = {},
): Promise<Written> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  const arch = layout.includes('autobitlinear') || layout === 'llama-bitlinear' ? 'llama' : 'bitnet';
  const bitlinear = layout === 'packed-bitlinear' || layout === 'llama-bitlinear';
  const tensors: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[] = [];
  const float = (tensorName: string, shape: number[], values: Float32Array, dtype: 'F32' | 'BF16' = 'F32') =>
    tensors.push({
      name: tensorName,
      dtype,
      shape,
      bytes: dtype === 'BF16' ? float32ToBfloat16Bytes(values) : float32ToBytes(values),
    });
  let seed = 1;
  float('model.embed_tokens.weight', [V, E], randomFloats(V * E, seed++, 'gaussian', 1));
  const truth = new Map<string, Truth>();
  for (let l = 0; l < LAYERS; l++) {
    const b = `model.layers.${l}.`;
    const norm = (n: number) => Float32Array.from(randomFloats(n, seed++, 'uniform', 1), (x) => 1 + 0.2 * x);
    float(`${b}input_layernorm.weight`, [E], norm(E));
    float(`${b}post_attention_layernorm.weight`, [E], norm(E));
    if (arch === 'bitnet') {
      const [attn, ffn] =
        layout === 'onebit'
          ? ['self_attn.inner_attn_ln', 'mlp.ffn_layernorm']
          : ['self_attn.attn_sub_norm', 'mlp.ffn_sub_norm'];
      float(`${b}${attn}.weight`, [E], norm(E));
      float(`${b}${ffn}.weight`, [F], norm(F));
    }
    for (const [hf, gguf, rows, cols] of PROJECTIONS) {
      const tensorName = `${b}${hf}.weight`;
      const ggufName = `blk.${l}.${gguf}.weight`;
      const n = rows * cols;
      if (layout === 'master' || layout === 'onebit' || layout === 'online-autobitlinear') {
        const dtype = layout === 'master' ? 'BF16' : 'F32';
        let w = randomFloats(n, seed++, 'gaussian', 1 / Math.sqrt(cols));
        if (dtype === 'BF16') w = bfloat16BytesToFloat32(float32ToBfloat16Bytes(w));
        float(tensorName, [rows, cols], w, dtype);
        const { codes, gamma } = weightQuant(w);
        truth.set(ggufName, { codes, gamma });
        continue;
      }
      const codes = randomTernary(n, seed++);
      // bf16-exact published scales: bitlinear holds 1/gamma, autobitlinear gamma.
      const k = 20 + ((seed * 7) % 40);
      const weightScale = bitlinear ? k : k / 1024;
      const gamma = Math.fround(bitlinear ? 1 / weightScale : weightScale);
      truth.set(ggufName, { codes, gamma });
      if (layout === 'codes-autobitlinear') float(tensorName, [rows, cols], Float32Array.from(codes));
      else
        tensors.push({ name: tensorName, dtype: 'U8', shape: [rows / 4, cols], bytes: packCodes(codes, rows, cols) });
      float(`${b}${hf}.weight_scale`, [1], new Float32Array([weightScale]), 'BF16');
    }
  }
  float('model.norm.weight', [E], new Float32Array(E).fill(1));
  if (arch === 'llama') float('lm_head.weight', [V, E], randomFloats(V * E, seed++, 'gaussian', 1 / Math.sqrt(E)));
  edit.tensors?.(tensors);
  await writeShardedSafetensors(
    path,
    tensors.map((t) => ({ name: t.name, dtype: t.dtype as 'F32', shape: t.shape, data: () => t.bytes })),
  );
  const config: Record<string, unknown> = {
    architectures: [
      layout === 'onebit' ? 'BitnetForCausalLM' : arch === 'bitnet' ? 'BitNetForCausalLM' : 'LlamaForCausalLM',
    ],
    model_type: layout === 'onebit' || arch === 'llama' ? 'llama' : 'bitnet',
    hidden_size: E,
    intermediate_size: F,
    num_hidden_layers: LAYERS,
    num_attention_heads: HEADS,
    num_key_value_heads: KV,
    max_position_embeddings: 128,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    vocab_size: V,
    hidden_act: layout === 'onebit' || arch === 'llama' ? 'silu' : 'relu2',
    tie_word_embeddings: arch === 'bitnet',
  };
  // Llama3-8B-1.58 publishes only the method: linear_class and quantization_mode take their defaults.
  if (layout === 'llama-bitlinear')
    config.quantization_config = { quant_method: 'bitnet', modules_to_not_convert: null };
  if (layout === 'packed-bitlinear')
    config.quantization_config = { quant_method: 'bitnet', linear_class: 'bitlinear', quantization_mode: 'offline' };
  if (layout === 'packed-autobitlinear' || layout === 'codes-autobitlinear')
    config.quantization_config = {
      quant_method: 'bitnet',
      linear_class: 'autobitlinear',
      quantization_mode: 'offline',
    };
  if (layout === 'online-autobitlinear')
    config.quantization_config = { quant_method: 'bitnet', linear_class: 'autobitlinear', quantization_mode: 'online' };
  edit.config?.(config);
  await writeFile(join(path, 'config.json'), JSON.stringify(config));
  await writeTokenizer(path);
  return { path, truth, arch };
}

const f16 = (x: number) => float16BytesToFloat32(float32ToFloat16Bytes(new Float32Array([x])))[0] as number;

/** Checks every projection of the GGUF against the truth: exact codes, gamma in every block (fp16) or once (I2_S, f32). */
async function expectTruth(gguf: string, written: Written, format: 'tq2_0' | 'tq1_0' | 'i2_s'): Promise<void> {
  const file = await readGguf(gguf);
  expect(file.architecture).toBe(format === 'i2_s' ? 'bitnet-b1.58' : written.arch);
  for (const [name, { codes, gamma }] of written.truth) {
    const info = file.tensors.find((t) => t.name === name);
    expect(info?.typeInfo.name, name).toBe(format.toUpperCase());
    const tensor = await file.readTernaryTensor(name);
    const [rows, cols] = tensor.shape;
    const heads = written.arch === 'llama' ? (/attn_q/.test(name) ? HEADS : /attn_k/.test(name) ? KV : 0) : 0;
    const want = heads ? permuteForRope(codes, rows, cols, heads) : codes;
    const got = tensor.codes();
    let mismatches = 0;
    for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) mismatches++;
    expect(mismatches, `${name}: codes differing from the published ones`).toBe(0);
    const scale = format === 'i2_s' ? gamma : f16(gamma);
    expect(new Set(tensor.scales), name).toEqual(new Set([scale]));
  }
}

const LAYOUTS: [Layout, string][] = [
  ['packed-bitlinear', QUANTIZATION_METHODS.packed],
  ['llama-bitlinear', QUANTIZATION_METHODS.packed],
  ['packed-autobitlinear', QUANTIZATION_METHODS.packed],
  ['codes-autobitlinear', QUANTIZATION_METHODS.packed],
  ['master', QUANTIZATION_METHODS.perTensor],
  ['onebit', QUANTIZATION_METHODS.perTensor],
  ['online-autobitlinear', QUANTIZATION_METHODS.perTensor],
];

describe('Hugging Face BitNet checkpoints, as published', () => {
  for (const [layout, method] of LAYOUTS) {
    it(`${layout}: stores the ${method === QUANTIZATION_METHODS.packed ? 'published codes and scale' : 'per-tensor absmean codes'} in TQ2_0, TQ1_0${layout.includes('autobitlinear') || layout === 'llama-bitlinear' ? '' : ' and I2_S'}`, async () => {
      const written = await writeCheckpoint(layout, layout);
      const formats = written.arch === 'bitnet' ? (['tq2_0', 'tq1_0', 'i2_s'] as const) : (['tq2_0', 'tq1_0'] as const);
      for (const format of formats) {
        const out = join(dir, `${layout}-${format}.gguf`);
        const report = await quantizeModel(written.path, out, { format });
        expect(report.quantization).toEqual([method]);
        expect(report.totals.ternaryTensors).toBe(LAYERS * PROJECTIONS.length);
        expect(report.fileArchitecture).toBe(format === 'i2_s' ? 'bitnet-b1.58' : written.arch);
        await expectTruth(out, written, format);
        const file = await readGguf(out);
        if (written.arch === 'bitnet')
          expect(file.metadata.getString(`${report.fileArchitecture}.hidden_activation`)).toBe(
            layout === 'onebit' ? 'silu' : 'relu2',
          );
        expect(file.metadata.getString('tokenizer.ggml.model')).toBe('gpt2');
      }
    });
  }

  it('block scales stay an explicit option for BitNet master weights, and the default for float llama models', async () => {
    const written = await writeCheckpoint('master-block', 'master');
    const block = await quantizeModel(written.path, join(dir, 'master-block.gguf'), { scales: 'block' });
    expect(block.quantization).toEqual([QUANTIZATION_METHODS.perBlockSearch]);
    const plain = await quantizeModel(written.path, join(dir, 'master-plain.gguf'), {
      optimizeScales: false,
      scales: 'block',
    });
    expect(plain.quantization).toEqual([QUANTIZATION_METHODS.perBlock]);
    // An explicit optimizeScales asks for per-block scales.
    const searched = await quantizeModel(written.path, join(dir, 'master-search.gguf'), { optimizeScales: true });
    expect(searched.quantization).toEqual([QUANTIZATION_METHODS.perBlockSearch]);
    // A packed checkpoint keeps its codes whatever the scales option says.
    const packed = await writeCheckpoint('packed-block', 'packed-bitlinear');
    const kept = await quantizeModel(packed.path, join(dir, 'packed-block.gguf'), { scales: 'block' });
    expect(kept.quantization).toEqual([QUANTIZATION_METHODS.packed]);
    await expectTruth(join(dir, 'packed-block.gguf'), packed, 'tq2_0');
  });

  it('keeps modules_to_not_convert in float', async () => {
    const written = await writeCheckpoint('skip', 'online-autobitlinear', {
      config: (c) => {
        (c.quantization_config as Record<string, unknown>).modules_to_not_convert = ['mlp.down_proj'];
      },
    });
    const report = await quantizeModel(written.path, join(dir, 'skip.gguf'));
    expect(report.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')?.format).toBe('F16');
    expect(report.tensors.find((t) => t.name === 'blk.0.ffn_up.weight')?.format).toBe('TQ2_0');
  });
});

describe('layouts and configs that cannot be interpreted', () => {
  const refused = async (
    name: string,
    layout: Layout,
    edit: Parameters<typeof writeCheckpoint>[2],
    pattern: RegExp,
    options: QuantizeModelOptions = {},
  ) => {
    const written = await writeCheckpoint(name, layout, edit);
    const out = join(dir, `${name}.gguf`);
    const attempt = quantizeModel(written.path, out, options);
    await expect(attempt).rejects.toBeInstanceOf(QuantizeError);
    await expect(quantizeModel(written.path, out, options)).rejects.toThrow(pattern);
  };
  const setQuant = (key: string, value: unknown) => (c: Record<string, unknown>) => {
    (c.quantization_config as Record<string, unknown>)[key] = value;
  };

  it('names the quantization_config key and value it cannot interpret', async () => {
    await refused(
      'qm',
      'packed-bitlinear',
      { config: setQuant('quant_method', 'gptq') },
      /quant_method "gptq" is not supported; supported: "bitnet"/,
    );
    await refused(
      'lc',
      'packed-bitlinear',
      { config: setQuant('linear_class', 'bitlinear2') },
      /linear_class "bitlinear2" is not supported; supported: bitlinear, autobitlinear/,
    );
    await refused(
      'mode',
      'packed-bitlinear',
      { config: setQuant('quantization_mode', 'lazy') },
      /quantization_mode "lazy"/,
    );
    await refused(
      'rms',
      'packed-autobitlinear',
      { config: setQuant('use_rms_norm', true) },
      /use_rms_norm true is not supported/,
    );
  });

  it('names the tensor and the layout found for packed weights that do not fit', async () => {
    const q = 'model.layers.0.self_attn.q_proj.weight';
    await refused(
      'shape',
      'packed-bitlinear',
      {
        tensors: (list) => {
          const t = list.find((x) => x.name === q);
          if (t) Object.assign(t, { shape: [E / 8, 2 * E] });
        },
      },
      /q_proj\.weight: layout U8 \[32, 512\] with weight_scale holds a \[128, 512\] ternary matrix, config\.json makes blk\.0\.attn_q\.weight \[256, 256\] \(packed as \[64, 256\]\)/,
    );
    await refused(
      'no-scale',
      'packed-bitlinear',
      {
        tensors: (list) =>
          list.splice(
            list.findIndex((x) => x.name === `${q}_scale`),
            1,
          ),
      },
      /q_proj\.weight: layout U8 \[64, 256\] is a uint8 weight without a weight_scale; supported: /,
    );
    await refused(
      'orphan-scale',
      'packed-bitlinear',
      {
        tensors: (list) =>
          list.splice(
            list.findIndex((x) => x.name === q),
            1,
          ),
      },
      /q_proj\.weight_scale is a weight_scale with no packed weight beside it/,
    );
    await refused(
      'no-config',
      'packed-bitlinear',
      { config: (c) => delete c.quantization_config },
      /q_proj\.weight: layout U8 \[64, 256\] with weight_scale is a weight_scale, but config\.json has no quantization_config/,
    );
    await refused(
      'code-3',
      'packed-bitlinear',
      {
        tensors: (list) => {
          const t = list.find((x) => x.name === q);
          if (t) t.bytes[5] = 0b1100_0000;
        },
      },
      /q_proj\.weight: packed byte 5 \(row 0, column 5\) holds 2-bit value 3 in bits 6–7/,
    );
    await refused(
      'int8',
      'master',
      {
        tensors: (list) => {
          const t = list.find((x) => x.name === q);
          if (t) Object.assign(t, { dtype: 'I8', bytes: new Uint8Array(E * E) });
        },
      },
      /q_proj\.weight: layout I8 \[256, 256\] is not supported; supported: F32\/F16\/BF16/,
    );
    await refused(
      'float-not-codes',
      'codes-autobitlinear',
      {
        tensors: (list) => {
          const t = list.find((x) => x.name === q);
          if (t) t.bytes.set(float32ToBytes(new Float32Array([0.5])), 8);
        },
      },
      /q_proj\.weight: offline autobitlinear weight beside a weight_scale must hold codes -1, 0, 1; element 2 is 0\.5/,
    );
  });

  it('refuses I2_S for llama-based checkpoints and options that contradict each other', async () => {
    await refused(
      'i2s-llama',
      'packed-autobitlinear',
      {},
      /format i2_s is written under bitnet\.cpp's bitnet-b1\.58 architecture/,
      {
        format: 'i2_s',
      },
    );
    await refused('i2s-block', 'master', {}, /format i2_s has one scale per tensor/, {
      format: 'i2_s',
      scales: 'block',
    });
    await refused('tensor-search', 'master', {}, /optimizeScales searches per-block scales/, {
      scales: 'tensor',
      optimizeScales: true,
    });
    await refused(
      'bad-type',
      'master',
      {},
      /outputType "q9_9" is not a type the converter can write; use f32, f16, .*q8_0/,
      {
        outputType: 'q9_9',
      },
    );
    // Q8_K only rounds activations; no weight is stored in it.
    await refused('q8k', 'master', {}, /embeddingType "q8_k" is not a type the converter can write/, {
      embeddingType: 'q8_k',
    });
  });
});

describe('dense types of the head and embeddings', () => {
  it('writes K-quant heads and embeddings through the type table, close to the float values', async () => {
    const llama = await writeCheckpoint('types-k', 'packed-autobitlinear');
    const out = join(dir, 'types-k.gguf');
    const report = await quantizeModel(llama.path, out, { outputType: 'q6_k', embeddingType: 'q4_k' });
    const output = report.tensors.find((t) => t.name === 'output.weight');
    const embedding = report.tensors.find((t) => t.name === 'token_embd.weight');
    expect(output?.format).toBe('Q6_K');
    expect(embedding?.format).toBe('Q4_K');
    // 6.56 and 4.5 bits per weight over 300×256 values.
    expect(output?.bytes).toBe((V * E * 210) / 256);
    expect(embedding?.bytes).toBe((V * E * 144) / 256);
    expect(output?.relativeError).toBeLessThan(0.02);
    expect(embedding?.relativeError).toBeLessThan(0.1);
    const file = await readGguf(out);
    expect(file.tensors.find((t) => t.name === 'output.weight')?.typeInfo.name).toBe('Q6_K');
    expect(file.metadata.getNumber('general.quantization_version')).toBe(2);
  });

  it("defaults to llama-quantize's types: Q6_K head and Q4_K embeddings for TQ2_0/TQ1_0, F16 for I2_S", async () => {
    const llama = await writeCheckpoint('defaults-llama', 'packed-autobitlinear');
    for (const format of ['tq2_0', 'tq1_0'] as const) {
      const report = await quantizeModel(llama.path, join(dir, `defaults-llama-${format}.gguf`), { format });
      expect(report.denseTypes).toEqual({ output: 'Q6_K', tokenEmbd: 'Q4_K', rule: 'llama.cpp' });
      expect(report.tensors.find((t) => t.name === 'output.weight')?.format).toBe('Q6_K');
    }
    const bitnet = await writeCheckpoint('defaults-bitnet', 'packed-bitlinear');
    // Tied: token_embd is the head, so it takes the head's rule.
    const tied = await quantizeModel(bitnet.path, join(dir, 'defaults-bitnet.gguf'));
    expect(tied.denseTypes).toEqual({ tokenEmbd: 'Q6_K', rule: 'llama.cpp' });
    const i2s = await quantizeModel(bitnet.path, join(dir, 'defaults-i2s.gguf'), { format: 'i2_s' });
    expect(i2s.denseTypes).toEqual({ tokenEmbd: 'F16', rule: 'bitnet.cpp' });
    const t158 = await quantizeModel(bitnet.path, join(dir, 'defaults-t158.gguf'), { format: 't158' });
    expect(t158.denseTypes).toEqual({ tokenEmbd: 'F16', rule: 'dense precision' });
    const file = await readGguf(join(dir, 'defaults-bitnet.gguf'));
    expect(file.tensors.find((t) => t.name === 'token_embd.weight')?.typeInfo.name).toBe('Q6_K');
  });

  it('writes the output and embedding types asked for; a tied head is token_embd', async () => {
    const llama = await writeCheckpoint('types-llama', 'packed-autobitlinear');
    const report = await quantizeModel(llama.path, join(dir, 'types-llama.gguf'), {
      outputType: 'q8_0',
      embeddingType: 'f32',
    });
    expect(report.tensors.find((t) => t.name === 'output.weight')?.format).toBe('Q8_0');
    expect(report.tensors.find((t) => t.name === 'token_embd.weight')?.format).toBe('F32');
    const bitnet = await writeCheckpoint('types-bitnet', 'packed-bitlinear');
    const tied = await quantizeModel(bitnet.path, join(dir, 'types-bitnet.gguf'), {
      outputType: 'q8_0',
      embeddingType: 'f32',
    });
    expect(tied.tensors.find((t) => t.name === 'token_embd.weight')?.format).toBe('Q8_0');
    expect(tied.denseTypes).toEqual({ tokenEmbd: 'Q8_0', rule: 'options' });
    const f16 = await quantizeModel(bitnet.path, join(dir, 'types-f16.gguf'), { outputType: 'f16' });
    expect(f16.tensors.find((t) => t.name === 'token_embd.weight')?.format).toBe('F16');
    const file = await readGguf(join(dir, 'types-bitnet.gguf'));
    const embedding = await file.dequantizeTensor('token_embd.weight');
    const source = await readGguf(join(dir, 'types-f16.gguf'));
    const reference = await source.dequantizeTensor('token_embd.weight');
    let se = 0;
    let norm = 0;
    for (let i = 0; i < reference.length; i++) {
      se += (embedding[i] - reference[i]) ** 2;
      norm += reference[i] ** 2;
    }
    expect(Math.sqrt(se / norm)).toBeLessThan(0.01);
  });
});
