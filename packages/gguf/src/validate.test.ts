import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgmlType } from './ggml-types.js';
import { RawGguf, withTempDir, writeTinyLlama } from './test-support.js';
import { validateGguf } from './validate.js';

const codes = (r: Awaited<ReturnType<typeof validateGguf>>) => r.errors.map((e) => e.code);

describe('validateGguf', () => {
  it('passes a file we wrote, including the data scan', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'ok.gguf');
      await writeTinyLlama(path);
      const result = await validateGguf(path, { checkTensorData: true });
      expect(result.errors).toEqual([]);
      expect(result.ok).toBe(true);
    });
  });

  it('reports parse errors instead of throwing', async () => {
    const result = await validateGguf(Uint8Array.of(1, 2, 3, 4));
    expect(result.ok).toBe(false);
    expect(result.errors[0]).toMatchObject({ code: 'parse', offset: 0 });
  });

  it('finds what llama.cpp would reject: missing architecture, wrong key types, nested arrays, missing quantization version', async () => {
    const g = new RawGguf()
      .header(3, 1, 3)
      .str('llama.context_length')
      .i32(10)
      .u64(4096)
      .str('x.nested')
      .i32(9)
      .i32(9)
      .u64(0)
      .str('Bad-Key')
      .i32(4)
      .u32(1)
      .tensorInfo('w', [32], GgmlType.Q8_0, 0)
      .padTo(32)
      .zeros(64);
    const result = await validateGguf(g.bytes());
    expect(codes(result)).toEqual(['missing-architecture', 'missing-quantization-version', 'nested-array']);
    const typed = new RawGguf()
      .header(3, 0, 2)
      .kvString('general.architecture', 'llama')
      .str('llama.context_length')
      .i32(10)
      .u64(4096);
    const typedResult = await validateGguf(typed.bytes());
    expect(typedResult.errors[0].message).toMatch(/llama.context_length has type u64 but llama.cpp expects u32/);
    expect(result.warnings.map((w) => w.code)).toContain('key-naming');
  });

  it('finds gaps between tensors, a missing final padding, and trailing bytes', async () => {
    const base = () => new RawGguf().header(3, 2, 1).kvString('general.architecture', 'llama');
    const gap = base().tensorInfo('a', [4], 0, 0).tensorInfo('b', [4], 0, 64).padTo(32).zeros(96);
    expect(codes(await validateGguf(gap.bytes()))).toEqual(['non-contiguous']);
    const unpadded = base().tensorInfo('a', [4], 0, 0).tensorInfo('b', [4], 0, 32).padTo(32).zeros(48);
    expect(codes(await validateGguf(unpadded.bytes()))).toEqual(['missing-padding']);
    const trailing = base().tensorInfo('a', [4], 0, 0).tensorInfo('b', [4], 0, 32).padTo(32).zeros(96);
    const result = await validateGguf(trailing.bytes());
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.code)).toEqual(['trailing-bytes']);
  });

  it('with checkTensorData, finds a non-finite TQ2_0 scale, F16 value and F32 value, naming tensor and offset', async () => {
    const tq2 = new Uint8Array(66 * 2).fill(0x55);
    tq2[64] = 0x00;
    tq2[65] = 0x3c;
    tq2[66 + 64] = 0x00;
    tq2[66 + 65] = 0x7e; // NaN scale in block 1
    const f16 = Uint8Array.of(0, 0x3c, 0, 0xfc); // 1, -inf
    const f32 = new Uint8Array(new Float32Array([1, Number.NaN]).buffer);
    const g = new RawGguf()
      .header(3, 3, 2)
      .kvString('general.architecture', 'llama')
      .kvU32('general.quantization_version', 2)
      .tensorInfo('t', [512], GgmlType.TQ2_0, 0)
      .tensorInfo('h', [2], GgmlType.F16, 160)
      .tensorInfo('f', [2], GgmlType.F32, 192)
      .padTo(32);
    const dataStart = g.length;
    g.raw(tq2).padTo(32).raw(f16).padTo(32).raw(f32).padTo(32);
    const quick = await validateGguf(g.bytes());
    expect(quick.ok).toBe(true);
    const full = await validateGguf(g.bytes(), { checkTensorData: true, chunkBytes: 66 });
    expect(full.errors.map((e) => [e.code, e.tensor, e.offset])).toEqual([
      ['non-finite-data', 't', dataStart + 66],
      ['non-finite-data', 'h', dataStart + 162],
      ['non-finite-data', 'f', dataStart + 196],
    ]);
    expect(full.errors[0].message).toMatch(/block 1 has a non-finite fp16 scale/);
  });

  it('checks tokenizer array lengths', async () => {
    const g = new RawGguf()
      .header(3, 0, 3)
      .kvString('general.architecture', 'llama')
      .str('tokenizer.ggml.tokens')
      .i32(9)
      .i32(8)
      .u64(2)
      .str('a')
      .str('b')
      .str('tokenizer.ggml.scores')
      .i32(9)
      .i32(6)
      .u64(1)
      .f32(0);
    expect(codes(await validateGguf(g.bytes(), { vocabOnly: true }))).toEqual(['tokenizer-length']);
  });

  it('calls a file without tensors invalid (no model to run) unless a vocabulary-only file is expected', async () => {
    const g = new RawGguf()
      .header(3, 0, 2)
      .kvString('general.architecture', 'llama')
      .str('tokenizer.ggml.tokens')
      .i32(9)
      .i32(8)
      .u64(1)
      .str('a');
    const model = await validateGguf(g.bytes());
    expect(model.ok).toBe(false);
    expect(codes(model)).toEqual(['no-tensors']);
    expect(model.errors[0]?.message).toMatch(/<buffer>: the file holds no tensors/);
    const vocab = await validateGguf(g.bytes(), { vocabOnly: true, checkTensorData: true });
    expect(vocab.ok).toBe(true);
    expect(vocab.errors).toEqual([]);
  });

  it("with checkTensorData, finds the TQ2_0 and I2_S code 3 trit's kernels refuse, naming tensor, block, element and offset", async () => {
    // TQ2_0: two blocks of zeros (code 1); element 200 of block 1 (byte 40, bits 5:4) set to code 3.
    const tq2 = new Uint8Array(66 * 2).fill(0x55);
    for (const b of [0, 1]) tq2[66 * b + 65] = 0x3c; // scale 1.0
    tq2[66 + 40] = 0x55 | (3 << 4);
    const ggml = new RawGguf()
      .header(3, 1, 2)
      .kvString('general.architecture', 'llama')
      .kvU32('general.quantization_version', 2)
      .tensorInfo('blk.0.attn_q.weight', [512], GgmlType.TQ2_0, 0)
      .padTo(32);
    const tq2Start = ggml.length;
    ggml.raw(tq2).padTo(32);
    expect((await validateGguf(ggml.bytes())).ok).toBe(true);
    const found = await validateGguf(ggml.bytes(), { checkTensorData: true, chunkBytes: 66 });
    expect(found.errors.map((e) => [e.code, e.tensor, e.offset])).toEqual([
      ['non-ternary-code', 'blk.0.attn_q.weight', tq2Start + 66 + 40],
    ]);
    expect(found.errors[0]?.message).toMatch(
      /tensor "blk\.0\.attn_q\.weight": block 1, element 456 holds a reserved code \(it decodes to 2\), which is not ternary; trit's kernels refuse the tensor \(offset \d+\)/,
    );

    // I2_S (bitnet.cpp): 128-element blocks, element 32n + m in byte m, bits 7−2n; then the tensor scale.
    const i2s = new Uint8Array(256 / 4 + 32).fill(0x55);
    i2s.fill(0, 64);
    new DataView(i2s.buffer).setFloat32(64, 0.5, true);
    i2s[32 + 5] = 0x55 | (3 << 2); // block 1, element 32·2 + 5
    const bitnet = new RawGguf()
      .header(3, 1, 2)
      .kvString('general.architecture', 'bitnet-b1.58')
      .kvU32('general.quantization_version', 2)
      .tensorInfo('blk.0.ffn_up.weight', [256], 36, 0)
      .padTo(32);
    const i2sStart = bitnet.length;
    bitnet.raw(i2s).padTo(32);
    const i2sFound = await validateGguf(bitnet.bytes(), { checkTensorData: true });
    expect(i2sFound.errors.map((e) => [e.code, e.offset])).toEqual([['non-ternary-code', i2sStart + 37]]);
    expect(i2sFound.errors[0]?.message).toMatch(/block 1, element 197 holds a reserved code/);
    // With a NaN tensor scale too, the code comes first in the file; once fixed, the scale is reported.
    const scaleFile = bitnet.bytes();
    new DataView(scaleFile.buffer).setFloat32(i2sStart + 64, Number.NaN, true);
    expect((await validateGguf(scaleFile, { checkTensorData: true })).errors.map((e) => e.code)).toEqual([
      'non-ternary-code',
    ]);
    scaleFile[i2sStart + 37] = 0x55;
    const scaleFound = await validateGguf(scaleFile, { checkTensorData: true });
    expect(scaleFound.errors.map((e) => [e.code, e.offset])).toEqual([['non-finite-data', i2sStart + 64]]);
  });
});
