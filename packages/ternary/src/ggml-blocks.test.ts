import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TernaryLengthError, TernaryValueError } from './errors.js';
import { GGML_BLOCK_CODECS, type GgmlBlockCodec, ggmlBlockCodec } from './ggml-blocks.js';
import { quantizerInputs } from './ggml-blocks.test-inputs.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * SHA-256 of llama.cpp's quantize_row_*_ref output on quantizerInputs(codec, codec.ggmlType),
 * and of its dequantize_row_* of those bytes, produced by ggml-blocks.oracle.test.ts's
 * harness against node-llama-cpp 3.21.1's libggml-base.so. They keep the codecs pinned
 * to ggml where that library or a C compiler is missing.
 */
const LLAMA_CPP_DIGESTS: Record<string, [quantized: string, dequantized: string]> = {
  q4_0: [
    '659ebe4d10a1d3912a02fb122b4693e8e9f8691cbdc7010f6a1ecd20276e362c',
    '651ca2a2d59dd2b0d293daaa90e29cb07d0d340baaecf97287204b1291c023a9',
  ],
  q4_1: [
    '1cde31abe57dd989bc3b3283e5697d1b3292fde2f92f100076022b3bd2638b30',
    'fc270fba0fcc3fcd7ac50056347d86fe523d39e6796c390a4d4ed54026cacd08',
  ],
  q5_0: [
    '9aff1088e5ebfc2b0cb1f448fc6d23048b2b7067a36e9da4e31ae7bb69393c18',
    '12c8ff7d8069e63c05dda4fe7d276f6d4a492f350550f2395d1e4f772caec760',
  ],
  q5_1: [
    'e74f8cb8d682c247fe7a954d9094d257be9c0e09e0c4150f0b8eab534dee807e',
    '9fd3ea75d061f700a99d665de7654a2cee2e70fd6960102e21a4201096f6e201',
  ],
  q8_0: [
    '4aeb2f4c3dd40d6baa8bbe4f7e3da633fcaa11a9b4a1a4dcfb36bd69cfab5c02',
    '17a58d7021a6099f466b4a2d021b40fd485464812c5c7a3139b7fef4af2c819b',
  ],
  q4_k: [
    '06709dc623aa0f63f820a549b813ca722941c7dde086688137269903d3cb4219',
    '3239b561609769b89c5e50d600b375ff8aed7d7987b416e179baf603b7368732',
  ],
  q5_k: [
    'cc8f58210050b852e8f8782537cd1e9093db7c8486c3cec798a3ea868f7e79d7',
    '73b43cf9d75db3d47647ecc869d9a65b4d4d37aca7e4c8908d1eb4dce95964f8',
  ],
  q6_k: [
    '24c5f1cdff5262cbe148eb7e5b496f4cf8240d13c62429cc6bfc4e7789c203f6',
    'f6889216567dddb01eb4eb0defa17e44305d51c1812a95390bb009bd3e01d476',
  ],
  q8_k: [
    'cfab6a135bab75d2ddd7290ba7c5dc75bcddeaea83ae52a46ebfb9bef6b6561b',
    '50a628f1e381f00240b50af31b2dde795370a271df9fc3f4f9260010e710d77a',
  ],
}; // prettier-ignore

const codec = (name: string): GgmlBlockCodec => {
  const found = ggmlBlockCodec(name);
  if (!found) throw new Error(`no codec ${name}`);
  return found;
};

function decodeOne(name: string, bytes: Uint8Array): Float32Array {
  const c = codec(name);
  const out = new Float32Array(c.blockElements);
  c.decode(bytes, 0, out, 0, 1);
  return out;
}

function roundTrip(c: GgmlBlockCodec, values: Float32Array): { bytes: Uint8Array; decoded: Float32Array } {
  const blocks = values.length / c.blockElements;
  const bytes = new Uint8Array(blocks * c.blockBytes);
  c.encode?.(values, 0, bytes, 0, blocks);
  const decoded = new Float32Array(values.length);
  c.decode(bytes, 0, decoded, 0, blocks);
  return { bytes, decoded };
}

describe('ggml block codecs: table', () => {
  it('has the nine types with ggml ids and sizes, each with a reference encoder', () => {
    expect(GGML_BLOCK_CODECS.map((c) => [c.name, c.ggmlType, c.blockElements, c.blockBytes])).toEqual([
      ['q4_0', 2, 32, 18],
      ['q4_1', 3, 32, 20],
      ['q5_0', 6, 32, 22],
      ['q5_1', 7, 32, 24],
      ['q8_0', 8, 32, 34],
      ['q4_k', 12, 256, 144],
      ['q5_k', 13, 256, 176],
      ['q6_k', 14, 256, 210],
      ['q8_k', 15, 256, 292],
    ]);
    for (const c of GGML_BLOCK_CODECS) expect(c.encode, c.name).toBeDefined();
    expect(ggmlBlockCodec('Q6_K')?.name).toBe('q6_k');
    expect(ggmlBlockCodec('q2_k')).toBeUndefined();
  });
});

