/**
 * Tiny Hugging Face BitNet checkpoints in each published layout
 * (docs/formats.md §Hugging Face BitNet checkpoints), written with this file's
 * own `pack_weights`, WeightQuant and safetensors writer, not trit's, so a test
 * that converts them checks trit against an independent producer. Each comes
 * with its truth (the ternary codes and gamma of every projection) and,
 * optionally, a float reference: the same model with every projection stored
 * as codes × gamma in F32.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomFloats, randomTernary } from './rng.js';

export type BitnetCheckpointLayout =
  | 'packed-bitlinear' // microsoft/bitnet-b1.58-2B-4T
  | 'llama-bitlinear' // Llama3-8B-1.58, Falcon3-1.58bit: LlamaForCausalLM + bitnet quantization_config
  | 'packed-autobitlinear' // offline AutoBitLinear, packed
  | 'codes-autobitlinear' // offline AutoBitLinear, codes stored unpacked as floats
  | 'master' // bitnet-b1.58-2B-4T-bf16: float master weights, no quantization_config
  | 'onebit' // 1bitLLM/bitnet_b1_58-*: BitnetForCausalLM, model_type llama, older sub-norm names
  | 'online-autobitlinear'; // float master weights under an online AutoBitLinear config

/** The checkpoints' size: two layers, 256 wide, 300 tokens. */
export const CHECKPOINT_SHAPE = { embd: 256, ff: 512, heads: 4, kvHeads: 2, vocab: 300, layers: 2 } as const;

const { embd: E, ff: F, heads: HEADS, kvHeads: KV, vocab: V, layers: LAYERS } = CHECKPOINT_SHAPE;
const HD = E / HEADS;

/** Each block's projections: Hugging Face name, GGUF name, rows, columns. */
export const CHECKPOINT_PROJECTIONS: readonly (readonly [hf: string, gguf: string, rows: number, cols: number])[] = [
  ['self_attn.q_proj', 'attn_q', E, E],
  ['self_attn.k_proj', 'attn_k', KV * HD, E],
  ['self_attn.v_proj', 'attn_v', KV * HD, E],
  ['self_attn.o_proj', 'attn_output', E, E],
  ['mlp.gate_proj', 'ffn_gate', F, E],
  ['mlp.up_proj', 'ffn_up', F, E],
  ['mlp.down_proj', 'ffn_down', E, F],
];

/** transformers' pack_weights from its definition: byte [r, c] holds rows r + k·rows/4 at bits 2k, as code + 1. */
export function packBitnetWeights(codes: Int8Array, rows: number, cols: number): Uint8Array {
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

/** transformers' WeightQuant in float32: gamma = max(mean|W|, 1e-5), codes = clamp(round(W / gamma)) (torch rounds halves to even). */
export function weightQuant(w: Float32Array): { codes: Int8Array; gamma: number } {
  let sum = 0;
  for (const x of w) sum += Math.abs(x);
  const gamma = Math.fround(Math.max(Math.fround(sum / w.length), 1e-5));
  const s = Math.fround(1 / gamma);
  return { codes: Int8Array.from(w, (x) => Math.max(-1, Math.min(1, roundHalfEven(Math.fround(x * s))))), gamma };
}

/** float32 → bfloat16 bits, rounding to nearest even (torch's `.to(torch.bfloat16)`); inputs here are finite. */
function toBfloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Uint16Array.from(bits, (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
}

const fromBfloat16 = (half: Uint16Array) => new Float32Array(Uint32Array.from(half, (h) => h << 16).buffer);

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

export interface CheckpointTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** One safetensors file: 8-byte little-endian header length, the JSON header (space-padded to 8), then the data. */
async function writeSafetensors(path: string, tensors: CheckpointTensor[]): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  await writeFile(path, Buffer.concat([head, Buffer.from(json, 'latin1'), ...tensors.map((t) => t.bytes)]));
}

/** A byte-level BPE tokenizer.json with no merges: GPT-2's byte characters and one special token. */
async function writeTokenizer(path: string): Promise<void> {
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++)
    vocab[
      String.fromCharCode(b < 33 ? 256 + b : b === 127 ? 289 : b > 126 && b < 161 ? 162 + b : b === 173 ? 323 : b)
    ] = b;
  await writeFile(
    join(path, 'tokenizer.json'),
    JSON.stringify({
      added_tokens: [{ id: 256, content: '<|endoftext|>', special: true }],
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
      model: { type: 'BPE', vocab, merges: [] },
    }),
  );
}

export interface WrittenCheckpoint {
  path: string;
  /** Where the float reference was written, when asked for. */
  reference?: string;
  /** The ternary truth per GGUF projection name (`blk.0.attn_q.weight`), in Hugging Face row order. */
  truth: Map<string, { codes: Int8Array; gamma: number }>;
  arch: 'bitnet' | 'llama';
}

export interface CheckpointOptions {
  /** Also write the float reference to `<dir>/<name>-reference`. */
  reference?: boolean;
  /** Edits the published tensor list before it is written (to make bad layouts). */
  tensors?: (list: CheckpointTensor[]) => void;
  /** Edits config.json before it is written. */
  config?: (config: Record<string, unknown>) => void;
}

