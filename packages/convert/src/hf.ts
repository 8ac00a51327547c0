import { ggufTensorNameFor, HIDDEN_ACTIVATION_NAMES, hiddenActivation, parseHuggingFaceTensorName } from '@trit/gguf';
import { QuantizeError } from '@trit/quantizer';

/** The fields of a Hugging Face config.json that the converter reads. */
export interface HfConfig {
  architectures?: string[];
  model_type?: string;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  max_position_embeddings?: number;
  rms_norm_eps?: number;
  rope_theta?: number;
  vocab_size: number;
  tie_word_embeddings?: boolean;
  hidden_act?: string;
  rope_scaling?: unknown;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  /** transformers' quantizer settings; only `quant_method: "bitnet"` is read (bitnet-checkpoint.ts). */
  quantization_config?: unknown;
}

export type ModelArchitecture = 'llama' | 'bitnet';

// Maps, not object literals: names come from config.json, and `constructor` must not be found on Object.prototype.
const ARCHITECTURES: ReadonlyMap<string, ModelArchitecture> = new Map([
  ['LlamaForCausalLM', 'llama'],
  ['BitNetForCausalLM', 'bitnet'],
  // 1bitLLM's checkpoints (bitnet_b1_58-*) spell it so, with model_type "llama".
  ['BitnetForCausalLM', 'bitnet'],
]);
const MODEL_TYPES: ReadonlyMap<string, ModelArchitecture> = new Map([
  ['llama', 'llama'],
  ['bitnet', 'bitnet'],
]);

/**
 * A config.json value for a message: JSON, cut short, and safe for any nesting depth
 * (JSON.stringify recurses, so a deeply nested value from a file would overflow the stack).
 */
export function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? 'an array nested too deeply to show' : 'an object nested too deeply to show';
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The GGUF architecture for a config.json; anything else is a clear error. */
export function architectureOf(config: HfConfig, source: string): ModelArchitecture {
  const names: unknown = config.architectures ?? [];
  if (!Array.isArray(names) || names.some((name) => typeof name !== 'string')) {
    throw new QuantizeError(
      `${source}: "architectures" must be an array of strings, found ${shown(config.architectures)}`,
    );
  }
  for (const name of names as string[]) {
    const arch = ARCHITECTURES.get(name);
    if (arch) return arch;
  }
  const modelType: unknown = config.model_type;
  if (modelType !== undefined && typeof modelType !== 'string') {
    throw new QuantizeError(`${source}: "model_type" must be a string, found ${shown(modelType)}`);
  }
  const fromType = modelType === undefined ? undefined : MODEL_TYPES.get(modelType);
  if (fromType) return fromType;
  const given =
    names.length > 0
      ? (names as string[]).map((n) => `'${n}'`).join(', ')
      : modelType !== undefined
        ? `'${modelType}' (model_type)`
        : '(none given)';
  throw new QuantizeError(
    `${source}: unsupported architecture ${given}; supported: ${[...ARCHITECTURES.keys()].join(', ')} (or model_type ${[...MODEL_TYPES.keys()].join(', ')})`,
  );
}

/** Checks the numbers a config must have before anything is converted. */
export function checkHfConfig(config: HfConfig, source: string): void {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new QuantizeError(
      `${source}: config.json must be a JSON object, found ${Array.isArray(config) ? 'an array' : shown(config)}`,
    );
  }
  const required = [
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'vocab_size',
  ] as const;
  for (const key of required) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new QuantizeError(`${source}: config.json ${key} must be a positive integer, found ${shown(value)}`);
  }
  // Optional numbers go into the GGUF as they are: anything but a finite number is refused here, by name.
  for (const key of [
    'num_key_value_heads',
    'head_dim',
    'max_position_embeddings',
    'rms_norm_eps',
    'rope_theta',
  ] as const) {
    const value: unknown = config[key];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value)))
      throw new QuantizeError(`${source}: config.json ${key} must be a number, found ${shown(value)}`);
  }
  const kv = config.num_key_value_heads ?? config.num_attention_heads;
  if (!Number.isSafeInteger(kv) || kv <= 0 || config.num_attention_heads % kv !== 0) {
    throw new QuantizeError(
      `${source}: num_key_value_heads ${shown(kv)} must divide num_attention_heads ${config.num_attention_heads}`,
    );
  }
  if (config.rope_scaling)
    throw new QuantizeError(`${source}: rope_scaling is not supported yet (found ${shown(config.rope_scaling)})`);
}

