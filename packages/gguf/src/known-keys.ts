import { GgufValueType } from './value-types.js';

/**
 * The GGUF type llama.cpp's loader demands for well-known keys: it refuses a
 * u64 where it expects u32 ("key … has wrong type"). The writer coerces plain
 * numbers to these types and rejects explicit values of another type.
 */
export interface KnownKeyType {
  type: GgufValueType;
  /** For arrays, the element type. */
  elementType?: GgufValueType;
  /** llama.cpp also accepts a per-layer array of this type (get_key_or_arr). */
  perLayerArray?: boolean;
}

const u32: KnownKeyType = { type: GgufValueType.UINT32 };
const f32: KnownKeyType = { type: GgufValueType.FLOAT32 };
const bool: KnownKeyType = { type: GgufValueType.BOOL };
const str: KnownKeyType = { type: GgufValueType.STRING };
const perLayerU32: KnownKeyType = { type: GgufValueType.UINT32, perLayerArray: true };

// Maps, not object literals: keys come from files, and `constructor` or `__proto__` must be unknown keys.
const GENERAL: ReadonlyMap<string, KnownKeyType> = new Map<string, KnownKeyType>([
  ['general.architecture', str],
  ['general.name', str],
  ['general.alignment', u32],
  ['general.quantization_version', u32],
  ['general.file_type', u32],
  ['tokenizer.ggml.model', str],
  ['tokenizer.ggml.pre', str],
  ['tokenizer.ggml.tokens', { type: GgufValueType.ARRAY, elementType: GgufValueType.STRING }],
  ['tokenizer.ggml.scores', { type: GgufValueType.ARRAY, elementType: GgufValueType.FLOAT32 }],
  ['tokenizer.ggml.token_type', { type: GgufValueType.ARRAY, elementType: GgufValueType.INT32 }],
  ['tokenizer.ggml.merges', { type: GgufValueType.ARRAY, elementType: GgufValueType.STRING }],
  ['tokenizer.ggml.bos_token_id', u32],
  ['tokenizer.ggml.eos_token_id', u32],
  ['tokenizer.ggml.eot_token_id', u32],
  ['tokenizer.ggml.eom_token_id', u32],
  ['tokenizer.ggml.unknown_token_id', u32],
  ['tokenizer.ggml.padding_token_id', u32],
  ['tokenizer.ggml.seperator_token_id', u32],
  ['tokenizer.ggml.cls_token_id', u32],
  ['tokenizer.ggml.mask_token_id', u32],
  ['tokenizer.ggml.add_bos_token', bool],
  ['tokenizer.ggml.add_eos_token', bool],
  ['tokenizer.ggml.add_sep_token', bool],
  ['tokenizer.ggml.add_space_prefix', bool],
  ['tokenizer.ggml.remove_extra_whitespaces', bool],
  ['tokenizer.chat_template', str],
]);

/** Keys under `${architecture}.`. */
const PER_ARCH: ReadonlyMap<string, KnownKeyType> = new Map<string, KnownKeyType>([
  ['context_length', u32],
  ['embedding_length', u32],
  ['block_count', u32],
  ['feed_forward_length', perLayerU32],
  ['vocab_size', u32],
  ['expert_count', u32],
  ['expert_used_count', u32],
  ['expert_feed_forward_length', u32],
  ['expert_shared_feed_forward_length', u32],
  ['attention.head_count', perLayerU32],
  ['attention.head_count_kv', perLayerU32],
  ['attention.key_length', u32],
  ['attention.value_length', u32],
  ['attention.layer_norm_rms_epsilon', f32],
  ['attention.layer_norm_epsilon', f32],
  ['rope.dimension_count', u32],
  ['rope.freq_base', f32],
  ['rope.scaling.type', str],
  ['rope.scaling.factor', f32],
  ['rope.scaling.original_context_length', u32],
  ['hidden_activation', str],
]);

/** The type llama.cpp expects for `key` in a file of `architecture`, if it is a well-known key. */
export function knownKeyType(key: string, architecture?: string): KnownKeyType | undefined {
  const general = GENERAL.get(key);
  if (general) return general;
  if (architecture && key.startsWith(`${architecture}.`)) return PER_ARCH.get(key.slice(architecture.length + 1));
  return undefined;
}
