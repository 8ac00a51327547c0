import type { HfConfig } from '@trit/quantizer';
import { float32ToBfloat16Bytes, writeShardedSafetensors } from '@trit/safetensors';
import { seededRandom, synthCorpus, tokenizerJson, trainByteLevelBpe } from './synth-tokenizer.js';

export type SynthArchitecture = 'llama' | 'bitnet';
export type SynthPreset = 'tiny' | 'small' | 'bitnet-2b';

interface Shape {
  hidden: number;
  layers: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  context: number;
  ropeTheta: number;
  tied: boolean;
}

const PRESETS: Record<SynthPreset, Shape> = {
  tiny: {
    hidden: 256,
    layers: 2,
    ffn: 512,
    heads: 4,
    kvHeads: 2,
    vocab: 512,
    context: 512,
    ropeTheta: 10000,
    tied: false,
  },
  small: {
    hidden: 1024,
    layers: 8,
    ffn: 2816,
    heads: 16,
    kvHeads: 4,
    vocab: 8192,
    context: 2048,
    ropeTheta: 10000,
    tied: false,
  },
  // BitNet b1.58 2B4T exactly (interop.md 5.1).
  'bitnet-2b': {
    hidden: 2560,
    layers: 30,
    ffn: 6912,
    heads: 20,
    kvHeads: 5,
    vocab: 128256,
    context: 4096,
    ropeTheta: 500000,
    tied: true,
  },
};

/** llama.cpp's bitnet graph has no output head (token_embd is reused), so bitnet models are tied. */
function shapeOf(arch: SynthArchitecture, preset: SynthPreset): Shape {
  const p = PRESETS[preset];
  if (!p) throw new RangeError(`unknown preset "${preset}" (tiny, small, bitnet-2b)`);
  return arch === 'bitnet' ? { ...p, tied: true } : p;
}

/** Llama-3's special tokens; the rest of the 256 reserved ids are padded with reserved names. */
function specialTokens(count: number): string[] {
  const named = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];
  const out = named.slice(0, count);
  for (let i = 0; out.length < count; i++) out.push(`<|reserved_special_token_${i}|>`);
  return out;
}

/** config.json of a synthetic model. */
export function synthConfig(arch: SynthArchitecture, preset: SynthPreset): HfConfig & Record<string, unknown> {
  const p = shapeOf(arch, preset);
  const specials = preset === 'bitnet-2b' ? 256 : 8;
  return {
    architectures: [arch === 'llama' ? 'LlamaForCausalLM' : 'BitNetForCausalLM'],
    model_type: arch,
    hidden_size: p.hidden,
    intermediate_size: p.ffn,
    num_hidden_layers: p.layers,
    num_attention_heads: p.heads,
    num_key_value_heads: p.kvHeads,
    max_position_embeddings: p.context,
    rms_norm_eps: 1e-5,
    rope_theta: p.ropeTheta,
    vocab_size: p.vocab,
    tie_word_embeddings: p.tied,
    hidden_act: arch === 'bitnet' ? 'relu2' : 'silu',
    bos_token_id: p.vocab - specials,
    eos_token_id: p.vocab - specials + 1,
    torch_dtype: 'bfloat16',
  };
}

export interface SynthOptions {
  arch: SynthArchitecture;
  preset: SynthPreset;
  seed?: number;
  /** Output directory (created if needed). */
  output: string;
  /** Shard size for model.safetensors; default 2 GiB. */
  maxShardBytes?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, tensor: string) => void;
}

export interface SynthResult {
  directory: string;
  files: string[];
  parameters: number;
  config: HfConfig;
}

/** Gaussian by Box–Muller on the seeded stream. */
function gaussians(n: number, rand: () => number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())) * std;
    const a = 2 * Math.PI * rand();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/**
 * Writes a Hugging Face-layout model: config.json, model.safetensors (BF16,
 * sharded with an index over 2 GiB) and tokenizer.json (a byte-level BPE
 * trained on a built-in corpus). Weights are deterministic from the seed and
 * scaled like a trained model: norms near 1, projections ~N(0, 1/fan_in);
 * bitnet projections are ternary × a per-tensor scale. Tensors are generated
 * one at a time, so memory stays at one tensor.
 */
