import { describe, expect, it } from 'vitest';
import { tensorGroupOf } from './discover.js';
import { GgufError } from './errors.js';
import {
  ggufTensorNameFor,
  huggingFaceTensorNameFor,
  type ModelTensorRole,
  parseGgufTensorName,
  parseHuggingFaceTensorName,
  TENSOR_NAMES,
  type TensorNameArchitecture,
  tensorRolesOf,
} from './tensor-names.js';

const ROLES = Object.keys(TENSOR_NAMES) as ModelTensorRole[];
const ARCHITECTURES: TensorNameArchitecture[] = ['llama', 'bitnet'];
const perBlock = (role: ModelTensorRole) => TENSOR_NAMES[role].gguf.includes('{bid}');

// The names trit produced before the table existed, written out by hand: the
// converter's Hugging Face → GGUF pairs and the names the runtime loads.
const CONVERTER_GLOBAL: [string, string][] = [
  ['model.embed_tokens.weight', 'token_embd.weight'],
  ['model.norm.weight', 'output_norm.weight'],
  ['lm_head.weight', 'output.weight'],
];
const CONVERTER_PER_LAYER: [string, string][] = [
  ['input_layernorm.weight', 'attn_norm.weight'],
  ['self_attn.q_proj.weight', 'attn_q.weight'],
  ['self_attn.k_proj.weight', 'attn_k.weight'],
  ['self_attn.v_proj.weight', 'attn_v.weight'],
  ['self_attn.o_proj.weight', 'attn_output.weight'],
  ['post_attention_layernorm.weight', 'ffn_norm.weight'],
  ['mlp.gate_proj.weight', 'ffn_gate.weight'],
  ['mlp.up_proj.weight', 'ffn_up.weight'],
  ['mlp.down_proj.weight', 'ffn_down.weight'],
  ['self_attn.attn_sub_norm.weight', 'attn_sub_norm.weight'],
  ['self_attn.inner_attn_ln.weight', 'attn_sub_norm.weight'],
  ['mlp.ffn_sub_norm.weight', 'ffn_sub_norm.weight'],
  ['mlp.ffn_layernorm.weight', 'ffn_sub_norm.weight'],
];
const RUNTIME_MATRICES = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'];

