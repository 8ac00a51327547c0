/* Element values of the block-quantized dense types Q4_0, Q4_K, Q5_K and Q6_K
 * (KERNEL.md §4; byte layouts in docs/formats.md §Q4_0 … §Q6_K), shared by
 * native/dense.c and wasm/tl1.c. Every group of 8 consecutive elements of a block
 * shares one multiplier and one offset, and
 *
 *   value = (multiplier · code) − offset      (float32 mul, then sub; never fused)
 *
 * which is ggml's dequantize_row_* for each type: Q4_0 d · (nibble − 8) with
 * offset 0; Q4_K/Q5_K (d · scale) · code − dmin · min; Q6_K (d · scale) · (code − 32)
 * with offset 0 (x − (+0) is x for every float, −0 and NaN included).
 *
 * Freestanding (no libc) and free of arrays, so the wasm build keeps everything in
 * locals. The includer defines TL1_BLOCK_HALF(bits), its exact fp16 → float. */
#ifndef TL1_DENSE_BLOCKS_H
#define TL1_DENSE_BLOCKS_H

#include <stdint.h>

#include "dense_types.h"

#define TL1_BLOCK_INLINE static inline __attribute__((always_inline))

/* Whether a dense type is one of the block types above (a compile-time constant where type is). */
#define TL1_DENSE_IS_BLOCK(type) \
  ((type) == TL1_DENSE_Q4_0 || (type) == TL1_DENSE_Q4_K || (type) == TL1_DENSE_Q5_K || (type) == TL1_DENSE_Q6_K)

TL1_BLOCK_INLINE int32_t tl1_dense_block_elements(int type) {
  switch (type) {
#define TL1_BLOCK_ELEMENTS_CASE(ID, NAME, ELEMENTS, BYTES) \
  case ID:                                                 \
    return ELEMENTS;
    TL1_DENSE_TYPES(TL1_BLOCK_ELEMENTS_CASE)
#undef TL1_BLOCK_ELEMENTS_CASE
    default:
      return 1;
  }
}

TL1_BLOCK_INLINE int32_t tl1_dense_block_bytes(int type) {
  switch (type) {
#define TL1_BLOCK_BYTES_CASE(ID, NAME, ELEMENTS, BYTES) \
  case ID:                                              \
    return BYTES;
    TL1_DENSE_TYPES(TL1_BLOCK_BYTES_CASE)
#undef TL1_BLOCK_BYTES_CASE
    default:
      return 1;
  }
}

