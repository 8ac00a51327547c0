/**
 * The seed corpus the mutators start from: small but complete models, built
 * deterministically so an input index names the same bytes on every run.
 * GGUF seeds cover both architectures and every projection type the backend
 * runs (TQ2_0, TQ1_0, Q8_0, F16, BF16); safetensors seeds are Hugging Face
 * directories (config.json, tokenizer.json, one file or shards + index).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { quantizeModel } from '@trit/convert';
import {
  float32ToBfloat16Bytes,
  float32ToBytes,
  float32ToFloat16Bytes,
  writeShardedSafetensors,
} from '@trit/safetensors';
import { synthCorpus, tokenizerJson, trainByteLevelBpe } from '@trit/synth';
import { randomFloats, randomTernary } from '@trit/testkit';
import { type TestModelOptions, writeTestModel } from '../src/test-models.js';

export type FuzzFormat = 'gguf' | 'safetensors';

export interface Seed {
  name: string;
  format: FuzzFormat;
  /** File name (relative to the model directory) → bytes. A GGUF seed is the one file `model.gguf`. */
  files: Map<string, Uint8Array>;
}

export type Corpus = Record<FuzzFormat, Seed[]>;

export const GGUF_FILE = 'model.gguf';

const GGUF_SEEDS: Record<string, TestModelOptions> = {
  'bitnet-tq2_0': { arch: 'bitnet', type: 'TQ2_0', embd: 256, ff: 256, layers: 1, heads: 4, kvHeads: 2, context: 64 },
  'bitnet-tq1_0': { arch: 'bitnet', type: 'TQ1_0', embd: 256, ff: 256, layers: 1, heads: 4, kvHeads: 2, context: 64 },
  'llama-tq2_0': { arch: 'llama', type: 'TQ2_0', embd: 256, ff: 256, layers: 1, heads: 4, kvHeads: 2, context: 64 },
  'llama-q8_0': { arch: 'llama', type: 'Q8_0', embd: 64, ff: 128, layers: 2, heads: 2, kvHeads: 1, context: 64 },
  'llama-f16-tied': {
    arch: 'llama',
    type: 'F16',
    embd: 64,
    ff: 128,
    layers: 1,
    heads: 2,
    kvHeads: 2,
    context: 64,
    tied: true,
  },
  'llama-bf16': { arch: 'llama', type: 'BF16', embd: 64, ff: 96, layers: 1, heads: 1, kvHeads: 1, context: 32 },
};

interface HfSeed {
  arch: 'llama' | 'bitnet';
  hidden: number;
  ffn: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** Shard size; small enough to split the checkpoint into an index and shards. */
  maxShardBytes?: number;
}

const HF_SEEDS: Record<string, HfSeed> = {
  'hf-llama': { arch: 'llama', hidden: 64, ffn: 128, layers: 2, heads: 2, kvHeads: 1 },
  'hf-bitnet-sharded': {
    arch: 'bitnet',
    hidden: 256,
    ffn: 256,
    layers: 1,
    heads: 4,
    kvHeads: 2,
    maxShardBytes: 300_000,
  },
};

const HF_VOCAB = 272;
const HF_SPECIALS = [
  '<|begin_of_text|>',
  '<|end_of_text|>',
  ...Array.from({ length: 6 }, (_, i) => `<|reserved_${i}|>`),
];