export async function synthesizeModel(options: SynthOptions): Promise<SynthResult> {
  const { arch, preset } = options;
  const seed = options.seed ?? 0;
  const config = synthConfig(arch, preset);
  const p = shapeOf(arch, preset);
  const { mkdir, writeFile, rename } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(options.output, { recursive: true });
  const headDim = p.hidden / p.heads;
  const kvDim = p.kvHeads * headDim;
  const specials = specialTokens(preset === 'bitnet-2b' ? 256 : 8);

  const tensors: { name: string; shape: number[]; kind: 'norm' | 'matrix' | 'embedding' }[] = [
    { name: 'model.embed_tokens.weight', shape: [p.vocab, p.hidden], kind: 'embedding' },
  ];
  for (let l = 0; l < p.layers; l++) {
    const b = `model.layers.${l}.`;
    tensors.push({ name: `${b}input_layernorm.weight`, shape: [p.hidden], kind: 'norm' });
    tensors.push({ name: `${b}self_attn.q_proj.weight`, shape: [p.hidden, p.hidden], kind: 'matrix' });
    tensors.push({ name: `${b}self_attn.k_proj.weight`, shape: [kvDim, p.hidden], kind: 'matrix' });
    tensors.push({ name: `${b}self_attn.v_proj.weight`, shape: [kvDim, p.hidden], kind: 'matrix' });
    tensors.push({ name: `${b}self_attn.o_proj.weight`, shape: [p.hidden, p.hidden], kind: 'matrix' });
    if (arch === 'bitnet')
      tensors.push({ name: `${b}self_attn.attn_sub_norm.weight`, shape: [p.hidden], kind: 'norm' });
    tensors.push({ name: `${b}post_attention_layernorm.weight`, shape: [p.hidden], kind: 'norm' });
    tensors.push({ name: `${b}mlp.gate_proj.weight`, shape: [p.ffn, p.hidden], kind: 'matrix' });
    tensors.push({ name: `${b}mlp.up_proj.weight`, shape: [p.ffn, p.hidden], kind: 'matrix' });
    tensors.push({ name: `${b}mlp.down_proj.weight`, shape: [p.hidden, p.ffn], kind: 'matrix' });
    if (arch === 'bitnet') tensors.push({ name: `${b}mlp.ffn_sub_norm.weight`, shape: [p.ffn], kind: 'norm' });
  }
  tensors.push({ name: 'model.norm.weight', shape: [p.hidden], kind: 'norm' });
  if (!p.tied) tensors.push({ name: 'lm_head.weight', shape: [p.vocab, p.hidden], kind: 'matrix' });

  let done = 0;
  const values = (t: (typeof tensors)[number], index: number): Float32Array => {
    const rand = seededRandom(seed * 100003 + index * 7919 + 1);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.kind === 'norm') return Float32Array.from({ length: n }, () => 1 + 0.1 * (rand() * 2 - 1));
    // std 4/√hidden: a tied head then gives logits of std ≈ 4, as peaked as a trained model's, not one-hot.
    if (t.kind === 'embedding') return gaussians(n, rand, 4 / Math.sqrt(p.hidden));
    const fanIn = t.shape[1] as number;
    if (arch === 'bitnet' && t.name !== 'lm_head.weight') {
      // Ternary × one scale per tensor, with a third of the weights zero: std 1/√fan_in.
      const scale = Math.fround(1 / Math.sqrt((2 / 3) * fanIn));
      return Float32Array.from({ length: n }, () => {
        const r = rand();
        return r < 1 / 3 ? -scale : r < 2 / 3 ? 0 : scale;
      });
    }
    // A wider head gives the peaked next-token distributions trained models have.
    const gain = t.name === 'lm_head.weight' ? 4 : 1;
    return gaussians(n, rand, gain / Math.sqrt(fanIn));
  };
  const result = await writeShardedSafetensors(
    options.output,
    tensors.map((t, index) => ({
      name: t.name,
      dtype: 'BF16' as const,
      shape: t.shape,
      data: () => {
        const bytes = float32ToBfloat16Bytes(values(t, index));
        options.onProgress?.(++done, tensors.length, t.name);
        return bytes;
      },
    })),
    { maxShardBytes: options.maxShardBytes, metadata: { format: 'pt' }, signal: options.signal },
  );

  const bpe = trainByteLevelBpe(synthCorpus(seed + 1, 20000), p.vocab - specials.length, seed);
  const writeJson = async (name: string, value: unknown) => {
    const path = join(options.output, name);
    await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
    return path;
  };
  const files = [
    await writeJson('config.json', config),
    await writeJson('tokenizer.json', tokenizerJson(bpe, specials)),
    await writeJson('tokenizer_config.json', {
      bos_token: specials[0],
      eos_token: specials[1],
      add_bos_token: true,
      add_eos_token: false,
    }),
    ...result.files.map((f) => join(options.output, f)),
    ...(result.indexFile ? [join(options.output, result.indexFile)] : []),
  ];
  const parameters = tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
  return { directory: options.output, files, parameters, config };
}

/**
 * `trit synth --gguf`: the same model written straight to an F32 or F16 GGUF
 * (through the converter, so names, Q/K order and tokenizer keys are what
 * `trit quantize` would write).
 */
export async function synthesizeGguf(
  options: SynthOptions & { ggufPath: string; floatType?: 'f32' | 'f16' },
): Promise<SynthResult> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { join, dirname } = await import('node:path');
  const { quantizeModel } = await import('@trit/quantizer');
  const staging = await mkdtemp(join(dirname(options.ggufPath), '.trit-synth-'));
  try {
    const result = await synthesizeModel({ ...options, output: staging });
    await quantizeModel(staging, options.ggufPath, { floatOnly: options.floatType ?? 'f16', signal: options.signal });
    return { ...result, directory: dirname(options.ggufPath), files: [options.ggufPath] };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