TL1_BLOCK_INLINE uint32_t tl1_block_u16(const uint8_t* p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

/* Q4_K / Q5_K: sub-block s (of 32)'s 6-bit scale and min from the 12 bytes at sc
 * (bytes 0-3 low 6 bits: scales 0-3; bytes 4-7: mins 0-3; bytes 8-11: low nibble
 * scale s, high nibble min s for s = 4-7, their top 2 bits in bits 7:6 of bytes
 * s-4 and s). */
TL1_BLOCK_INLINE void tl1_scale_min_k4(const uint8_t* sc, int32_t s, uint32_t* scale, uint32_t* min) {
  if (s < 4) {
    *scale = sc[s] & 63u;
    *min = sc[s + 4] & 63u;
  } else {
    *scale = (sc[s + 4] & 15u) | ((uint32_t)(sc[s - 4] >> 6) << 4);
    *min = (uint32_t)(sc[s + 4] >> 4) | ((uint32_t)(sc[s] >> 6) << 4);
  }
}

/* The block's fp16 super-scales as float: d (Q4_0: its only scale; Q6_K: at byte 208) and, for
 * Q4_K / Q5_K, dmin (0 otherwise). Read once per block; tl1_block_group takes them. */
TL1_BLOCK_INLINE void tl1_block_scales(int type, const uint8_t* blk, float* d, float* dmin) {
  *d = TL1_BLOCK_HALF(tl1_block_u16(type == TL1_DENSE_Q6_K ? blk + 208 : blk));
  *dmin = type == TL1_DENSE_Q4_K || type == TL1_DENSE_Q5_K ? TL1_BLOCK_HALF(tl1_block_u16(blk + 2)) : 0.0f;
}

/* Multiplier and offset of the 8 elements e … e+7 of the block at blk (e % 8 == 0),
 * given its tl1_block_scales. */
TL1_BLOCK_INLINE void tl1_block_group(int type, const uint8_t* blk, int32_t e, float d, float dmin, float* multiplier,
                                      float* offset) {
  *multiplier = 0.0f;
  *offset = 0.0f;
  if (type == TL1_DENSE_Q4_0) { /* fp16 d, 16 bytes of nibbles */
    *multiplier = d;
  } else if (type == TL1_DENSE_Q4_K || type == TL1_DENSE_Q5_K) { /* fp16 d, fp16 dmin, 12 scale bytes, … */
    uint32_t scale, min;
    tl1_scale_min_k4(blk + 4, e >> 5, &scale, &min);
    *multiplier = d * (float)scale;
    *offset = dmin * (float)min;
  } else if (type == TL1_DENSE_Q6_K) { /* 128 ql, 64 qh, 16 int8 scales, fp16 d at 208 */
    const int32_t n = e >> 7, quarter = (e >> 5) & 3, l = e & 31;
    *multiplier = d * (float)(int8_t)blk[192 + 8 * n + 2 * quarter + (l >> 4)];
  }
}

/* What tl1_block_codes8 adds to every code so that it fits a byte. */
TL1_BLOCK_INLINE int32_t tl1_block_bias(int type) {
  return type == TL1_DENSE_Q4_0 ? 8 : type == TL1_DENSE_Q6_K ? 32 : 0;
}

TL1_BLOCK_INLINE uint64_t tl1_block_load8(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

#define TL1_BYTES_0F 0x0F0F0F0F0F0F0F0Full
#define TL1_BYTES_03 0x0303030303030303ull
#define TL1_BYTES_01 0x0101010101010101ull

/* The integer codes of elements e … e+7 (e % 8 == 0) plus tl1_block_bias, one per byte of a
 * little-endian word (byte i: element e + i). A shift of the whole word moves a neighbour's
 * bits only into bits the mask drops. Where element j's bits are:
 *   Q4_0  j < 16: low nibble of byte 2 + j; j >= 16: high nibble of byte 2 + j - 16
 *   Q4_K, Q5_K  sub-block s = j / 32, l = j % 32: 64 elements per 32 bytes, sub-block 2k in
 *         the low nibbles, 2k+1 in the high ones; Q5_K's fifth bit is bit s of qh[l]
 *   Q6_K  half n = j / 128, quarter k = (j / 32) % 4: the low (k < 2) or high nibble of
 *         ql[64n + 32(k & 1) + l] and bits 2k+1:2k of qh[32n + l] */
TL1_BLOCK_INLINE uint64_t tl1_block_codes8(int type, const uint8_t* blk, int32_t e) {
  if (type == TL1_DENSE_Q4_0) {
    const uint64_t packed = tl1_block_load8(blk + 2 + (e & 15));
    return (e < 16 ? packed : packed >> 4) & TL1_BYTES_0F;
  }
  if (type == TL1_DENSE_Q4_K || type == TL1_DENSE_Q5_K) {
    const int32_t s = e >> 5, l = e & 31;
    const uint64_t packed = tl1_block_load8(blk + (type == TL1_DENSE_Q4_K ? 16 : 48) + 32 * (s >> 1) + l);
    uint64_t codes = ((s & 1) ? packed >> 4 : packed) & TL1_BYTES_0F;
    if (type == TL1_DENSE_Q5_K) codes |= ((tl1_block_load8(blk + 16 + l) >> s) & TL1_BYTES_01) << 4;
    return codes;
  }
  if (type == TL1_DENSE_Q6_K) {
    const int32_t n = e >> 7, quarter = (e >> 5) & 3, l = e & 31;
    const uint64_t low = tl1_block_load8(blk + 64 * n + 32 * (quarter & 1) + l);
    const uint64_t nibbles = (quarter < 2 ? low : low >> 4) & TL1_BYTES_0F;
    const uint64_t high = (tl1_block_load8(blk + 128 + 32 * n + l) >> (2 * quarter)) & TL1_BYTES_03;
    return nibbles | (high << 4);
  }
  return 0;
}

#endif
