import { QuantizerConfigError } from './errors.js';

/**
 * Which tensors become ternary:
 * - `'experts-only'`: MoE expert FFNs (routed and shared), as RuvLLM's default;
 * - `'all'`: every weight matrix that the design rule allows;
 * - `{ custom }`: tensors whose name matches one of the glob patterns.
 * In every mode the design rule (docs/formats.md §RuvLLM) wins: routers, token
 * embeddings, the LM head, norms and RoPE tables are never ternary.
 */
export type LayerMask = 'experts-only' | 'all' | { custom: readonly string[] };

/** What a tensor is for quantization, from its GGUF (llama.cpp) or Hugging Face name. */
export type QuantizationRole =
  | 'router'
  | 'embedding'
  | 'lm-head'
  | 'norm'
  | 'rope'
  | 'auxiliary'
  | 'expert'
  | 'attention'
  | 'ffn'
  | 'other';

/** @deprecated Use {@link QuantizationRole} (a tensor's role in the model is @trit/gguf's ModelTensorRole). Removed in the next minor release. */
export type TensorRole = QuantizationRole;

/** Roles that the design rule keeps in floating point whatever the mask says. */
export const NEVER_TERNARY_ROLES: ReadonlySet<QuantizationRole> = new Set([
  'router',
  'embedding',
  'lm-head',
  'norm',
  'rope',
  'auxiliary',
]);

// Checked in order; the first match decides. Patterns look at dot-separated
// segments so that e.g. `attn_output` is not the LM head `output`.
const ROLE_PATTERNS: readonly [QuantizationRole, RegExp][] = [
  // Biases, BitNet's per-tensor `.scale`, HF's `weight_scale`: not weight matrices.
  ['auxiliary', /\.(bias|scale|weight_scale|input_scale)$/],
  [
    'router',
    /(^|\.)(ffn_gate_inp(_shexp)?|router|shared_expert_gate)(\.|$)|(^|\.)(mlp|block_sparse_moe)\.gate\.weight$/,
  ],
  ['embedding', /(^|\.)(token_embd|embed_tokens|tok_embeddings|wte|word_embeddings)(\.|$)/],
  ['lm-head', /^(output|lm_head)\.weight$|(^|\.)lm_head(\.|$)/],
  ['norm', /(^|\.)([^.]*norm[^.]*|ln(_[^.]*)?|[^.]*_ln)(\.|$)/],
  ['rope', /rope_freqs|rotary_emb|inv_freq/],
  [
    'expert',
    /(^|\.)ffn_(gate|up|down|gate_up)_(exps|shexp)(\.|$)|(^|\.)experts\.\d+\.|(^|\.)shared_experts?\.|block_sparse_moe\.experts\./,
  ],
  ['attention', /(^|\.)(attn_(q|k|v|qkv|output)|self_attn\.(q|k|v|o|qkv)_proj|attention\.w[qkvo])(\.|$)/],
  ['ffn', /(^|\.)(ffn_(gate|up|down)|mlp\.(gate|up|down)_proj|feed_forward\.w[123])(\.|$)/],
];

/** The role of a tensor from its name (GGUF or Hugging Face conventions). */
export function classifyTensor(name: string): QuantizationRole {
  for (const [role, pattern] of ROLE_PATTERNS) if (pattern.test(name)) return role;
  return 'other';
}

const globCache = new Map<string, RegExp>();

/**
 * Compiles a glob over tensor names: `*` matches any run of characters (dots
 * included), `?` one character, `[abc]` / `[0-9]` a class, `{a,b}` alternatives.
 */
export function compileGlob(pattern: string): RegExp {
  const cached = globCache.get(pattern);
  if (cached) return cached;
  let source = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) throw new QuantizerConfigError('layersToQuantize', `unclosed "[" in glob "${pattern}"`);
      const body = pattern.slice(i + 1, close).replace(/\\/g, '\\\\');
      source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
      i = close;
    } else if (c === '{') {
      braces++;
      source += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      source += ')';
    } else if (c === ',' && braces > 0) source += '|';
    else source += c.replace(/[.+^$()|\\/{}[\]]/g, '\\$&');
  }
  if (braces !== 0) throw new QuantizerConfigError('layersToQuantize', `unbalanced "{" in glob "${pattern}"`);
  const regex = new RegExp(`^${source}$`);
  globCache.set(pattern, regex);
  return regex;
}

/** Throws a QuantizerConfigError naming what is wrong with `mask`; callers check a mask before any work starts. */
export function validateLayerMask(mask: LayerMask): void {
  if (mask === 'experts-only' || mask === 'all') return;
  if (typeof mask !== 'object' || mask === null || !Array.isArray(mask.custom)) {
    throw new QuantizerConfigError('layersToQuantize', `must be 'experts-only', 'all' or { custom: string[] }`);
  }
  for (const pattern of mask.custom) {
    if (typeof pattern !== 'string' || pattern.length === 0) {
      throw new QuantizerConfigError('layersToQuantize', `custom patterns must be non-empty strings`);
    }
    compileGlob(pattern);
  }
}

/** Whether `tensorName` becomes ternary under `mask`. The design rule always wins. */
export function shouldQuantize(tensorName: string, mask: LayerMask): boolean {
  const role = classifyTensor(tensorName);
  if (NEVER_TERNARY_ROLES.has(role)) return false;
  if (mask === 'experts-only') return role === 'expert';
  if (mask === 'all') return role !== 'other' || tensorName.endsWith('.weight');
  validateLayerMask(mask);
  return mask.custom.some((pattern) => compileGlob(pattern).test(tensorName));
}
