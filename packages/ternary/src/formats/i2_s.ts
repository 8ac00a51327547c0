import { asBytes, CODE_OF_INT8, codesMinusOne, readWord } from '../codes.js';
import { defineBlockFormat } from './format.js';

/*
 * bitnet.cpp I2_S (type 36 in its fork; a retired id upstream), x86 layout:
 * 128-element blocks of 32 bytes over the flattened tensor, then one float32
 * scale for the whole tensor and 28 zero bytes (a 32-byte tail). Element j of
 * a block lives in
 *   byte  j & 31
 *   shift 6 − 2·(j >> 5)               (elements 0–31 in bits 7:6, most significant first)
 * e.g. k = 200 → block 1, j = 72 → byte 32 + 8 = 40, shift 2.
 * The size is ⌊n/4⌋ + 32 with the scale at byte ⌊n/4⌋, as bitnet.cpp's
 * ggml_nbytes says. Its quantizer packs only whole blocks and its kernels read
 * only whole blocks, so the last n mod 128 elements have no codes: they decode
 * to 0 and encode refuses such lengths (docs/formats.md §I2_S).
 * Value = (code − 1)·scale; code 3 gives +2, as the fork's kernel computes it.
 */
export const i2_s = defineBlockFormat({
  name: 'i2_s',
  description: 'bitnet.cpp I2_S (x86): 2-bit codes in 128-element blocks + one float32 scale per tensor',
  ggmlType: 36,
  dialect: 'bitnet.cpp',
  blockElements: 128,
  codeBytesPerBlock: 32,
  scale: { kind: 'tensor-f32-tail', tailBytes: 32 },
  partialBlock: 'dropped',
  packBlocks(src, srcOffset, dst, dstOffset, blocks, stride) {
    const bytes = asBytes(src);
    for (let block = 0; block < blocks; block++) {
      const from = srcOffset + block * 128;
      const to = dstOffset + block * stride;
      for (let m = 0; m < 32; m++) {
        const k = from + m;
        dst[to + m] =
          (CODE_OF_INT8[bytes[k]] << 6) |
          (CODE_OF_INT8[bytes[k + 32]] << 4) |
          (CODE_OF_INT8[bytes[k + 64]] << 2) |
          CODE_OF_INT8[bytes[k + 96]];
      }
    }
  },
  unpackBlocks(src, srcOffset, dst, dstWord, blocks, stride) {
    for (let block = 0; block < blocks; block++) {
      const from = srcOffset + block * stride;
      const to = dstWord + block * 32;
      for (let m = 0; m < 32; m += 4) {
        const word = readWord(src, from + m);
        const out = to + (m >> 2);
        dst[out] = codesMinusOne((word >>> 6) & 0x03030303);
        dst[out + 8] = codesMinusOne((word >>> 4) & 0x03030303);
        dst[out + 16] = codesMinusOne((word >>> 2) & 0x03030303);
        dst[out + 24] = codesMinusOne(word & 0x03030303);
      }
    }
  },
});
