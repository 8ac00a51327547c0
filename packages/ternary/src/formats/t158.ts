import { asBytes, CODE_OF_INT8 } from '../codes.js';
import { UNPACK_WORD } from '../pack.js';
import { defineBlockFormat } from './format.js';

/*
 * RuvLLM's BITNET_T158 block: 256 weights in 66 bytes, the 64 code bytes in
 * the seed layout (element k of the block in byte k >> 2, bits 2·(k & 3),
 * least significant first) then the fp16 scale. Code 11 decodes to 0.
 * RuvLLM wrote it as GGUF type 30, which is BF16 in ggml, so the id only means
 * this format in the `ruvllm` dialect.
 */
export const t158 = defineBlockFormat({
  name: 't158',
  description: 'RuvLLM BITNET_T158: 64 bytes of LSB-first 2-bit codes + fp16 scale per 256 weights',
  ggmlType: 30,
  dialect: 'ruvllm',
  blockElements: 256,
  codeBytesPerBlock: 64,
  scale: { kind: 'block-f16' },
  packBlocks(src, srcOffset, dst, dstOffset, blocks, stride) {
    const bytes = asBytes(src);
    for (let block = 0; block < blocks; block++) {
      const out = dstOffset + block * stride;
      for (let i = 0, k = srcOffset + block * 256; i < 64; i++, k += 4) {
        dst[out + i] =
          CODE_OF_INT8[bytes[k]] |
          (CODE_OF_INT8[bytes[k + 1]] << 2) |
          (CODE_OF_INT8[bytes[k + 2]] << 4) |
          (CODE_OF_INT8[bytes[k + 3]] << 6);
      }
    }
  },
  unpackBlocks(src, srcOffset, dst, dstWord, blocks, stride) {
    for (let block = 0; block < blocks; block++) {
      const from = srcOffset + block * stride;
      const to = dstWord + block * 64;
      for (let i = 0; i < 64; i++) dst[to + i] = UNPACK_WORD[src[from + i]];
    }
  },
});
