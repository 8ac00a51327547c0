import { halfBitsToFloat } from '@trit/ternary';
import { randomFloats } from '@trit/testkit';
import { describe, expect, it } from 'vitest';
import { describeUnknownType, findGgmlType, GGML_TYPE_COUNT, ggmlTypeByName, ggmlTypes } from './ggml-types.js';

// ggml_blck_size / ggml_type_size for ids 0..42, as printed by a ggml build (docs/formats.md §ggml types).
const GGML_SIZES: Record<number, [string, number, number] | null> = {
  0: ['F32', 1, 4],
  1: ['F16', 1, 2],
  2: ['Q4_0', 32, 18],
  3: ['Q4_1', 32, 20],
  4: null,
  5: null,
  6: ['Q5_0', 32, 22],
  7: ['Q5_1', 32, 24],
  8: ['Q8_0', 32, 34],
  9: ['Q8_1', 32, 36],
  10: ['Q2_K', 256, 84],
  11: ['Q3_K', 256, 110],
  12: ['Q4_K', 256, 144],
  13: ['Q5_K', 256, 176],
  14: ['Q6_K', 256, 210],
  15: ['Q8_K', 256, 292],
  16: ['IQ2_XXS', 256, 66],
  17: ['IQ2_XS', 256, 74],
  18: ['IQ3_XXS', 256, 98],
  19: ['IQ1_S', 256, 50],
  20: ['IQ4_NL', 32, 18],
  21: ['IQ3_S', 256, 110],
  22: ['IQ2_S', 256, 82],
  23: ['IQ4_XS', 256, 136],
  24: ['I8', 1, 1],
  25: ['I16', 1, 2],
  26: ['I32', 1, 4],
  27: ['I64', 1, 8],
  28: ['F64', 1, 8],
  29: ['IQ1_M', 256, 56],
  30: ['BF16', 1, 2],
  31: null,
  32: null,
  33: null,
  34: ['TQ1_0', 256, 54],
  35: ['TQ2_0', 256, 66],
  36: null,
  37: null,
  38: null,
  39: ['MXFP4', 32, 17],
  40: ['NVFP4', 64, 36],
  41: ['Q1_0', 128, 18],
  42: ['Q2_0', 64, 18],
}; // prettier-ignore

describe('ggml type table', () => {
  it('matches ggml for every id 0–42, and retired ids are rejected by name', () => {
    expect(GGML_TYPE_COUNT).toBe(43);
    for (let id = 0; id < GGML_TYPE_COUNT; id++) {
      const expected = GGML_SIZES[id];
      const info = findGgmlType(id);
      if (expected === null) {
        expect(info, `id ${id}`).toBeUndefined();
        expect(describeUnknownType(id)).toMatch(/removed from ggml/);
      } else {
        expect([info?.name, info?.blockSize, info?.bytesPerBlock], `id ${id}`).toEqual(expected);
      }
    }
    expect(ggmlTypes().length).toBe(35);
    expect(describeUnknownType(43)).toMatch(/not a ggml type/);
  });

  it('byte sizes follow row size × rows (TQ2_0 row of 2560 = 660 bytes)', () => {
    expect(findGgmlType(35)?.byteSize([2560, 3])).toBe(3 * 660);
    expect(findGgmlType(34)?.byteSize([256, 2, 2])).toBe(4 * 54);
    expect(findGgmlType(8)?.byteSize([64])).toBe(68);
  });

  it('dialects: bitnet.cpp reads 36–39 as I2_S/I8_S/TL1/TL2, RuvLLM reads 30 as T158', () => {
    expect(findGgmlType(36, 'bitnet.cpp')?.name).toBe('I2_S');
    expect(findGgmlType(39, 'bitnet.cpp')?.name).toBe('TL2');
    expect(findGgmlType(39, 'ggml')?.name).toBe('MXFP4');
    expect(findGgmlType(30, 'ruvllm')?.name).toBe('BITNET_T158');
    expect(findGgmlType(30, 'ggml')?.name).toBe('BF16');
    // I2_S: n/4 bytes of codes, then a 32-byte tail holding the f32 scale.
    expect(findGgmlType(36, 'bitnet.cpp')?.byteSize([2560, 2560])).toBe((2560 * 2560) / 4 + 32);
    expect(findGgmlType(30, 'ruvllm')?.byteSize([100, 3])).toBe(2 * 66);
    expect(ggmlTypeByName('i2_s', 'bitnet.cpp')?.id).toBe(36);
    expect(ggmlTypeByName('i2_s')).toBeUndefined();
  });
});

