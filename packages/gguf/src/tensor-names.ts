import type { TensorGroupName } from './discover.js';
import { GgufError } from './errors.js';

/*
 * Every tensor name trit reads or writes, one row per role: the GGUF name
 * llama.cpp loads and the Hugging Face names checkpoints use (the idea of
 * gguf-py's TensorNameMap; docs/formats.md §Tensor names). `{bid}` stands for
 * the block (layer) index. Names are kept without their suffix: `.weight`,
 * BitNet's per-tensor `.scale` or a `.bias` is appended. The first Hugging
 * Face name is the one written; the rest are aliases that are read. Adding a
 * role (MLA's `attn_q_a`, `attn_kv_a_mqa`, …) or a spelling means adding a row
 * or a name here.
 *
 *   role 'attn_q', block 3, suffix 'weight'
 *     GGUF:         blk.3.attn_q.weight
 *     Hugging Face: model.layers.3.self_attn.q_proj.weight
 */
export interface TensorNameRow {
  /** The GGUF name without its suffix. */
  readonly gguf: string;
  /** Hugging Face names without their suffix, the canonical one first; empty when a checkpoint has no one-to-one tensor. */
  readonly huggingFace: readonly string[];
  /** Where a discovery report lists the tensor. */
  readonly group: TensorGroupName;
}

const BLOCK = '{bid}';

const rows = {
  token_embd: { gguf: 'token_embd', huggingFace: ['model.embed_tokens'], group: 'Embedding/Output' },
  output_norm: { gguf: 'output_norm', huggingFace: ['model.norm'], group: 'Normalization' },
  output: { gguf: 'output', huggingFace: ['lm_head'], group: 'Embedding/Output' },
  // Rotary tables are recomputed from the hyper-parameters; checkpoints keep them as buffers, never converted.
  rope_freqs: { gguf: 'rope_freqs', huggingFace: [], group: 'Embedding/Output' },
  attn_norm: {
    gguf: 'blk.{bid}.attn_norm',
    huggingFace: ['model.layers.{bid}.input_layernorm'],
    group: 'Normalization',
  },
  attn_q: { gguf: 'blk.{bid}.attn_q', huggingFace: ['model.layers.{bid}.self_attn.q_proj'], group: 'Attention' },
  attn_k: { gguf: 'blk.{bid}.attn_k', huggingFace: ['model.layers.{bid}.self_attn.k_proj'], group: 'Attention' },
  attn_v: { gguf: 'blk.{bid}.attn_v', huggingFace: ['model.layers.{bid}.self_attn.v_proj'], group: 'Attention' },
  attn_output: {
    gguf: 'blk.{bid}.attn_output',
    huggingFace: ['model.layers.{bid}.self_attn.o_proj'],
    group: 'Attention',
  },
  // BitNet's sub-norms: BitNet b1.58 2B4T's names, then the 1bitLLM ones.
  attn_sub_norm: {
    gguf: 'blk.{bid}.attn_sub_norm',
    huggingFace: ['model.layers.{bid}.self_attn.attn_sub_norm', 'model.layers.{bid}.self_attn.inner_attn_ln'],
    group: 'Normalization',
  },
  ffn_norm: {
    gguf: 'blk.{bid}.ffn_norm',
    huggingFace: ['model.layers.{bid}.post_attention_layernorm'],
    group: 'Normalization',
  },
  ffn_gate: { gguf: 'blk.{bid}.ffn_gate', huggingFace: ['model.layers.{bid}.mlp.gate_proj'], group: 'FFN/Expert' },
  ffn_up: { gguf: 'blk.{bid}.ffn_up', huggingFace: ['model.layers.{bid}.mlp.up_proj'], group: 'FFN/Expert' },
  ffn_down: { gguf: 'blk.{bid}.ffn_down', huggingFace: ['model.layers.{bid}.mlp.down_proj'], group: 'FFN/Expert' },
  ffn_sub_norm: {
    gguf: 'blk.{bid}.ffn_sub_norm',
    huggingFace: ['model.layers.{bid}.mlp.ffn_sub_norm', 'model.layers.{bid}.mlp.ffn_layernorm'],
    group: 'Normalization',
  },
  // Mixture of experts: the router, then experts stacked along ne[2] (`_exps`) and the shared expert (`_shexp`).
  // Checkpoints hold one tensor per expert, which a converter stacks: no one-to-one Hugging Face name.
  ffn_gate_inp: { gguf: 'blk.{bid}.ffn_gate_inp', huggingFace: [], group: 'FFN/Expert' },
  ffn_gate_exps: { gguf: 'blk.{bid}.ffn_gate_exps', huggingFace: [], group: 'FFN/Expert' },
  ffn_up_exps: { gguf: 'blk.{bid}.ffn_up_exps', huggingFace: [], group: 'FFN/Expert' },
  ffn_down_exps: { gguf: 'blk.{bid}.ffn_down_exps', huggingFace: [], group: 'FFN/Expert' },
  ffn_gate_inp_shexp: { gguf: 'blk.{bid}.ffn_gate_inp_shexp', huggingFace: [], group: 'FFN/Expert' },
  ffn_gate_shexp: { gguf: 'blk.{bid}.ffn_gate_shexp', huggingFace: [], group: 'FFN/Expert' },
  ffn_up_shexp: { gguf: 'blk.{bid}.ffn_up_shexp', huggingFace: [], group: 'FFN/Expert' },
  ffn_down_shexp: { gguf: 'blk.{bid}.ffn_down_shexp', huggingFace: [], group: 'FFN/Expert' },
} as const satisfies Record<string, TensorNameRow>;

