import { randomTernary } from '@trit/testkit';
import { describe, expect, it } from 'vitest';
import type { TernaryFormatName } from './formats/format.js';
import { getTernaryFormat } from './formats/registry.js';
import { findNonTernaryCode } from './non-ternary.js';

/** Encoded random ternary codes with one scale per block (or one for the tensor). */
function encoded(format: TernaryFormatName, n: number, seed: number): Uint8Array {
  const spec = getTernaryFormat(format);
  return spec.encode(randomTernary(n, seed), new Float32Array(spec.scaleCount(n)).fill(0.5));
}

describe('findNonTernaryCode', () => {
  it('finds nothing in what the encoders write, for every format', () => {
    for (const format of ['tq2_0', 'tq1_0', 'i2_s', 't158'] as const) {
      const spec = getTernaryFormat(format);
      const bytes = encoded(format, 1024, 3);
      const blocks = bytes.subarray(0, (1024 / spec.blockElements) * spec.bytesPerBlock);
      expect(findNonTernaryCode(format, blocks), format).toBeUndefined();
    }
  });

  it('finds TQ2_0 code 3 where the layout puts element k (byte 32·(k>>7 & 1) + (k & 31), shift 2·((k & 127) >> 5))', () => {
    const bytes = encoded('tq2_0', 512, 1);
    // Element 200 of block 1: half 1, r = 72, group 2, m = 8 → byte 66 + 40, shift 4.
    bytes[66 + 40] |= 3 << 4;
    expect(findNonTernaryCode('tq2_0', bytes)).toEqual({ element: 256 + 200, block: 1, byte: 106, value: 2 });
    // As the second chunk of a larger tensor: block and element count from firstBlock.
    expect(findNonTernaryCode('tq2_0', bytes.subarray(66), { firstBlock: 7 })).toMatchObject({
      element: 7 * 256 + 200,
      block: 7,
      byte: 40,
    });
    // The fp16 scale bytes are not codes.
    const scaleOnly = encoded('tq2_0', 256, 2);
    scaleOnly[64] = 0xff;
    scaleOnly[65] = 0x3f;
    expect(findNonTernaryCode('tq2_0', scaleOnly)).toBeUndefined();
  });

  it('finds I2_S code 3 (element 32n + m in byte m, bits 7−2n), but not in the padding past the last element', () => {
    const bytes = encoded('i2_s', 256, 4).subarray(0, 64);
    bytes[32 + 8] = (bytes[32 + 8] & ~(3 << 2)) | (3 << 2); // block 1, element 72
    expect(findNonTernaryCode('i2_s', bytes)).toEqual({ element: 128 + 72, block: 1, byte: 40, value: 2 });
    const short = encoded('i2_s', 256, 5).subarray(0, 64);
    short[32 + 3] |= 3 << 6; // block 1, element 3: flat element 131, past the 130 elements asked about
    expect(findNonTernaryCode('i2_s', short, { elements: 130 })).toBeUndefined();
    expect(findNonTernaryCode('i2_s', short)).toMatchObject({ element: 131 });
  });

  it('accepts every byte in T158 (code 3 decodes to 0) and TQ1_0 (every byte holds trits)', () => {
    expect(findNonTernaryCode('t158', new Uint8Array(66 * 2).fill(0xff))).toBeUndefined();
    expect(findNonTernaryCode('tq1_0', new Uint8Array(54 * 2).fill(0xff))).toBeUndefined();
    expect(() => findNonTernaryCode('tq3' as TernaryFormatName, new Uint8Array(0))).toThrow(/unknown ternary format/);
  });
});
