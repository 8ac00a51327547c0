import type { GgufFile, GgufTensorInfo } from './reader.js';
import { parseGgufTensorName, parseHuggingFaceTensorName, TENSOR_NAMES } from './tensor-names.js';

export interface TensorEntry {
  name: string;
  /** ggml order (ne[0] first). */
  shape: readonly number[];
  dtype: string;
  bytes: number;
  bitsPerWeight: number;
}

export interface TensorGroup {
  name: TensorGroupName;
  tensors: TensorEntry[];
  bytes: number;
}

export type TensorGroupName = 'Embedding/Output' | 'Normalization' | 'Attention' | 'FFN/Expert' | 'Other';

/** RuvLLM's TensorDiscoveryReport, from a parsed file. */
export interface TensorDiscoveryReport {
  totalTensors: number;
  totalBytes: number;
  totalElements: number;
  /** Bits per weight over all tensor data. */
  bitsPerWeight: number;
  architecture: string | undefined;
  dialect: GgufFile['dialect'];
  version: number;
  /** Non-empty groups, in the order Embedding/Output, Normalization, Attention, FFN/Expert, Other. */
  tensorGroups: TensorGroup[];
  warnings: string[];
}

const GROUP_ORDER: TensorGroupName[] = ['Embedding/Output', 'Normalization', 'Attention', 'FFN/Expert', 'Other'];

/**
 * Which group a tensor name belongs to, for GGUF (`blk.N.attn_q`) and Hugging Face (`model.layers.N.self_attn`) names:
 * the tensor-name table's group for a name it knows, else a guess from the name's words.
 */
export function tensorGroupOf(name: string): TensorGroupName {
  const known = parseGgufTensorName(name) ?? parseHuggingFaceTensorName(name);
  if (known) return TENSOR_NAMES[known.role].group;
  const n = name.toLowerCase();
  if (/norm|(^|\.)ln_?\w*\.|layernorm/.test(n)) return 'Normalization';
  if (/^(token_embd|output|lm_head|model\.embed_tokens|embed_tokens|wte|tok_embeddings|rope_freqs)(\.|$)/.test(n))
    return 'Embedding/Output';
  if (/attn|attention|self_attn|\.(q|k|v|o)_proj\./.test(n)) return 'Attention';
  if (/ffn|mlp|expert|feed_forward|\.(gate|up|down)_proj\.|\.w[123]\./.test(n)) return 'FFN/Expert';
  return 'Other';
}

const MLA = /attn_(q_a|q_b|kv_a_mqa|kv_b|k_b|v_b)|kv_a_proj_with_mqa|q_a_proj|kv_b_proj/;

/** Groups a file's tensors and notes what a loader should know (naming schemes, MLA, stacked experts). */
export function discoverTensors(file: GgufFile): TensorDiscoveryReport {
  const groups = new Map<TensorGroupName, TensorGroup>();
  let totalBytes = 0;
  let totalElements = 0;
  const entry = (t: GgufTensorInfo): TensorEntry => ({
    name: t.name,
    shape: t.shape,
    dtype: t.typeName,
    bytes: t.byteSize,
    bitsPerWeight: t.elementCount === 0 ? 0 : (t.byteSize * 8) / t.elementCount,
  });
  for (const t of file.tensors) {
    const name = tensorGroupOf(t.name);
    const group = groups.get(name) ?? { name, tensors: [], bytes: 0 };
    group.tensors.push(entry(t));
    group.bytes += t.byteSize;
    groups.set(name, group);
    totalBytes += t.byteSize;
    totalElements += t.elementCount;
  }

  const warnings: string[] = [];
  const ggufNames = file.tensors.filter((t) => /^(blk\.\d+\.|token_embd|output)/.test(t.name)).length;
  const hfNames = file.tensors.filter((t) => /^(model\.|lm_head|transformer\.)/.test(t.name)).length;
  if (ggufNames > 0 && hfNames > 0)
    warnings.push(`mixed naming schemes: ${ggufNames} GGUF-style and ${hfNames} Hugging Face-style tensor names`);
  const mla = file.tensors.filter((t) => MLA.test(t.name));
  if (mla.length > 0)
    warnings.push(`multi-head latent attention (MLA) tensors present (${mla.length}, e.g. ${mla[0].name})`);
  const stacked = file.tensors.filter((t) => /_exps\./.test(t.name) || (t.shape.length === 3 && /expert/.test(t.name)));
  if (stacked.length > 0) {
    const experts = stacked[0].shape[2];
    warnings.push(
      `stacked expert tensors (${stacked.length}${experts ? `, ${experts} experts each` : ''}): experts are slices along ne[2]`,
    );
  }
  if (file.dialect === 'bitnet.cpp')
    warnings.push('bitnet.cpp dialect (I2_S/TL1/TL2 type ids): upstream llama.cpp cannot load this file');
  if (file.dialect === 'ruvllm')
    warnings.push('RuvLLM dialect (type 30 = T158, dims stored [rows, cols]): llama.cpp cannot load this file');

  return {
    totalTensors: file.tensors.length,
    totalBytes,
    totalElements,
    bitsPerWeight: totalElements === 0 ? 0 : (totalBytes * 8) / totalElements,
    architecture: file.architecture,
    dialect: file.dialect,
    version: file.version,
    tensorGroups: GROUP_ORDER.flatMap((name) => (groups.has(name) ? [groups.get(name) as TensorGroup] : [])),
    warnings,
  };
}
