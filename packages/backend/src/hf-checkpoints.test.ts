import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModel } from '@trit/convert';
import {
  bfloat16BytesToFloat32,
  float32ToBfloat16Bytes,
  float32ToBytes,
  writeShardedSafetensors,
} from '@trit/safetensors';
import { randomFloats, randomTernary } from '@trit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitNetBackend } from './backend.js';

/*
 * Hugging Face BitNet checkpoints in each published layout (docs/formats.md
 * §Hugging Face BitNet checkpoints), converted by @trit/convert, must run as
 * the float model of the same ternary weights: W = codes × gamma written as
 * F32. The layouts are written here with this file's own packer; the exact
 * codes and scales in the GGUF are checked in packages/convert/src/checkpoints.test.ts.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-hf-bitnet-'));
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
  | 'packed-bitlinear'
  | 'llama-bitlinear'
  | 'packed-autobitlinear'
  | 'master'
  | 'onebit'
  | 'online-autobitlinear';

const PROJECTIONS: [hf: string, rows: number, cols: number][] = [
  ['self_attn.q_proj', E, E],
  ['self_attn.k_proj', KV * HD, E],
  ['self_attn.v_proj', KV * HD, E],
  ['self_attn.o_proj', E, E],
  ['mlp.gate_proj', F, E],
  ['mlp.up_proj', F, E],
  ['mlp.down_proj', E, F],
];

/** pack_weights from its definition: byte [r, c] holds rows r + k·rows/4 at bits 2k, as code + 1. */
function packCodes(codes: Int8Array, rows: number, cols: number): Uint8Array {
  const quarter = rows / 4;
  const out = new Uint8Array(quarter * cols);
  for (let row = 0; row < rows; row++)
    for (let c = 0; c < cols; c++)
      out[(row % quarter) * cols + c] |= (codes[row * cols + c] + 1) << (2 * Math.floor(row / quarter));
  return out;
}

/** transformers' WeightQuant in float32 (torch.round: halves to even), returning the ternary weights codes × gamma. */
function weightQuant(w: Float32Array): Float32Array {
  let sum = 0;
  for (const x of w) sum += Math.abs(x);
  const gamma = Math.fround(Math.max(Math.fround(sum / w.length), 1e-5));
  const s = Math.fround(1 / gamma);
  return Float32Array.from(w, (x) => {
    const q = Math.fround(x * s);
    return (q > 0.5 ? 1 : q < -0.5 ? -1 : 0) * gamma;
  });
}

/**
 * Writes the checkpoint in `layout` and, beside it, the float reference: the
 * same model with every projection replaced by its ternary weights as F32.
 */
async function writeCheckpoint(layout: Layout): Promise<{ path: string; reference: string }> {
  const path = join(dir, layout);
  const reference = join(dir, `${layout}-reference`);
  const arch = layout.includes('autobitlinear') || layout === 'llama-bitlinear' ? 'llama' : 'bitnet';
  const bitlinear = layout === 'packed-bitlinear' || layout === 'llama-bitlinear';
  type Tensor = { name: string; dtype: 'F32' | 'BF16' | 'U8'; shape: number[]; bytes: Uint8Array };
  const published: Tensor[] = [];
  const float: Tensor[] = [];
  const both = (name: string, shape: number[], values: Float32Array) => {
    const t = { name, dtype: 'F32' as const, shape, bytes: float32ToBytes(values) };
    published.push(t);
    float.push(t);
  };
  let seed = 100;
  both('model.embed_tokens.weight', [V, E], randomFloats(V * E, seed++, 'gaussian', 1));
  for (let l = 0; l < LAYERS; l++) {
    const b = `model.layers.${l}.`;
    const norm = (n: number) => Float32Array.from(randomFloats(n, seed++, 'uniform', 1), (x) => 1 + 0.2 * x);
    both(`${b}input_layernorm.weight`, [E], norm(E));
    both(`${b}post_attention_layernorm.weight`, [E], norm(E));
    if (arch === 'bitnet') {
      const [attn, ffn] =
        layout === 'onebit'
          ? ['self_attn.inner_attn_ln', 'mlp.ffn_layernorm']
          : ['self_attn.attn_sub_norm', 'mlp.ffn_sub_norm'];
      both(`${b}${attn}.weight`, [E], norm(E));
      both(`${b}${ffn}.weight`, [F], norm(F));
    }
    for (const [hf, rows, cols] of PROJECTIONS) {
      const name = `${b}${hf}.weight`;
      const n = rows * cols;
      if (layout === 'master' || layout === 'onebit' || layout === 'online-autobitlinear') {
        let w = randomFloats(n, seed++, 'gaussian', 1 / Math.sqrt(cols));
        if (layout === 'master') w = bfloat16BytesToFloat32(float32ToBfloat16Bytes(w));
        published.push({
          name,
          dtype: layout === 'master' ? 'BF16' : 'F32',
          shape: [rows, cols],
          bytes: layout === 'master' ? float32ToBfloat16Bytes(w) : float32ToBytes(w),
        });
        float.push({ name, dtype: 'F32', shape: [rows, cols], bytes: float32ToBytes(weightQuant(w)) });
        continue;
      }
      const codes = randomTernary(n, seed++);
      const k = 20 + ((seed * 7) % 40);
      const weightScale = bitlinear ? k : k / 1024;
      const gamma = Math.fround(bitlinear ? 1 / weightScale : weightScale);
      published.push({ name, dtype: 'U8', shape: [rows / 4, cols], bytes: packCodes(codes, rows, cols) });
      published.push({
        name: `${b}${hf}.weight_scale`,
        dtype: 'BF16',
        shape: [1],
        bytes: float32ToBfloat16Bytes(new Float32Array([weightScale])),
      });
      float.push({
        name,
        dtype: 'F32',
        shape: [rows, cols],
        bytes: float32ToBytes(Float32Array.from(codes, (c) => c * gamma)),
      });
    }
  }
  both('model.norm.weight', [E], new Float32Array(E).fill(1));
  if (arch === 'llama') both('lm_head.weight', [V, E], randomFloats(V * E, seed++, 'gaussian', 1 / Math.sqrt(E)));
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
    rope_theta: 10000,
    vocab_size: V,
    hidden_act: layout === 'onebit' || arch === 'llama' ? 'silu' : 'relu2',
    tie_word_embeddings: arch === 'bitnet',
  };
  const quantization: Partial<Record<Layout, object>> = {
    'packed-bitlinear': { quant_method: 'bitnet', linear_class: 'bitlinear', quantization_mode: 'offline' },
    'llama-bitlinear': { quant_method: 'bitnet', modules_to_not_convert: null },
    'packed-autobitlinear': { quant_method: 'bitnet', linear_class: 'autobitlinear', quantization_mode: 'offline' },
    'online-autobitlinear': { quant_method: 'bitnet', linear_class: 'autobitlinear', quantization_mode: 'online' },
  };
  for (const [target, tensors, quantized] of [
    [path, published, true],
    [reference, float, false],
  ] as const) {
    await mkdir(target, { recursive: true });
    await writeShardedSafetensors(
      target,
      tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: () => t.bytes })),
    );
    const q = quantized ? quantization[layout] : undefined;
    await writeFile(join(target, 'config.json'), JSON.stringify(q ? { ...config, quantization_config: q } : config));
  }
  return { path, reference };
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let x = 0;
  let y = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    x += a[i] * a[i];
    y += b[i] * b[i];
  }
  return dot / Math.sqrt(x * y);
}

