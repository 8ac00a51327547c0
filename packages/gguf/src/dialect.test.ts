import { randomTernary } from '@trit/testkit';
import { describe, expect, it } from 'vitest';
import { discoverTensors } from './discover.js';
import { readGguf } from './reader.js';
import { RawGguf } from './test-support.js';
import { validateGguf } from './validate.js';

/** I2_S written from docs/formats.md §I2_S, element by element: 128-element blocks, elements 0–31 in bits 7:6. */
function i2sBytes(codes: Int8Array, scale: number): Uint8Array {
  const out = new Uint8Array(codes.length / 4 + 32);
  codes.forEach((t, k) => {
    const block = Math.floor(k / 128);
    const j = k % 128;
    out[32 * block + (j % 32)] |= (t + 1) << (6 - 2 * Math.floor(j / 32));
  });
  new DataView(out.buffer).setFloat32(codes.length / 4, scale, true);
  return out;
}

/** RuvLLM's T158 (docs/formats.md §T158): seed packing, LSB first, 00 = −1, 01 = 0, 10 = +1, then the fp16 scale. */
function t158Bytes(codes: Int8Array, halfScale: number): Uint8Array {
  const blocks = Math.ceil(codes.length / 256);
  const out = new Uint8Array(blocks * 66);
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < 256; i++) {
      const k = b * 256 + i;
      const code = k < codes.length ? codes[k] + 1 : 1;
      out[b * 66 + (i >> 2)] |= code << (2 * (i & 3));
    }
    out[b * 66 + 64] = halfScale & 0xff;
    out[b * 66 + 65] = halfScale >> 8;
  }
  return out;
}

describe('bitnet.cpp dialect', () => {
  it('is recognised from general.architecture and reads I2_S (type 36) with its tensor scale', async () => {
    const codes = randomTernary(256 * 4, 11);
    const data = i2sBytes(codes, 0.25);
    const g = new RawGguf()
      .header(3, 1, 1)
      .kvString('general.architecture', 'bitnet-b1.58')
      .tensorInfo('blk.0.attn_q.weight', [256, 4], 36, 0)
      .padTo(32)
      .raw(data)
      .padTo(32);
    const file = await readGguf(g.bytes());
    expect(file.dialect).toBe('bitnet.cpp');
    const t = file.tensor('blk.0.attn_q.weight');
    expect([t.typeName, t.byteSize]).toEqual(['I2_S', 256 + 32]);
    const ternary = await file.readTernaryTensor(t);
    expect(Array.from(ternary.codes())).toEqual(Array.from(codes));
    expect(Array.from(ternary.scales)).toEqual([0.25]);
    expect(Array.from(await file.dequantizeTensor(t))).toEqual(Array.from(codes, (c) => c * 0.25));
    // Forcing the upstream reading rejects id 36, by name.
    await expect(readGguf(g.bytes(), { dialect: 'ggml' })).rejects.toThrow(/IQ4_NL_4_4/);
    const report = await validateGguf(g.bytes());
    expect(report.warnings.map((w) => w.code)).toContain('dialect');
  });
});

describe('RuvLLM dialect', () => {
  it('is recognised from craftsman.* keys: type 30 is T158 and dims are [rows, cols]', async () => {
    const rows = 3;
    const cols = 100; // blocks straddle rows, as RuvLLM allows
    const codes = randomTernary(rows * cols, 5);
    const data = t158Bytes(codes, 0x3800); // scale 0.5
    const f16 = Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => (i % 2 ? 0x3c : 0)); // 1.0 everywhere
    const g = new RawGguf()
      .header(3, 2, 3)
      .kvString('general.architecture', 'craftsman')
      .kvU32('craftsman.bitnet.version', 1)
      .kvString('craftsman.bitnet.weight_encoding', 'absmean_ternary')
      .tensorInfo('blk.0.ffn_up_exps.weight', [rows, cols], 30, 0)
      .tensorInfo('token_embd.weight', [2, 3], 1, 160)
      .padTo(32);
    g.raw(data).padTo(32).raw(f16).padTo(32);
    const file = await readGguf(g.bytes());
    expect(file.dialect).toBe('ruvllm');
    const t = file.tensor('blk.0.ffn_up_exps.weight');
    expect([t.typeName, t.shape, t.byteSize]).toEqual(['BITNET_T158', [cols, rows], 2 * 66]);
    const ternary = await file.readTernaryTensor(t);
    expect([ternary.rows, ternary.cols]).toEqual([rows, cols]);
    expect(Array.from(ternary.codes())).toEqual(Array.from(codes));
    expect(Array.from(await file.dequantizeTensor('token_embd.weight'))).toEqual([1, 1, 1, 1, 1, 1]);
    const report = discoverTensors(file);
    expect(report.dialect).toBe('ruvllm');
    expect(report.warnings.join('\n')).toMatch(/RuvLLM dialect/);
  });
});
