import { asBytes, CODE_OF_INT8 } from '../codes.js';
import { defineBlockFormat } from './format.js';

/*
 * ggml TQ1_0 (type 34): qs[48], qh[4], fp16 d; 256 weights in 54 bytes.
 *   elements   0–159: qs[m],      m < 32, trit n = 0..4 is element m + 32n
 *   elements 160–239: qs[32 + m], m < 16, trit n = 0..4 is element 160 + m + 16n
 *   elements 240–255: qh[j],      j < 4,  trit n = 0..3 is element 240 + j + 4n
 * A byte stores v = Σ code_n·3^(4−n) (trit 0 most significant; qh bytes leave
 * the fifth trit 0) as the fixed-point ceiling ⌈v·256/243⌉. Trit n comes back
 * as ((byte·3ⁿ mod 256)·3) >> 8. e.g. trits (2,1,0,1,2) → v = 194 → byte 205.
 */

/** (trit position n, byte) → (trit − 1) as an unsigned byte lane, index n·256 + byte. */
const TRIT_LANE = new Uint8Array(5 * 256);
for (let n = 0, power = 1; n < 5; n++, power *= 3) {
  for (let byte = 0; byte < 256; byte++) {
    const shifted = (byte * power) & 0xff;
    TRIT_LANE[n * 256 + byte] = (((shifted * 3) >> 8) - 1) & 0xff;
  }
}

function packByte(codes: Uint8Array, first: number, stride: number, trits: number): number {
  let v = 0;
  for (let n = 0; n < trits; n++) v = v * 3 + CODE_OF_INT8[codes[first + n * stride]];
  for (let n = trits; n < 5; n++) v *= 3;
  return ((v * 256 + 242) / 243) | 0;
}

/** Trit n of four neighbouring bytes, as one word of four int8 lanes. */
function tritWord(src: Uint8Array, offset: number, n: number): number {
  const row = n * 256;
  return (
    TRIT_LANE[row + src[offset]] |
    (TRIT_LANE[row + src[offset + 1]] << 8) |
    (TRIT_LANE[row + src[offset + 2]] << 16) |
    (TRIT_LANE[row + src[offset + 3]] << 24)
  );
}

export const tq1_0 = defineBlockFormat({
  name: 'tq1_0',
  description: 'ggml TQ1_0 (type 34): base-3 packing, 5 trits per byte + fp16 scale per 256 weights',
  ggmlType: 34,
  dialect: 'ggml',
  blockElements: 256,
  codeBytesPerBlock: 52,
  scale: { kind: 'block-f16' },
  packBlocks(src, srcOffset, dst, dstOffset, blocks, stride) {
    const bytes = asBytes(src);
    for (let block = 0; block < blocks; block++) {
      const from = srcOffset + block * 256;
      const to = dstOffset + block * stride;
      for (let m = 0; m < 32; m++) dst[to + m] = packByte(bytes, from + m, 32, 5);
      for (let m = 0; m < 16; m++) dst[to + 32 + m] = packByte(bytes, from + 160 + m, 16, 5);
      for (let j = 0; j < 4; j++) dst[to + 48 + j] = packByte(bytes, from + 240 + j, 4, 4);
    }
  },
  unpackBlocks(src, srcOffset, dst, dstWord, blocks, stride) {
    for (let block = 0; block < blocks; block++) {
      const from = srcOffset + block * stride;
      const to = dstWord + block * 64;
      for (let m = 0; m < 32; m += 4) {
        for (let n = 0; n < 5; n++) dst[to + ((m + 32 * n) >> 2)] = tritWord(src, from + m, n);
      }
      for (let m = 0; m < 16; m += 4) {
        for (let n = 0; n < 5; n++) dst[to + ((160 + m + 16 * n) >> 2)] = tritWord(src, from + 32 + m, n);
      }
      for (let n = 0; n < 4; n++) dst[to + ((240 + 4 * n) >> 2)] = tritWord(src, from + 48, n);
    }
  },
});
