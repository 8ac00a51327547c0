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
    expect(codes(await validateGguf(g.bytes()))).toEqual(['tokenizer-length']);
  });
});