/** What a tensor does in the model, whatever a file calls it: a key of {@link TENSOR_NAMES}. */
export type ModelTensorRole = keyof typeof rows;

/** The tensor-name table: each role's GGUF name, Hugging Face names and discovery group. */
export const TENSOR_NAMES: Readonly<Record<ModelTensorRole, TensorNameRow>> = Object.freeze(rows);

const LLAMA_BLOCK: readonly ModelTensorRole[] = [
  'attn_norm',
  'attn_q',
  'attn_k',
  'attn_v',
  'attn_output',
  'ffn_norm',
  'ffn_gate',
  'ffn_up',
  'ffn_down',
];

// The roles each architecture's llama.cpp graph has; bitnet's always reuses token_embd as its output head.
const architectures = {
  llama: ['token_embd', 'output_norm', 'output', ...LLAMA_BLOCK],
  bitnet: ['token_embd', 'output_norm', ...LLAMA_BLOCK, 'attn_sub_norm', 'ffn_sub_norm'],
} satisfies Record<string, readonly ModelTensorRole[]>;

/** An architecture whose tensors the table names (`general.architecture`). */
export type TensorNameArchitecture = keyof typeof architectures;

/** The roles an architecture's tensors play, global ones first. */
export function tensorRolesOf(architecture: TensorNameArchitecture): readonly ModelTensorRole[] {
  if (!Object.hasOwn(architectures, architecture)) {
    throw new GgufError('no tensor names for this architecture', {
      expected: Object.keys(architectures).join(', '),
      found: String(architecture),
    });
  }
  return architectures[architecture];
}

/** A tensor name taken apart. */
export interface TensorNameParts {
  role: ModelTensorRole;
  /** The block (layer) index; absent for global tensors such as token_embd. */
  block?: number;
  /** What follows the name's last dot: `weight`, `scale`, `bias`. */
  suffix: string;
}

const isRole = (role: string): role is ModelTensorRole => Object.hasOwn(rows, role);

function fill(template: string, role: string, block: number | undefined, suffix: string): string {
  const perBlock = template.includes(BLOCK);
  if (perBlock !== (block !== undefined) || (block !== undefined && !(Number.isSafeInteger(block) && block >= 0))) {
    throw new GgufError(`tensor role "${role}" ${perBlock ? 'needs a block index' : 'has no block index'}`, {
      tensor: template,
      expected: perBlock ? 'a non-negative integer block' : 'no block',
      found: String(block),
    });
  }
  return `${perBlock ? template.replace(BLOCK, String(block)) : template}.${suffix}`;
}