const QUANTIZATION_CONFIGS: Partial<Record<BitnetCheckpointLayout, object>> = {
  // Llama3-8B-1.58 publishes only the method: linear_class and quantization_mode take their defaults.
  'llama-bitlinear': { quant_method: 'bitnet', modules_to_not_convert: null },
  'packed-bitlinear': { quant_method: 'bitnet', linear_class: 'bitlinear', quantization_mode: 'offline' },
  'packed-autobitlinear': { quant_method: 'bitnet', linear_class: 'autobitlinear', quantization_mode: 'offline' },
  'codes-autobitlinear': { quant_method: 'bitnet', linear_class: 'autobitlinear', quantization_mode: 'offline' },
  'online-autobitlinear': { quant_method: 'bitnet', linear_class: 'autobitlinear', quantization_mode: 'online' },
};

/** Writes a two-layer checkpoint in `layout` to `<dir>/<name>`: model.safetensors, config.json, tokenizer.json. */
export async function writeBitnetCheckpoint(
  dir: string,
  name: string,
  layout: BitnetCheckpointLayout,
  options: CheckpointOptions = {},
): Promise<WrittenCheckpoint> {
  const arch = layout.includes('autobitlinear') || layout === 'llama-bitlinear' ? 'llama' : 'bitnet';
  const bitlinear = layout === 'packed-bitlinear' || layout === 'llama-bitlinear';
  const published: CheckpointTensor[] = [];
  const float: CheckpointTensor[] = [];
  const f32 = (tensorName: string, shape: number[], values: Float32Array): CheckpointTensor => ({
    name: tensorName,
    dtype: 'F32',
    shape,
    bytes: bytesOf(values),
  });
  const both = (t: CheckpointTensor) => {
    published.push(t);
    float.push(t);
  };
  let seed = 1;
  both(f32('model.embed_tokens.weight', [V, E], randomFloats(V * E, seed++, 'gaussian', 1)));
  const truth = new Map<string, { codes: Int8Array; gamma: number }>();
  for (let l = 0; l < LAYERS; l++) {
    const b = `model.layers.${l}.`;
    const norm = (n: number) => Float32Array.from(randomFloats(n, seed++, 'uniform', 1), (x) => 1 + 0.2 * x);
    both(f32(`${b}input_layernorm.weight`, [E], norm(E)));
    both(f32(`${b}post_attention_layernorm.weight`, [E], norm(E)));
    if (arch === 'bitnet') {
      const [attn, ffn] =
        layout === 'onebit'
          ? ['self_attn.inner_attn_ln', 'mlp.ffn_layernorm']
          : ['self_attn.attn_sub_norm', 'mlp.ffn_sub_norm'];
      both(f32(`${b}${attn}.weight`, [E], norm(E)));
      both(f32(`${b}${ffn}.weight`, [F], norm(F)));
    }
    for (const [hf, gguf, rows, cols] of CHECKPOINT_PROJECTIONS) {
      const tensorName = `${b}${hf}.weight`;
      const n = rows * cols;
      let codes: Int8Array;
      let gamma: number;
      if (layout === 'master' || layout === 'onebit' || layout === 'online-autobitlinear') {
        const w = randomFloats(n, seed++, 'gaussian', 1 / Math.sqrt(cols));
        if (layout === 'master') {
          const bf16 = toBfloat16(w);
          published.push({ name: tensorName, dtype: 'BF16', shape: [rows, cols], bytes: bytesOf(bf16) });
          ({ codes, gamma } = weightQuant(fromBfloat16(bf16)));
        } else {
          published.push(f32(tensorName, [rows, cols], w));
          ({ codes, gamma } = weightQuant(w));
        }
      } else {
        codes = randomTernary(n, seed++);
        // bf16-exact published scales: bitlinear holds 1/gamma, autobitlinear gamma.
        const k = 20 + ((seed * 7) % 40);
        const weightScale = bitlinear ? k : k / 1024;
        gamma = Math.fround(bitlinear ? 1 / weightScale : weightScale);
        if (layout === 'codes-autobitlinear') published.push(f32(tensorName, [rows, cols], Float32Array.from(codes)));
        else
          published.push({
            name: tensorName,
            dtype: 'U8',
            shape: [rows / 4, cols],
            bytes: packBitnetWeights(codes, rows, cols),
          });
        published.push({
          name: `${b}${hf}.weight_scale`,
          dtype: 'BF16',
          shape: [1],
          bytes: bytesOf(toBfloat16(new Float32Array([weightScale]))),
        });
      }
      truth.set(`blk.${l}.${gguf}.weight`, { codes, gamma });
      float.push(
        f32(
          tensorName,
          [rows, cols],
          Float32Array.from(codes, (c) => c * gamma),
        ),
      );
    }
  }
  both(f32('model.norm.weight', [E], new Float32Array(E).fill(1)));
  if (arch === 'llama') both(f32('lm_head.weight', [V, E], randomFloats(V * E, seed++, 'gaussian', 1 / Math.sqrt(E))));
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
  const path = join(dir, name);
  const reference = options.reference ? join(dir, `${name}-reference`) : undefined;
  if (reference) {
    await mkdir(reference, { recursive: true });
    await writeSafetensors(join(reference, 'model.safetensors'), float);
    await writeFile(join(reference, 'config.json'), JSON.stringify(config));
    await writeTokenizer(reference);
  }
  const quantization = QUANTIZATION_CONFIGS[layout];
  if (quantization) config.quantization_config = { ...quantization }; // a copy: options.config may edit it
  options.tensors?.(published);
  options.config?.(config);
  await mkdir(path, { recursive: true });
  await writeSafetensors(join(path, 'model.safetensors'), published);
  await writeFile(join(path, 'config.json'), JSON.stringify(config));
  await writeTokenizer(path);
  return { path, ...(reference ? { reference } : {}), truth, arch };
}