/** The GGUF name of a Hugging Face tensor (@trit/gguf's tensor-name table), or undefined when it has none. */
export function ggufTensorName(hfName: string): string | undefined {
  const parts = parseHuggingFaceTensorName(hfName);
  return parts?.suffix === 'weight' ? ggufTensorNameFor(parts.role, parts.block) : undefined;
}

/** Rotary-embedding tables HF keeps as buffers; they are recomputed, never converted. */
export function isIgnoredHfTensor(hfName: string): boolean {
  return /rotary_emb\.inv_freq$/.test(hfName);
}

/**
 * llama.cpp's `llama` graph rotates adjacent pairs, HF's checkpoints halves:
 * within each head of `rows / heads` rows, new row 2i + j ← old row
 * j·(headDim/2) + i (convert_hf_to_gguf's permute). Rows are `cols` wide.
 */
export function permuteForRope<T extends Float32Array | Int8Array>(
  values: T,
  rows: number,
  cols: number,
  heads: number,
): T {
  const headDim = rows / heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new QuantizeError(`cannot permute ${rows} rows into ${heads} heads of an even size`);
  }
  const half = headDim / 2;
  const out = (values instanceof Int8Array ? new Int8Array(values.length) : new Float32Array(values.length)) as T;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = h * headDim + j * half + i;
        const to = h * headDim + 2 * i + j;
        out.set(values.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/** `[arch].*` hyper-parameters in the GGUF types llama.cpp demands (u32 counts, f32 epsilon and base). */
export function ggufHyperParameters(
  config: HfConfig,
  arch: ModelArchitecture,
  source = 'config.json',
): Record<string, number | string> {
  const heads = config.num_attention_heads;
  const headDim = config.head_dim ?? config.hidden_size / heads;
  const out: Record<string, number | string> = {
    [`${arch}.context_length`]: config.max_position_embeddings ?? 2048,
    [`${arch}.embedding_length`]: config.hidden_size,
    [`${arch}.block_count`]: config.num_hidden_layers,
    [`${arch}.feed_forward_length`]: config.intermediate_size,
    [`${arch}.attention.head_count`]: heads,
    [`${arch}.attention.head_count_kv`]: config.num_key_value_heads ?? heads,
    [`${arch}.rope.dimension_count`]: headDim,
    [`${arch}.attention.layer_norm_rms_epsilon`]: config.rms_norm_eps ?? 1e-6,
    [`${arch}.rope.freq_base`]: config.rope_theta ?? 10000,
    [`${arch}.vocab_size`]: config.vocab_size,
  };
  if (arch === 'bitnet') {
    const given: unknown = config.hidden_act ?? 'silu';
    if (typeof given !== 'string')
      throw new QuantizeError(`${source}: hidden_act must be a string, found ${shown(given)}`);
    const activation = hiddenActivation(given);
    if (!activation)
      throw new QuantizeError(
        `${source}: hidden_act ${shown(given)} is not supported; supported: ${HIDDEN_ACTIVATION_NAMES.join(', ')}`,
      );
    out['bitnet.hidden_activation'] = activation;
  }
  return out;
}

/**
 * The [rows, cols] config.json implies for a projection (GGUF name), so a
 * packed tensor's shape can be checked before it is unpacked; undefined for
 * tensors that are not projections.
 */
export function projectionShape(ggufName: string, config: HfConfig): [number, number] | undefined {
  const heads = config.num_attention_heads;
  const headDim = config.head_dim ?? config.hidden_size / heads;
  const kv = (config.num_key_value_heads ?? heads) * headDim;
  const role = /^blk\.\d+\.(\w+)\.weight$/.exec(ggufName)?.[1];
  const shapes: Record<string, [number, number]> = {
    attn_q: [heads * headDim, config.hidden_size],
    attn_k: [kv, config.hidden_size],
    attn_v: [kv, config.hidden_size],
    attn_output: [config.hidden_size, heads * headDim],
    ffn_gate: [config.intermediate_size, config.hidden_size],
    ffn_up: [config.intermediate_size, config.hidden_size],
    ffn_down: [config.hidden_size, config.intermediate_size],
  };
  return role !== undefined && Object.hasOwn(shapes, role) ? shapes[role] : undefined;
}
