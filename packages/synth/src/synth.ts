import type { HfConfig } from '@trit/convert';
import {
  type CleanupNotice,
  cleanStaleTemporaries,
  defaultErrorFactory,
  formatLocatedMessage,
  type LocatedErrorFactory,
  temporaryDirectoryFor,
  writeDirectoryAtomic,
} from '@trit/file-io';
import { float32ToBfloat16Bytes, writeShardedSafetensors } from '@trit/safetensors';
import { SynthUsageError } from './errors.js';
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
  // BitNet b1.58 2B4T exactly (its published config.json).
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
  /** Output directory, written as a whole (see synthesizeModel); missing parents are created. */
  output: string;
  /** Shard size for model.safetensors; default 2 GiB. */
  maxShardBytes?: number;
  /** Aborting leaves no output: the directory (or GGUF) keeps what it held before. */
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, tensor: string) => void;
  /**
   * Told of each temporary that an earlier, killed run left beside the output
   * (trit's naming, its process gone) as it is removed, or of an old
   * directory put back, before anything is written.
   */
  onCleanup?: (notice: CleanupNotice) => void;
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
 * The names a synthesized model directory holds, so replacing one deletes
 * nothing else (`NAME.tmp`: the JSON temporaries earlier versions left).
 */
const MODEL_FILE =
  /^(config\.json|tokenizer\.json|tokenizer_config\.json|model\.safetensors|model\.safetensors\.index\.json|model-\d{5}-of-\d{5}\.safetensors)(\.tmp)?$/;

/** A directory that is not a model synth wrote is a usage mistake; file system failures stay LocatedErrors. */
const directoryErrors: LocatedErrorFactory = (code, reason, details, options) =>
  code === 'refuse'
    ? new SynthUsageError(formatLocatedMessage(reason, details), options)
    : defaultErrorFactory(code, reason, details, options);

/**
 * Writes a Hugging Face-layout model: config.json, model.safetensors (BF16,
 * sharded with an index over 2 GiB) and tokenizer.json (a byte-level BPE
 * trained on a built-in corpus). Weights are deterministic from the seed and
 * scaled like a trained model: norms near 1, projections ~N(0, 1/fan_in);
 * bitnet projections are ternary × a per-tensor scale. Tensors are generated
 * one at a time, so memory stays at one tensor.
 *
 * The directory is written as a whole (writeDirectoryAtomic in
 * @trit/file-io): the files are staged beside it and swapped in by renames,
 * so a reader, or a run killed at any point, sees the old model or the new
 * one, never weights beside another model's tokenizer. An existing directory
 * is replaced only when it holds nothing but the files synth writes; one with
 * other files (a README, a GGUF …) is refused with a SynthUsageError and
 * left untouched, since replacing it would delete them. Temporaries of
 * earlier killed runs beside it are removed first (see `onCleanup`).
 */
export async function synthesizeModel(options: SynthOptions): Promise<SynthResult> {
  const { join } = await import('node:path');
  const written = await writeDirectoryAtomic(options.output, (staging) => writeModel(staging, options), {
    signal: options.signal,
    replaceable: (name) => MODEL_FILE.test(name),
    onCleanup: options.onCleanup,
    errors: directoryErrors,
  });
  return { ...written, directory: options.output, files: written.files.map((f) => join(options.output, f)) };
}

/** Writes the model's files into `dir`, which exists; resolves to their names. */
async function writeModel(dir: string, options: SynthOptions): Promise<SynthResult> {
  const { arch, preset } = options;
  const seed = options.seed ?? 0;
  const config = synthConfig(arch, preset);
  const p = shapeOf(arch, preset);
  const { writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
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
    dir,
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
  // Plain writes: the staging directory is fsynced and swapped in as a whole.
  const writeJson = async (name: string, value: unknown) => {
    await writeFile(join(dir, name), `${JSON.stringify(value, null, 2)}\n`, { signal: options.signal });
    return name;
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
    ...result.files,
    ...(result.indexFile ? [result.indexFile] : []),
  ];
  const parameters = tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
  return { directory: dir, files, parameters, config };
}

/**
 * `trit synth --gguf`: the same model written straight to an F32 or F16 GGUF
 * (through the converter, so names, Q/K order and tokenizer keys are what
 * `trit quantize` would write). The Hugging Face files go to a hidden scratch
 * directory beside the GGUF, removed afterwards; one that a killed run left
 * is removed by the next run in that directory, with the GGUF writer's
 * temporaries (see `onCleanup`).
 */
export async function synthesizeGguf(
  options: SynthOptions & { ggufPath: string; floatType?: 'f32' | 'f16' },
): Promise<SynthResult> {
  const { mkdir, rm } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const { quantizeModel } = await import('@trit/convert');
  const parent = dirname(options.ggufPath);
  await mkdir(parent, { recursive: true });
  await cleanStaleTemporaries(parent, { onCleanup: options.onCleanup });
  const scratch = await temporaryDirectoryFor(options.ggufPath, 'synth');
  await mkdir(scratch);
  try {
    const model = await writeModel(scratch, options);
    await quantizeModel(scratch, options.ggufPath, { floatOnly: options.floatType ?? 'f16', signal: options.signal });
    return { ...model, directory: parent, files: [options.ggufPath] };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