async function writeHfSeed(dir: string, seed: HfSeed, index: number): Promise<void> {
  const { arch, hidden, ffn, layers, heads, kvHeads } = seed;
  const kvDim = (hidden / heads) * kvHeads;
  type Spec = { name: string; shape: number[]; dtype: 'F32' | 'F16' | 'BF16'; kind: 'norm' | 'matrix' };
  // Mixed dtypes, so a dtype mutation lands on each decoder.
  const specs: Spec[] = [
    { name: 'model.embed_tokens.weight', shape: [HF_VOCAB, hidden], dtype: 'F16', kind: 'matrix' },
  ];
  for (let l = 0; l < layers; l++) {
    const b = `model.layers.${l}.`;
    specs.push({ name: `${b}input_layernorm.weight`, shape: [hidden], dtype: 'F32', kind: 'norm' });
    specs.push({ name: `${b}self_attn.q_proj.weight`, shape: [hidden, hidden], dtype: 'BF16', kind: 'matrix' });
    specs.push({ name: `${b}self_attn.k_proj.weight`, shape: [kvDim, hidden], dtype: 'BF16', kind: 'matrix' });
    specs.push({ name: `${b}self_attn.v_proj.weight`, shape: [kvDim, hidden], dtype: 'F16', kind: 'matrix' });
    specs.push({ name: `${b}self_attn.o_proj.weight`, shape: [hidden, hidden], dtype: 'BF16', kind: 'matrix' });
    if (arch === 'bitnet')
      specs.push({ name: `${b}self_attn.attn_sub_norm.weight`, shape: [hidden], dtype: 'F32', kind: 'norm' });
    specs.push({ name: `${b}post_attention_layernorm.weight`, shape: [hidden], dtype: 'BF16', kind: 'norm' });
    specs.push({ name: `${b}mlp.gate_proj.weight`, shape: [ffn, hidden], dtype: 'BF16', kind: 'matrix' });
    specs.push({ name: `${b}mlp.up_proj.weight`, shape: [ffn, hidden], dtype: 'F32', kind: 'matrix' });
    specs.push({ name: `${b}mlp.down_proj.weight`, shape: [hidden, ffn], dtype: 'BF16', kind: 'matrix' });
    if (arch === 'bitnet')
      specs.push({ name: `${b}mlp.ffn_sub_norm.weight`, shape: [ffn], dtype: 'F32', kind: 'norm' });
  }
  specs.push({ name: 'model.norm.weight', shape: [hidden], dtype: 'F32', kind: 'norm' });
  if (arch === 'llama') specs.push({ name: 'lm_head.weight', shape: [HF_VOCAB, hidden], dtype: 'F32', kind: 'matrix' });

  const encode = { F32: float32ToBytes, F16: float32ToFloat16Bytes, BF16: float32ToBfloat16Bytes };
  await writeShardedSafetensors(
    dir,
    specs.map((s, i) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const fanIn = s.shape.at(-1) as number;
      const values =
        s.kind === 'norm'
          ? Float32Array.from(randomFloats(n, index * 1000 + i, 'uniform', 0.1), (v) => 1 + v)
          : arch === 'bitnet' && s.name !== 'model.embed_tokens.weight'
            ? Float32Array.from(randomTernary(n, index * 1000 + i), (c) => c / Math.sqrt(fanIn))
            : randomFloats(n, index * 1000 + i, 'gaussian', 1 / Math.sqrt(fanIn));
      return { name: s.name, dtype: s.dtype, shape: s.shape, data: [encode[s.dtype](values)] };
    }),
    { maxShardBytes: seed.maxShardBytes, metadata: { format: 'pt' } },
  );
  const bpe = trainByteLevelBpe(synthCorpus(index + 1, 1500), HF_VOCAB - HF_SPECIALS.length, index);
  const config = {
    architectures: [arch === 'llama' ? 'LlamaForCausalLM' : 'BitNetForCausalLM'],
    model_type: arch,
    hidden_size: hidden,
    intermediate_size: ffn,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    vocab_size: HF_VOCAB,
    tie_word_embeddings: arch === 'bitnet',
    hidden_act: arch === 'bitnet' ? 'relu2' : 'silu',
    bos_token_id: HF_VOCAB - HF_SPECIALS.length,
    eos_token_id: HF_VOCAB - HF_SPECIALS.length + 1,
    torch_dtype: 'bfloat16',
  };
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(bpe, HF_SPECIALS)));
  await writeFile(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ bos_token: HF_SPECIALS[0], eos_token: HF_SPECIALS[1], add_bos_token: true, add_eos_token: false }),
  );
}

/** Writes every seed under `dir` (`<dir>/<format>/<seed>/…`) and returns them. */
export async function buildCorpus(dir: string): Promise<Corpus> {
  let index = 0;
  for (const [name, options] of Object.entries(GGUF_SEEDS)) {
    const seedDir = join(dir, 'gguf', name);
    await mkdir(seedDir, { recursive: true });
    await writeTestModel(join(seedDir, GGUF_FILE), { ...options, seed: ++index });
  }
  for (const [name, seed] of Object.entries(HF_SEEDS)) {
    const seedDir = join(dir, 'safetensors', name);
    await mkdir(seedDir, { recursive: true });
    await writeHfSeed(seedDir, seed, ++index);
  }
  // A GGUF as `trit quantize` writes it: the only seed with a byte-level BPE (gpt2) tokenizer and merges.
  const converted = join(dir, 'gguf', 'llama-gpt2-converted');
  await mkdir(converted, { recursive: true });
  await quantizeModel(join(dir, 'safetensors', 'hf-llama'), join(converted, GGUF_FILE), { quantizerVersion: 'fuzz' });
  return loadCorpus(dir);
}

/** Reads a corpus written by buildCorpus; seeds and files in sorted order, so indices mean the same everywhere. */
export async function loadCorpus(dir: string): Promise<Corpus> {
  const corpus: Corpus = { gguf: [], safetensors: [] };
  for (const format of ['gguf', 'safetensors'] as const) {
    for (const name of (await readdir(join(dir, format))).sort()) {
      const files = new Map<string, Uint8Array>();
      for (const file of (await readdir(join(dir, format, name))).sort())
        files.set(file, new Uint8Array(await readFile(join(dir, format, name, file))));
      corpus[format].push({ name, format, files });
    }
  }
  return corpus;
}