describe('ggml block codecs: known answers (docs/formats.md §Legacy and K-quant blocks)', () => {
  it('Q4_0: d = 0.5, qs[0] = 0x2F → element 0 = 3.5, element 16 = −3', () => {
    const block = new Uint8Array(18);
    block.set([0x00, 0x38, 0x2f]);
    const out = decodeOne('q4_0', block);
    expect([out[0], out[16], out[1]]).toEqual([3.5, -3, -4]);
  });

  it('Q5_0: qh bit j is element j’s fifth bit', () => {
    const block = new Uint8Array(22);
    block.set([0x00, 0x3c, 0x01, 0x00, 0x01, 0x00]);
    const out = decodeOne('q5_0', block);
    expect([out[0], out[16], out[1], out[17]]).toEqual([0, 0, -16, -16]);
  });

  it('Q4_1 and Q5_1: value = q·d + m', () => {
    const q41 = new Uint8Array(20);
    q41.set([0x00, 0x38, 0x00, 0xbc, 0x3f]); // d = 0.5, m = −1, qs[0] = 0x3F
    const a = decodeOne('q4_1', q41);
    expect([a[0], a[16], a[1]]).toEqual([6.5, 0.5, -1]);
    const q51 = new Uint8Array(24);
    q51.set([0x00, 0x38, 0x00, 0xbc, 0x00, 0x00, 0x01, 0x00, 0x0f]); // qh bit 16 set
    const b = decodeOne('q5_1', q51);
    expect([b[0], b[16]]).toEqual([6.5, 7]);
  });

  it('Q4_K: the worked example', () => {
    const block = new Uint8Array(144);
    block.set([0x00, 0x2c, 0x00, 0x28, 10, 1, 2, 3, 4, 5, 6, 7, 0x45, 0x12, 0x34, 0x56]);
    block[16 + 1] = 0x25;
    block[16 + 64] = 0x03; // sub-block 4 (sc = 5, m = 4), element 128
    const out = decodeOne('q4_k', block);
    expect([out[0], out[1], out[32], out[33]]).toEqual([-0.125, 3, -0.15625, -0.03125]);
    expect(out[128]).toBe(0.0625 * 5 * 3 - 0.03125 * 4);
  });

  it('Q5_K: qh bit s of byte l is the fifth bit of element l in sub-block s', () => {
    const block = new Uint8Array(176);
    block.set([0x00, 0x3c, 0x00, 0x00, 1, 1, 1, 1, 0, 0, 0, 0, 0x01, 0x01, 0x01, 0x01]);
    block[16] = 0b101;
    const out = decodeOne('q5_k', block);
    expect([out[0], out[32], out[64], out[96], out[1]]).toEqual([16, 0, 16, 0, 0]);
  });

  it('Q6_K: d·scale first, then the code', () => {
    const block = new Uint8Array(210);
    block[128] = 0x03; // qh[0]
    block[192] = 0xfe; // scales[0] = −2
    block[208] = 0x00;
    block[209] = 0x3c; // d = 1
    const out = decodeOne('q6_k', block);
    expect(out[0]).toBe(-32);
    expect(out[1]).toBe(64); // code −32 × −2
  });

  it('Q8_K: float32 d times int8', () => {
    const block = new Uint8Array(292);
    new DataView(block.buffer).setFloat32(0, 0.25, true);
    block[4] = 0x80;
    block[5] = 7;
    const out = decodeOne('q8_k', block);
    expect([out[0], out[1], out[2]]).toEqual([-32, 1.75, 0]);
  });

  it.each(GGML_BLOCK_CODECS.map((c) => [c.name, c] as const))(
    '%s matches the digests of llama.cpp’s quantizer and dequantizer',
    (name, c) => {
      const values = quantizerInputs(c, c.ggmlType);
      const { bytes, decoded } = roundTrip(c, values);
      expect(sha256(bytes)).toBe(LLAMA_CPP_DIGESTS[name][0]);
      expect(sha256(new Uint8Array(decoded.buffer))).toBe(LLAMA_CPP_DIGESTS[name][1]);
    },
  );
});

/** Largest |x| of each block. */
function blockAbsMax(values: Float32Array, blockElements: number, b: number): number {
  let amax = 0;
  for (let j = 0; j < blockElements; j++) amax = Math.max(amax, Math.abs(values[b * blockElements + j]));
  return amax;
}

