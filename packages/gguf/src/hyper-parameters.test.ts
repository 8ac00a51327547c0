import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHyperParameters, MAX_CONTEXT_LENGTH } from './hyper-parameters.js';
import { readGguf } from './reader.js';
import { type TinyLlamaOptions, withTempDir, writeTinyLlama } from './test-support.js';
import { validateGguf } from './validate.js';
import { GgufValue, GgufValueType } from './value-types.js';

/** The hyper-parameter errors of a one-layer tiny llama with `metadata` replacing its defaults. */
async function problems(metadata: TinyLlamaOptions['metadata']) {
  return withTempDir(async (dir) => {
    const path = join(dir, 'm.gguf');
    await writeTinyLlama(path, { metadata });
    const file = await readGguf(path);
    const started = performance.now();
    const result = checkHyperParameters(file);
    const validation = await validateGguf(path);
    return { ...result, validation, elapsedMs: performance.now() - started };
  });
}

describe('checkHyperParameters', () => {
  it('passes the well-formed model', async () => {
    const { errors, warnings, validation } = await problems({});
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(validation.errors.filter((e) => e.code === 'hyper-parameter')).toEqual([]);
  });

  it('refuses block_count = 2^31 against the one layer present, at once', async () => {
    const { errors, validation } = await problems({ 'llama.block_count': GgufValue.u32(2 ** 31) });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.key).toBe('llama.block_count');
    expect(errors[0]?.offset).toBeGreaterThan(0);
    expect(errors[0]?.message).toMatch(/llama\.block_count = 2147483648, but the tensors cover 1 layer \(blk\.0\)/);
    expect(validation.ok).toBe(false);
    expect(validation.errors.map((e) => e.code)).toContain('hyper-parameter');
  });

  it('refuses two layers when the file holds one', async () => {
    const two = await problems({ 'llama.block_count': 2 });
    expect(two.errors[0]?.message).toMatch(/= 2, but the tensors cover 1 layer/);
  });

  it('refuses zero (the writer enforces llama.cpp u32 types; other types come from the fuzz suite)', async () => {
    expect((await problems({ 'llama.block_count': 0 })).errors[0]?.message).toMatch(
      /block_count = 0; expected a positive integer/,
    );
    expect((await problems({ 'llama.feed_forward_length': 0 })).errors[0]?.key).toBe('llama.feed_forward_length');
  });

  it('caps context_length', async () => {
    expect((await problems({ 'llama.context_length': MAX_CONTEXT_LENGTH })).errors).toEqual([]);
    const over = await problems({ 'llama.context_length': MAX_CONTEXT_LENGTH + 1 });
    expect(over.errors[0]?.message).toMatch(/context_length = 16777217; expected at most 16777216/);
  });

  it('checks head counts against the embedding width and each other', async () => {
    expect((await problems({ 'llama.attention.head_count': 512 })).errors.map((e) => e.message).join()).toMatch(
      /head_count = 512 is more heads than the 256 embedding dimensions/,
    );
    expect((await problems({ 'llama.attention.head_count_kv': 3 })).errors[0]?.message).toMatch(
      /head_count_kv = 3 must divide attention.head_count = 4/,
    );
    expect((await problems({ 'llama.embedding_length': 128 })).errors[0]?.message).toMatch(
      /embedding_length = 128, but token_embd.weight rows hold 256 values/,
    );
  });

  it("checks widths against each layer's projections, and epsilon, RoPE base and RoPE dimensions", async () => {
    expect((await problems({ 'llama.feed_forward_length': 384 })).errors[0]?.message).toMatch(
      /llama\.feed_forward_length gives blk\.0\.ffn_up\.weight the shape \[256, 384\], but it has \[256, 512\]/,
    );
    expect((await problems({ 'llama.attention.head_count_kv': 4 })).errors[0]?.message).toMatch(
      /llama\.attention\.head_count_kv gives blk\.0\.attn_k\.weight the shape \[256, 256\], but it has \[256, 128\]/,
    );
    expect((await problems({ 'llama.attention.key_length': 32 })).errors[0]?.message).toMatch(
      /rope\.dimension_count = 64; expected an even number of at most the head width 32/,
    );
    expect((await problems({ 'llama.rope.dimension_count': 63 })).errors[0]?.key).toBe('llama.rope.dimension_count');
    expect(
      (await problems({ 'llama.attention.layer_norm_rms_epsilon': GgufValue.f32(-1) })).errors[0]?.message,
    ).toMatch(/layer_norm_rms_epsilon = -1; expected a finite number above 0/);
    expect((await problems({ 'llama.rope.freq_base': GgufValue.f32(0) })).errors[0]?.key).toBe('llama.rope.freq_base');
    expect((await problems({ 'llama.rope.freq_base': GgufValue.f32(Number.POSITIVE_INFINITY) })).errors[0]?.key).toBe(
      'llama.rope.freq_base',
    );
  });

  it('takes a model that is not a file yet (what the quantizer is about to write)', () => {
    const metadata = new Map([
      ['general.architecture', { type: GgufValueType.STRING, value: 'bitnet' }],
      ['bitnet.block_count', { type: GgufValueType.UINT32, value: 3 }],
    ] as const);
    const { errors } = checkHyperParameters({
      source: 'model/',
      metadata,
      tensors: [{ name: 'blk.0.attn_norm.weight', shape: [8] }],
    });
    expect(errors.map((e) => e.message)).toEqual([
      'model/: bitnet.block_count = 3, but the tensors cover 1 layer (blk.0)',
    ]);
  });

  it('wants one per-layer entry a layer', async () => {
    expect((await problems({ 'llama.attention.head_count': Uint32Array.of(4) })).errors).toEqual([]);
    const { errors } = await problems({ 'llama.attention.head_count': Uint32Array.of(4, 4, 4) });
    expect(errors[0]?.message).toMatch(/head_count has 3 per-layer entries; expected 1/);
  });
});

describe('projection and embedding shapes', () => {
  it('a projection or head that is not a matrix of the widths the keys give is refused', () => {
    const metadata = new Map([
      ['general.architecture', { type: GgufValueType.STRING, value: 'llama' }],
      ['llama.block_count', { type: GgufValueType.UINT32, value: 1 }],
      ['llama.embedding_length', { type: GgufValueType.UINT32, value: 64 }],
      ['llama.attention.head_count', { type: GgufValueType.UINT32, value: 4 }],
    ] as const);
    const norm = { name: 'blk.0.attn_norm.weight', shape: [64] };
    const check = (tensors: { name: string; shape: number[] }[]) =>
      checkHyperParameters({ source: 'm', metadata, tensors: [norm, ...tensors] }).errors.map((e) => e.message);
    expect(check([{ name: 'blk.0.attn_k.weight', shape: [4096] }])).toEqual([
      'm: llama.attention.head_count_kv gives blk.0.attn_k.weight the shape [64, 64], but it has [4096]',
    ]);
    expect(check([{ name: 'blk.0.attn_q.weight', shape: [64, 64, 1] }])).toEqual([]);
    expect(check([{ name: 'output.weight', shape: [17408] }])).toEqual([
      'm: llama.embedding_length = 64, but output.weight rows hold 17408 values',
    ]);
    expect(check([{ name: 'token_embd.weight', shape: [64, 10, 3] }])).toEqual([
      'm: llama.embedding_length = 64, but token_embd.weight has the shape [64, 10, 3]; expected [64, vocabulary]',
    ]);
  });
});
