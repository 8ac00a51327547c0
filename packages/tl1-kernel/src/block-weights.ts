// Weight bytes for the block-quantized dense types (q4_0, q4_k, q5_k, q6_k), for the
// kernel tests and the vectors fixture: every code byte random, the fp16 fields
// (docs/formats.md §Q4_0 … §Q6_K) from a caller's picker, so cases can hold ordinary,
// subnormal and non-finite scales. Not part of the public API.
import type { Rng } from '@trit/testkit';
import type { DenseType } from './dense-types.js';

/** The block types and the byte offsets of their fp16 scale fields. */
const HALF_FIELDS: Partial<Record<DenseType, { blockBytes: number; halves: number[] }>> = {
  q4_0: { blockBytes: 18, halves: [0] },
  q4_k: { blockBytes: 144, halves: [0, 2] },
  q5_k: { blockBytes: 176, halves: [0, 2] },
  q6_k: { blockBytes: 210, halves: [208] },
};

/** Whether `type` is one of the block types this file fills. */
export function isBlockType(type: DenseType): boolean {
  return HALF_FIELDS[type] !== undefined;
}

/** Fills `blocks` blocks of `type` into out (at byte 0), each fp16 field from halfBits(block, field). */
export function fillBlockWeights(
  type: DenseType,
  out: Uint8Array,
  blocks: number,
  rng: Rng,
  halfBits: (block: number, field: number) => number,
): void {
  const fields = HALF_FIELDS[type];
  if (!fields) throw new Error(`fillBlockWeights: ${type} is not a block type`);
  for (let b = 0; b < blocks; b++) {
    const at = b * fields.blockBytes;
    for (let i = 0; i < fields.blockBytes; i++) out[at + i] = rng.nextInt(256);
    fields.halves.forEach((offset, field) => {
      const bits = halfBits(b, field);
      out[at + offset] = bits & 0xff;
      out[at + offset + 1] = bits >> 8;
    });
  }
}