/**
 * Worst |x − decode(encode(x))| as a fraction of the block's largest |x|: half a step
 * of the grid (a full step where the code range is asymmetric), plus the fp16 rounding
 * of the stored scales. Measured worst cases on 1,200 random blocks per type are
 * 0.125, 0.067, 0.0625, 0.033, 0.0043, 0.105, 0.066, 0.020, 0.0039 (in table order).
 */
const ERROR_BOUND: Record<string, number> = {
  q4_0: (1 / 8) * (1 + 2 ** -9),
  q4_1: 2 / 30 + 2 ** -8,
  q5_0: (1 / 16) * (1 + 2 ** -9),
  q5_1: 2 / 62 + 2 ** -8,
  q8_0: 1 / 254 + 2 ** -10,
  q4_k: 2 / 15,
  q5_k: 2 / 31,
  q6_k: 1 / 32,
  q8_k: (1 / 254) * (1 + 2 ** -20),
};

/**
 * One block of values whose largest magnitude is 2^exponent, pinned at a random
 * element, so every stored scale is a normal fp16 (tiny blocks, where the fp16
 * scale underflows, are among the known-answer inputs instead).
 */
const blockValues = (blockElements: number) =>
  fc
    .tuple(
      fc.array(fc.float({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }), {
        minLength: blockElements,
        maxLength: blockElements,
      }),
      fc.nat({ max: blockElements - 1 }),
      fc.boolean(),
      fc.integer({ min: -4, max: 8 }),
    )
    .map(([values, pinned, negative, exponent]) => {
      const block = Float32Array.from(values);
      block[pinned] = negative ? -1 : 1;
      return block.map((v) => v * 2 ** exponent);
    });

describe('ggml block codecs: properties', () => {
  it.each(GGML_BLOCK_CODECS.map((c) => [c.name, c] as const))(
    '%s: decode(encode(x)) is within the bound of x',
    (name, c) => {
      fc.assert(
        fc.property(blockValues(c.blockElements), (values) => {
          const { decoded } = roundTrip(c, values);
          const bound = ERROR_BOUND[name] * blockAbsMax(values, c.blockElements, 0);
          for (let j = 0; j < values.length; j++) {
            if (!(Math.abs(decoded[j] - values[j]) <= bound)) return false;
          }
          return true;
        }),
        { numRuns: 60 },
      );
    },
  );

  it.each(GGML_BLOCK_CODECS.map((c) => [c.name, c] as const))(
    '%s: re-encoding decoded values stays on the grid (within the bound, bytes equal for Q4_0/Q5_0/Q8_0)',
    (name, c) => {
      fc.assert(
        fc.property(blockValues(c.blockElements), (values) => {
          const first = roundTrip(c, values);
          const second = roundTrip(c, first.decoded);
          if (name === 'q4_0' || name === 'q5_0' || name === 'q8_0') {
            return second.bytes.every((byte, i) => byte === first.bytes[i]);
          }
          const bound = ERROR_BOUND[name] * blockAbsMax(first.decoded, c.blockElements, 0);
          return first.decoded.every((v, i) => Math.abs(second.decoded[i] - v) <= bound);
        }),
        { numRuns: 40 },
      );
    },
  );

  it('decodes at offsets: several blocks into the middle of a larger array', () => {
    const c = codec('q6_k');
    const values = quantizerInputs(c, 1).subarray(0, 3 * 256);
    const { bytes, decoded } = roundTrip(c, values);
    const padded = new Uint8Array(bytes.length + 5);
    padded.set(bytes, 5);
    const out = new Float32Array(3 * 256 + 7);
    c.decode(padded, 5, out, 7, 3);
    expect(out.subarray(7)).toEqual(decoded);
    expect(out.subarray(0, 7).every((v) => v === 0)).toBe(true);
  });
});

describe('ggml block codecs: bad input', () => {
  it('names the codec and the expected versus found length', () => {
    const c = codec('q4_k');
    expect(() => c.decode(new Uint8Array(143), 0, new Float32Array(256), 0, 1)).toThrow(TernaryLengthError);
    expect(() => c.decode(new Uint8Array(143), 0, new Float32Array(256), 0, 1)).toThrow(
      'q4_k decode: bytes: expected 144, found 143 (1 blocks from offset 0)',
    );
    expect(() => c.decode(new Uint8Array(144), 0, new Float32Array(255), 0, 1)).toThrow(/values: expected 256/);
    expect(() => c.encode?.(new Float32Array(256), 0, new Uint8Array(100), 0, 1)).toThrow(/encode: bytes/);
    expect(() => c.decode(new Uint8Array(144), 0, new Float32Array(256), 0, 0.5)).toThrow(TernaryValueError);
  });
});
