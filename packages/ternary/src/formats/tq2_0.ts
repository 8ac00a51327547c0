import { asBytes, CODE_OF_INT8, codesMinusOne, readWord } from '../codes.js';
import { defineBlockFormat } from './format.js';

/*
 * ggml TQ2_0 (type 35): qs[64] then fp16 d, 256 weights in 66 bytes.
 * The 64 bytes are two 32-byte halves of 128 elements each. Element k lives in
 *   byte  32·(k >> 7) + (k & 31)
 *   shift 2·((k & 127) >> 5)            (element group n = 0 in the low bits)
 * e.g. k = 200 → half 1, r = 72, n = 2, m = 8 → byte 40, shift 4.
 * Value = (code − 1)·d; the unused code 3 decodes to +2 exactly as ggml does.
 */
export const tq2_0 = defineBlockFormat({
  name: 'tq2_0',
  description: 'ggml TQ2_0 (type 35): 2-bit codes in 32-byte strided groups + fp16 scale per 256 weights',
  ggmlType: 35,
  dialect: 'ggml',
  blockElements: 256,
  codeBytesPerBlock: 64,
  scale: { kind: 'block-f16' },
  packBlocks(src, srcOffset, dst, dstOffset, blocks, stride) {
    const bytes = asBytes(src);
    for (let block = 0; block < blocks; block++) {
      for (let half = 0; half < 2; half++) {
        const from = srcOffset + block * 256 + 128 * half;
        const to = dstOffset + block * stride + 32 * half;
        for (let m = 0; m < 32; m++) {
          dst[to + m] =
            CODE_OF_INT8[bytes[from + m]] |
            (CODE_OF_INT8[bytes[from + 32 + m]] << 2) |
            (CODE_OF_INT8[bytes[from + 64 + m]] << 4) |
            (CODE_OF_INT8[bytes[from + 96 + m]] << 6);
        }
      }
    }
  },
  unpackBlocks(src, srcOffset, dst, dstWord, blocks, stride) {
    for (let block = 0; block < blocks; block++) {
      for (let half = 0; half < 2; half++) {
        const from = srcOffset + block * stride + 32 * half;
        const to = dstWord + block * 64 + 32 * half;
        for (let m = 0; m < 32; m += 4) {
          // Four neighbouring bytes hold elements m..m+3 of each of the four groups.
          const word = readWord(src, from + m);
          const out = to + (m >> 2);
          dst[out] = codesMinusOne(word & 0x03030303);
          dst[out + 8] = codesMinusOne((word >>> 2) & 0x03030303);
          dst[out + 16] = codesMinusOne((word >>> 4) & 0x03030303);
          dst[out + 24] = codesMinusOne((word >>> 6) & 0x03030303);
        }
      }
    }
  },
});