const argmax = (values: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
};

const TOKENS = [3, 250, 17, 42, 8, 99, 120, 5];

async function logitsOf(path: string): Promise<Float32Array> {
  const backend = await BitNetBackend.load(path, { contextSize: 16 });
  try {
    return Float32Array.from(backend.evaluate(TOKENS, { logits: 'all' }));
  } finally {
    await backend.dispose();
  }
}

const CASES: [Layout, readonly ('tq2_0' | 'tq1_0' | 'i2_s')[]][] = [
  ['packed-bitlinear', ['tq2_0', 'tq1_0', 'i2_s']],
  ['llama-bitlinear', ['tq2_0']],
  ['packed-autobitlinear', ['tq2_0', 'tq1_0']],
  ['master', ['tq2_0', 'i2_s']],
  ['onebit', ['tq1_0', 'i2_s']],
  ['online-autobitlinear', ['tq2_0']],
];

const results: string[] = [];

describe('converted BitNet checkpoints run as the float model of their ternary weights', () => {
  afterAll(() => {
    if (results.length) console.log(`converted checkpoints against their float reference\n${results.join('\n')}`);
  });
  for (const [layout, formats] of CASES) {
    it(`${layout} → ${formats.join(', ')}: cosine ≥ 0.999 per position and the same top-1`, async () => {
      const { path, reference } = await writeCheckpoint(layout);
      const referenceGguf = join(dir, `${layout}-reference.gguf`);
      await quantizeModel(reference, referenceGguf, { floatOnly: 'f32' });
      const want = await logitsOf(referenceGguf);
      for (const format of formats) {
        const gguf = join(dir, `${layout}-${format}.gguf`);
        // Head and embeddings as the reference stores them, so the comparison measures the ternary codes
        // alone (the K-quant defaults are measured in k-quant-heads.llama-cpp.test.ts).
        await quantizeModel(path, gguf, { format, outputType: 'f32', embeddingType: 'f32' });
        const got = await logitsOf(gguf);
        let least = 1;
        for (let t = 0; t < TOKENS.length; t++) {
          const a = got.subarray(t * V, (t + 1) * V);
          const b = want.subarray(t * V, (t + 1) * V);
          least = Math.min(least, cosine(a, b));
          expect(cosine(a, b), `${format} position ${t}`).toBeGreaterThanOrEqual(0.999);
          expect(argmax(a), `${format} top-1 at position ${t}`).toBe(argmax(b));
        }
        results.push(
          `  ${layout.padEnd(20)} ${format.padEnd(5)} min cosine ${least.toFixed(6)}, top-1 ${TOKENS.length}/${TOKENS.length}`,
        );
      }
    }, 120_000);
  }
});
