import { describe, expect, it } from 'vitest';
import { QuantizerConfigError } from './errors.js';
import { classifyTensor, compileGlob, type QuantizationRole, shouldQuantize } from './layer-mask.js';

// Real tensor names, llama.cpp GGUF and Hugging Face (docs/formats.md §Tensor names).
const roles: [string, QuantizationRole][] = [
  ['token_embd.weight', 'embedding'],
  ['model.embed_tokens.weight', 'embedding'],
  ['output.weight', 'lm-head'],
  ['lm_head.weight', 'lm-head'],
  ['output_norm.weight', 'norm'],
  ['model.norm.weight', 'norm'],
  ['blk.0.attn_norm.weight', 'norm'],
  ['blk.3.attn_sub_norm.weight', 'norm'],
  ['blk.3.ffn_sub_norm.weight', 'norm'],
  ['blk.0.ffn_norm.weight', 'norm'],
  ['model.layers.0.input_layernorm.weight', 'norm'],
  ['model.layers.0.post_attention_layernorm.weight', 'norm'],
  ['model.layers.2.self_attn.inner_attn_ln.weight', 'norm'],
  ['model.layers.2.self_attn.attn_sub_norm.weight', 'norm'],
  ['model.layers.2.mlp.ffn_layernorm.weight', 'norm'],
  ['model.layers.2.mlp.ffn_sub_norm.weight', 'norm'],
  ['rope_freqs.weight', 'rope'],
  ['blk.5.ffn_gate_inp.weight', 'router'],
  ['blk.5.ffn_gate_inp_shexp.weight', 'router'],
  ['model.layers.5.mlp.gate.weight', 'router'],
  ['model.layers.5.block_sparse_moe.gate.weight', 'router'],
  ['model.layers.5.mlp.shared_expert_gate.weight', 'router'],
  ['blk.5.ffn_gate_exps.weight', 'expert'],
  ['blk.5.ffn_up_exps.weight', 'expert'],
  ['blk.5.ffn_down_exps.weight', 'expert'],
  ['blk.5.ffn_up_shexp.weight', 'expert'],
  ['model.layers.5.mlp.experts.17.gate_proj.weight', 'expert'],
  ['model.layers.5.block_sparse_moe.experts.3.w2.weight', 'expert'],
  ['model.layers.5.mlp.shared_expert.down_proj.weight', 'expert'],
  ['blk.0.attn_q.weight', 'attention'],
  ['blk.0.attn_k.weight', 'attention'],
  ['blk.0.attn_v.weight', 'attention'],
  ['blk.0.attn_output.weight', 'attention'],
  ['model.layers.0.self_attn.o_proj.weight', 'attention'],
  ['blk.0.ffn_gate.weight', 'ffn'],
  ['blk.0.ffn_down.weight', 'ffn'],
  ['model.layers.0.mlp.gate_proj.weight', 'ffn'],
  ['model.layers.0.mlp.down_proj.weight', 'ffn'],
  ['blk.0.attn_q.bias', 'auxiliary'],
  ['blk.0.attn_q.scale', 'auxiliary'],
  ['model.layers.0.mlp.down_proj.weight_scale', 'auxiliary'],
  ['vision.patch_proj.weight', 'other'],
];

describe('classifyTensor', () => {
  it.each(roles)('%s is %s', (name, role) => {
    expect(classifyTensor(name)).toBe(role);
  });
});

describe('shouldQuantize', () => {
  it('experts-only selects routed and shared experts and nothing else', () => {
    const selected = roles.filter(([name]) => shouldQuantize(name, 'experts-only')).map(([, role]) => role);
    expect(new Set(selected)).toEqual(new Set(['expert']));
    expect(selected.length).toBe(roles.filter(([, r]) => r === 'expert').length);
  });

  it('all adds attention and dense FFN projections but never routers, embeddings, LM head, norms or RoPE', () => {
    for (const [name, role] of roles) {
      const expected = ['expert', 'attention', 'ffn', 'other'].includes(role);
      expect([name, shouldQuantize(name, 'all')]).toEqual([name, expected]);
    }
  });

  it('custom globs select by name, and the design rule still wins', () => {
    const mask = { custom: ['blk.*.attn_{q,k}.weight', 'blk.1?.ffn_up.weight', '*embd*', 'output.weight', '*norm*'] };
    expect(shouldQuantize('blk.0.attn_q.weight', mask)).toBe(true);
    expect(shouldQuantize('blk.12.attn_k.weight', mask)).toBe(true);
    expect(shouldQuantize('blk.0.attn_v.weight', mask)).toBe(false);
    expect(shouldQuantize('blk.12.ffn_up.weight', mask)).toBe(true);
    expect(shouldQuantize('blk.2.ffn_up.weight', mask)).toBe(false);
    expect(shouldQuantize('token_embd.weight', mask)).toBe(false);
    expect(shouldQuantize('output.weight', mask)).toBe(false);
    expect(shouldQuantize('blk.0.attn_norm.weight', mask)).toBe(false);
    expect(shouldQuantize('model.layers.3.mlp.up_proj.weight', { custom: ['model.layers.[0-3].mlp.*'] })).toBe(true);
    expect(shouldQuantize('model.layers.4.mlp.up_proj.weight', { custom: ['model.layers.[0-3].mlp.*'] })).toBe(false);
  });

  it('compiles globs with regex characters taken literally', () => {
    expect(compileGlob('a.b+c').test('a.b+c')).toBe(true);
    expect(compileGlob('a.b+c').test('axbbc')).toBe(false);
    expect(compileGlob('x[!0-4]').test('x7')).toBe(true);
    expect(compileGlob('x[!0-4]').test('x3')).toBe(false);
  });

  it('rejects malformed masks', () => {
    expect(() => shouldQuantize('a', { custom: ['blk.{0,1'] })).toThrow(QuantizerConfigError);
    expect(() => shouldQuantize('a', { custom: ['blk.[0'] })).toThrow(/unclosed "\["/);
    expect(() => shouldQuantize('a', { custom: [''] })).toThrow(QuantizerConfigError);
    expect(() => shouldQuantize('a', 'some' as never)).toThrow(QuantizerConfigError);
  });
});