describe('tensor-name table', () => {
  it('round-trips every role of every architecture through its GGUF and Hugging Face names', () => {
    for (const architecture of ARCHITECTURES) {
      for (const role of tensorRolesOf(architecture)) {
        for (const block of perBlock(role) ? [0, 7, 123] : [undefined]) {
          for (const suffix of ['weight', 'scale', 'bias']) {
            const parts = block === undefined ? { role, suffix } : { role, block, suffix };
            const gguf = ggufTensorNameFor(role, block, suffix);
            const hf = huggingFaceTensorNameFor(role, block, suffix) as string;
            expect(parseGgufTensorName(gguf)).toEqual(parts);
            expect(parseHuggingFaceTensorName(hf)).toEqual(parts);
            expect(parseHuggingFaceTensorName(hf, architecture)).toEqual(parts);
            const back = parseHuggingFaceTensorName(hf) ?? parts;
            expect(ggufTensorNameFor(back.role, back.block, back.suffix)).toBe(gguf);
            const forth = parseGgufTensorName(gguf) ?? parts;
            expect(huggingFaceTensorNameFor(forth.role, forth.block, forth.suffix)).toBe(hf);
          }
        }
      }
    }
  });

  it('reads every Hugging Face alias as its role, and writes the canonical name', () => {
    for (const role of ROLES) {
      for (const template of TENSOR_NAMES[role].huggingFace) {
        const alias = `${template.replace('{bid}', '5')}.weight`;
        const parts = parseHuggingFaceTensorName(alias);
        expect(parts).toEqual(perBlock(role) ? { role, block: 5, suffix: 'weight' } : { role, suffix: 'weight' });
        expect(huggingFaceTensorNameFor(role, parts?.block)).toBe(
          `${(TENSOR_NAMES[role].huggingFace[0] as string).replace('{bid}', '5')}.weight`,
        );
      }
    }
  });

  it("produces every name the converter's Hugging Face mapping produced", () => {
    for (const [hf, gguf] of CONVERTER_GLOBAL) {
      const parts = parseHuggingFaceTensorName(hf);
      expect(parts && ggufTensorNameFor(parts.role, parts.block, parts.suffix)).toBe(gguf);
    }
    for (const layer of [0, 1, 29]) {
      for (const [hf, gguf] of CONVERTER_PER_LAYER) {
        const parts = parseHuggingFaceTensorName(`model.layers.${layer}.${hf}`);
        expect(parts && ggufTensorNameFor(parts.role, parts.block, parts.suffix)).toBe(`blk.${layer}.${gguf}`);
      }
    }
  });

  it('produces every name the runtime loads, for both architectures', () => {
    const expected = (architecture: TensorNameArchitecture, blocks: number): string[] => [
      'token_embd.weight',
      'output_norm.weight',
      ...(architecture === 'llama' ? ['output.weight'] : []),
      ...Array.from({ length: blocks }, (_, i) => [
        `blk.${i}.attn_norm.weight`,
        ...RUNTIME_MATRICES.slice(0, 4).map((m) => `blk.${i}.${m}.weight`),
        `blk.${i}.ffn_norm.weight`,
        ...RUNTIME_MATRICES.slice(4).map((m) => `blk.${i}.${m}.weight`),
        ...(architecture === 'bitnet' ? [`blk.${i}.attn_sub_norm.weight`, `blk.${i}.ffn_sub_norm.weight`] : []),
      ]).flat(),
    ];
    for (const architecture of ARCHITECTURES) {
      const roles = tensorRolesOf(architecture);
      const global = roles.filter((r) => !perBlock(r)).map((r) => ggufTensorNameFor(r));
      const blocks = [0, 1].flatMap((i) => roles.filter(perBlock).map((r) => ggufTensorNameFor(r, i)));
      expect([...global, ...blocks].sort()).toEqual(expected(architecture, 2).sort());
    }
    expect(RUNTIME_MATRICES.map((m) => ggufTensorNameFor(m as ModelTensorRole, 3, 'scale'))).toEqual(
      RUNTIME_MATRICES.map((m) => `blk.3.${m}.scale`),
    );
  });

  it('knows the MoE expert names llama.cpp uses', () => {
    expect(ggufTensorNameFor('ffn_gate_exps', 2)).toBe('blk.2.ffn_gate_exps.weight');
    expect(parseGgufTensorName('blk.4.ffn_down_shexp.weight')).toEqual({
      role: 'ffn_down_shexp',
      block: 4,
      suffix: 'weight',
    });
    expect(huggingFaceTensorNameFor('ffn_up_exps', 0)).toBeUndefined();
  });

  it('leaves names it does not know, and odd spellings of ones it does, unparsed', () => {
    for (const name of [
      'blk.0.attn_q',
      'blk.01.attn_q.weight',
      'blk.x.attn_q.weight',
      'blk.99999999999999999999.attn_q.weight',
      'blk.{bid}.attn_q.weight',
      'blk.0.constructor.weight',
      'constructor.weight',
      '__proto__.weight',
      'token_embd',
      'blk.0.token_embd.weight',
      'model.layers.0.attn_q.weight',
      'transformer.wte.weight',
    ]) {
      expect(parseGgufTensorName(name), name).toBeUndefined();
      expect(parseHuggingFaceTensorName(name), name).toBeUndefined();
    }
    expect(parseGgufTensorName('model.layers.0.self_attn.q_proj.weight')).toBeUndefined();
    expect(parseHuggingFaceTensorName('blk.0.attn_q.weight')).toBeUndefined();
  });

  it('recognises only an architecture’s own roles when asked for one', () => {
    const subNorm = 'model.layers.0.self_attn.attn_sub_norm.weight';
    expect(parseHuggingFaceTensorName(subNorm, 'llama')).toBeUndefined();
    expect(parseHuggingFaceTensorName(subNorm, 'bitnet')?.role).toBe('attn_sub_norm');
    expect(parseHuggingFaceTensorName('lm_head.weight', 'bitnet')).toBeUndefined();
    expect(parseHuggingFaceTensorName('lm_head.weight')?.role).toBe('output');
  });

  it('refuses a block index where there is none, and a missing or bad one', () => {
    expect(() => ggufTensorNameFor('attn_q')).toThrow(GgufError);
    expect(() => ggufTensorNameFor('attn_q')).toThrow(/needs a block index/);
    expect(() => ggufTensorNameFor('attn_q', -1)).toThrow(/needs a block index/);
    expect(() => ggufTensorNameFor('attn_q', 1.5)).toThrow(/needs a block index/);
    expect(() => ggufTensorNameFor('token_embd', 0)).toThrow(/has no block index/);
    expect(() => ggufTensorNameFor('constructor' as ModelTensorRole)).toThrow(/unknown tensor role/);
    expect(() => tensorRolesOf('constructor' as TensorNameArchitecture)).toThrow(GgufError);
  });

  it("gives each known name its role's discovery group", () => {
    for (const role of ROLES) {
      const block = perBlock(role) ? 3 : undefined;
      expect(tensorGroupOf(ggufTensorNameFor(role, block))).toBe(TENSOR_NAMES[role].group);
      const hf = huggingFaceTensorNameFor(role, block);
      if (hf) expect(tensorGroupOf(hf)).toBe(TENSOR_NAMES[role].group);
    }
    // 1bitLLM's attention sub-norm is a norm (its name has no `norm` in it).
    expect(tensorGroupOf('model.layers.2.self_attn.inner_attn_ln.weight')).toBe('Normalization');
  });
});