describe('to-float conversions (known answers)', () => {
  const convert = (name: string, bytes: number[], n: number) => {
    const info = ggmlTypeByName(name);
    if (!info?.toFloat) throw new Error(`no ${name}`);
    return Array.from(info.toFloat(Uint8Array.from(bytes), n));
  };

  it('F16, BF16, F32, I8', () => {
    expect(convert('F16', [0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c], 4)).toEqual([
      1,
      -2,
      2 ** -24,
      Number.POSITIVE_INFINITY,
    ]);
    expect(convert('BF16', [0x80, 0x3f, 0x49, 0x40], 2)).toEqual([1, Math.fround(3.140625)]);
    expect(convert('F32', [0, 0, 0x80, 0x3f], 1)).toEqual([1]);
    expect(convert('I8', [0xff, 0x7f], 2)).toEqual([-1, 127]);
  });

  it('Q8_0: value = int8 · fp16 d', () => {
    const block = [0x00, 0x38 /* d = 0.5 */, ...Array.from({ length: 32 }, (_, j) => (j - 16) & 0xff)];
    expect(convert('Q8_0', block, 32)).toEqual(Array.from({ length: 32 }, (_, j) => (j - 16) * 0.5));
  });

  it('Q4_0: low nibbles are elements 0–15, high nibbles 16–31, value = (q − 8) · d', () => {
    const qs = Array.from({ length: 16 }, (_, j) => (j & 15) | ((15 - j) << 4));
    const out = convert('Q4_0', [0x00, 0x40 /* d = 2 */, ...qs], 32);
    expect(out.slice(0, 16)).toEqual(Array.from({ length: 16 }, (_, j) => (j - 8) * 2));
    expect(out.slice(16)).toEqual(Array.from({ length: 16 }, (_, j) => (15 - j - 8) * 2));
  });

  it('TQ2_0 and TQ1_0 decode through @trit/ternary (k = 200 → byte 40, shift 4)', () => {
    const tq2 = new Array(66).fill(0x55);
    tq2[40] = 0x55 ^ (0b11 << 4); // element 200: code 1 → 2 (+1)
    tq2[64] = 0x00;
    tq2[65] = 0x3c; // d = 1
    const out = convert('TQ2_0', tq2, 256);
    expect(out[200]).toBe(1);
    expect(out.filter((v) => v !== 0)).toEqual([1]);
  });

  it('from-float → to-float round trips: Q8_0 within d/2, BF16 rounds to nearest even, TQ matches ggml absmax', () => {
    const values = randomFloats(256, 3);
    const q8 = ggmlTypeByName('Q8_0');
    const back = q8?.toFloat?.(q8.fromFloat?.(values) as Uint8Array, 256) as Float32Array;
    for (let b = 0; b < 8; b++) {
      const block = values.subarray(b * 32, b * 32 + 32);
      const d = Math.max(...block.map(Math.abs)) / 127;
      for (let j = 0; j < 32; j++)
        expect(Math.abs(back[b * 32 + j] - block[j])).toBeLessThanOrEqual(d * 0.5 + 127 * d * 2 ** -11); // d itself is rounded to fp16
    }
    const bf16 = ggmlTypeByName('BF16');
    const halfway = Float32Array.of(1 + 2 ** -8, 1 + 3 * 2 ** -8); // ties: to even mantissa
    expect(Array.from(bf16?.toFloat?.(bf16.fromFloat?.(halfway) as Uint8Array, 2) ?? [])).toEqual([1, 1 + 2 ** -6]);
    const ternary = Float32Array.from({ length: 256 }, (_, i) => [0.75, 0, -0.75, 0.2, -0.5][i % 5]);
    const tq2 = ggmlTypeByName('TQ2_0');
    const decoded = tq2?.toFloat?.(tq2.fromFloat?.(ternary) as Uint8Array, 256) as Float32Array;
    // d = absmax = 0.75; 0.2/0.75 rounds to 0, 0.5/0.75 rounds to 1.
    expect(Array.from(decoded.subarray(0, 5))).toEqual([0.75, 0, -0.75, 0, -0.75]);
    expect(halfBitsToFloat(0x3a00)).toBe(0.75);
  });
});

describe('legacy and K-quant rows come from @trit/ternary’s codecs', () => {
  it('Q4_1 … Q8_K have toFloat and fromFloat, with sizes equal to the codec’s', async () => {
    const { GGML_BLOCK_CODECS } = await import('@trit/ternary');
    for (const codec of GGML_BLOCK_CODECS) {
      const info = findGgmlType(codec.ggmlType);
      expect([info?.name.toLowerCase(), info?.blockSize, info?.bytesPerBlock]).toEqual([
        codec.name,
        codec.blockElements,
        codec.blockBytes,
      ]);
      const values = randomFloats(2 * codec.blockElements, codec.ggmlType);
      const bytes = info?.fromFloat?.(values) as Uint8Array;
      const expected = new Uint8Array(2 * codec.blockBytes);
      codec.encode?.(values, 0, expected, 0, 2);
      expect(bytes).toEqual(expected);
      const decoded = new Float32Array(values.length);
      codec.decode(bytes, 0, decoded, 0, 2);
      expect(info?.toFloat?.(bytes, values.length)).toEqual(decoded);
    }
  });

  it('Q6_K known answer: d·scale first, then the code (docs/formats.md §Q6_K)', () => {
    const block = new Uint8Array(210);
    block[128] = 0x03;
    block[192] = 0xfe;
    block[209] = 0x3c;
    const out = ggmlTypeByName('Q6_K')?.toFloat?.(block, 256) as Float32Array;
    expect([out[0], out[1]]).toEqual([-32, 64]);
  });
});