function row(role: ModelTensorRole): TensorNameRow {
  if (!isRole(role)) {
    throw new GgufError('unknown tensor role', { expected: Object.keys(rows).join(', '), found: String(role) });
  }
  return rows[role];
}

/** The GGUF name of a role: `ggufTensorNameFor('attn_q', 3)` is `blk.3.attn_q.weight`. */
export function ggufTensorNameFor(role: ModelTensorRole, block?: number, suffix = 'weight'): string {
  return fill(row(role).gguf, role, block, suffix);
}

/** The Hugging Face name a checkpoint gives a role, or undefined when it has none. */
export function huggingFaceTensorNameFor(role: ModelTensorRole, block?: number, suffix = 'weight'): string | undefined {
  const [name] = row(role).huggingFace;
  return name === undefined ? undefined : fill(name, role, block, suffix);
}

/**
 * A name scheme: templates (without `{bid}` filled in) to roles, and the
 * prefixes after which a block index comes. Maps, not object literals: names
 * come from files, and `constructor` must not be found on Object.prototype.
 */
interface NameScheme {
  roles: ReadonlyMap<string, ModelTensorRole>;
  blockPrefixes: readonly string[];
}

function scheme(templatesOf: (row: TensorNameRow) => readonly string[]): NameScheme {
  const roles = new Map<string, ModelTensorRole>();
  const blockPrefixes = new Set<string>();
  for (const role of Object.keys(rows) as ModelTensorRole[]) {
    for (const template of templatesOf(rows[role])) {
      roles.set(template, role);
      const at = template.indexOf(BLOCK);
      if (at >= 0) blockPrefixes.add(template.slice(0, at));
    }
  }
  return { roles, blockPrefixes: [...blockPrefixes] };
}

const GGUF_SCHEME = scheme((r) => [r.gguf]);
const HUGGING_FACE_SCHEME = scheme((r) => r.huggingFace);
// A block index as written: decimal without leading zeros, so every name has exactly one spelling.
const BLOCK_INDEX = /^(0|[1-9][0-9]*)\./;

function parse(name: string, { roles, blockPrefixes }: NameScheme): TensorNameParts | undefined {
  const dot = name.lastIndexOf('.');
  if (dot < 0) return undefined;
  const base = name.slice(0, dot);
  const suffix = name.slice(dot + 1);
  if (base.includes(BLOCK)) return undefined;
  const global = roles.get(base);
  if (global !== undefined) return { role: global, suffix };
  for (const prefix of blockPrefixes) {
    if (!base.startsWith(prefix)) continue;
    const index = BLOCK_INDEX.exec(base.slice(prefix.length));
    if (!index) continue;
    const block = Number(index[1]);
    const role = roles.get(`${prefix}${BLOCK}.${base.slice(prefix.length + index[0].length)}`);
    if (role !== undefined && Number.isSafeInteger(block)) return { role, block, suffix };
  }
  return undefined;
}

/** The role, block and suffix of a GGUF tensor name, or undefined when the table does not know it. */
export function parseGgufTensorName(name: string): TensorNameParts | undefined {
  return parse(name, GGUF_SCHEME);
}

/**
 * The role, block and suffix of a Hugging Face tensor name (aliases included),
 * or undefined when the table does not know it. With `architecture`, only the
 * roles that architecture has are recognised.
 */
export function parseHuggingFaceTensorName(
  name: string,
  architecture?: TensorNameArchitecture,
): TensorNameParts | undefined {
  const parts = parse(name, HUGGING_FACE_SCHEME);
  if (parts && architecture !== undefined && !tensorRolesOf(architecture).includes(parts.role)) return undefined;
  return parts;
}
