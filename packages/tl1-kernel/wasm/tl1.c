/*
 * @trit/tl1-kernel: wasm32 SIMD128 backend (see KERNEL.md, wasm/README.md).
 *
 * Implements KERNEL.md §2-4 bit-identically. Built by wasm/build.sh with
 *   clang-16 --target=wasm32 -O3 -msimd128 -ffreestanding -nostdlib -ffp-contract=off
 * (and, for the relaxed-SIMD build, -mrelaxed-simd -DTL1_RELAXED).
 *
 * Rules kept throughout this file:
 *  - no libc, no global or static data, and nothing that needs a linear-memory
 *    stack (all arrays below are small, constant-indexed and fully unrolled, so
 *    they live in wasm locals). build.sh rejects a module that touches the
 *    stack-pointer global, so one shared memory can serve any number of
 *    instances without per-instance stacks;
 *  - float math exactly as written: mul then add, never fused (wasm has no FMA
 *    and -ffp-contract=off), never reassociated (no -ffast-math), in the order
 *    of KERNEL.md;
 *  - ternary dot products are exact: int32 lanes that provably cannot overflow
 *    where it matters, and modulo-2^32 arithmetic where the true result is known
 *    to fit int32 (KERNEL.md: |acc| <= 127 * 128 * segChunks).
 */
#include <stdint.h>
#include <wasm_simd128.h>

#include "dense_types.h"
#include "source_hash.h"

#define EXPORT(name) __attribute__((export_name(name), visibility("default")))
#define INLINE static inline __attribute__((always_inline))

/* Optimisation barrier: an empty asm that "modifies" v and emits nothing.
 * clang 14 otherwise folds widening loads / extends into narrow vector
 * operations that the wasm backend can only scalarise (sitofp <4 x i8>, i16
 * compares on i32 data, ...). */
#define OPAQUE(v) __asm__("" : "+r"(v))

/* Table lookup of 16 indices that are always masked nibbles (0..15). The
 * relaxed-SIMD build (-DTL1_RELAXED, wasm/build.sh) uses i8x16.relaxed_swizzle,
 * which agrees with i8x16.swizzle on such indices by definition; engines then
 * emit a bare byte shuffle, without the extra instructions that zero indices
 * >= 16 (wasm/README.md). */
#ifdef TL1_RELAXED
#define LOOKUP16(table, idx) ((v128_t)__builtin_wasm_relaxed_swizzle_i8x16((__i8x16)(table), (__i8x16)(idx)))
#else
#define LOOKUP16(table, idx) wasm_i8x16_swizzle((table), (idx))
#endif

/* ------------------------------------------------------------------------- */
/* helpers                                                                   */
/* ------------------------------------------------------------------------- */

INLINE float bits_to_f32(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

INLINE uint32_t f32_to_bits(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  return u;
}

INLINE uint32_t load_u16(const uint8_t *p) {
  uint16_t h;
  __builtin_memcpy(&h, p, 2); /* unaligned i32.load16_u */
  return h;
}

/* Exact IEEE half -> float: normals, subnormals, +-0, +-inf, NaN (payload kept,
 * not quieted). (em << 13) read as a float is the half's magnitude times
 * 2^-112 (a subnormal half becomes a float32 subnormal), and multiplying by
 * 2^112 is exact. For inf/NaN (exponent 31) the product is 2^16 * 1.m, whose
 * exponent bits are a subset of 0x7f800000, so OR-ing that in gives inf/NaN
 * with the half's mantissa. */
INLINE float half_to_f32(uint32_t h) {
  uint32_t em = h & 0x7fffu;
  float scaled = bits_to_f32(em << 13) * 0x1p112f;
  uint32_t infnan = em > 0x7bffu ? 0x7f800000u : 0u;
  return bits_to_f32(f32_to_bits(scaled) | infnan | ((h & 0x8000u) << 16));
}

/*
 * 8 halves (u16 lanes) -> two f32x4 (halves 0-3 and 4-7), exact, working on
 * all 8 in i16 lanes. The 32-bit pattern sign<<31 | em<<13 is built from two
 * 16-bit halves (low: h << 13, high: (h >>s 3) & 0x8fff) and interleaved;
 * exponent-31 lanes get 0x7000 OR-ed into the high half, which turns the
 * pattern into float inf/NaN (exponent 0xff, same mantissa) before the exact
 * multiply by 2^112 (inf * 2^112 = inf; NaN stays NaN with its payload, quieted
 * like any arithmetic result: harmless, since a weight is only ever used as a
 * multiplicand, and w*x quiets a signalling NaN anyway). The sign rides along
 * through the multiply: -0 * 2^112 = -0.
 */
INLINE void half8_to_f32(v128_t h, v128_t *lo, v128_t *hi) {
  v128_t em = wasm_v128_and(h, wasm_i16x8_const_splat(0x7fff));
  OPAQUE(em); /* keep the compare signed: i16x8.gt_s is a single pcmpgtw */
  v128_t infnan = wasm_v128_and(wasm_i16x8_gt(em, wasm_i16x8_const_splat(0x7bff)), wasm_i16x8_const_splat(0x7000));
  v128_t top = wasm_v128_or(wasm_v128_and(wasm_i16x8_shr(h, 3), wasm_i16x8_const_splat((int16_t)0x8fff)), infnan);
  v128_t bot = wasm_i16x8_shl(h, 13);
  OPAQUE(top);
  OPAQUE(bot);
  v128_t b0 = wasm_i16x8_shuffle(bot, top, 0, 8, 1, 9, 2, 10, 3, 11);
  v128_t b1 = wasm_i16x8_shuffle(bot, top, 4, 12, 5, 13, 6, 14, 7, 15);
  *lo = wasm_f32x4_mul(b0, wasm_f32x4_const_splat(0x1p112f));
  *hi = wasm_f32x4_mul(b1, wasm_f32x4_const_splat(0x1p112f));
}

INLINE uint32_t hsum_i32x4(v128_t v) {
  return (uint32_t)wasm_i32x4_extract_lane(v, 0) + (uint32_t)wasm_i32x4_extract_lane(v, 1) +
         (uint32_t)wasm_i32x4_extract_lane(v, 2) + (uint32_t)wasm_i32x4_extract_lane(v, 3);
}

/* ------------------------------------------------------------------------- */
/* ternary: exact integer sums of one segment                                */
/* ------------------------------------------------------------------------- */

/*
 * Two kernels (both exact, so both give the contract's acc bit for bit):
 *  - one token (GEMV): t*q is formed directly in int8 lanes from masks of the
 *    code bits, pair-summed into int16 (pmaddubsw) and widened to int32 every
 *    16 chunks. This yields acc = Σ t*q itself, no prefix correction (the
 *    padding codes are 1, t = 0, so the padded range adds nothing);
 *  - T = 2 or 4 tokens: the codes are zero-extended to u16 lanes once and
 *    i32x4.dot_i16x8_s (pmaddwd) multiplies them with each token's sign-
 *    extended q, giving Σ code*q; acc = dot - (prefix[end] - prefix[start]).
 */

/* int8 path (one token). y holds the plane's code in bits 7:6 of each byte
 * (the bits below are don't-care). nz = (y <s 0x40) <=> code 0 or 2 (t != 0);
 * s = (y >=s 0) <=> code 0 or 1 (t != +1). prod = ((q & nz) ^ s) - s is q
 * (code 2), -q (code 0) or 0 (code 1): exactly t*q, which fits int8 since
 * |q| <= 127 (code 3 never appears). The compare constants come in opaque so
 * clang keeps the two single-instruction compares (it would otherwise rewrite
 * y > -1 as a byte shift that V8 can only emulate). */
INLINE v128_t tl1_prod(v128_t y, v128_t q, v128_t k40, v128_t km1) {
  v128_t nz = wasm_i8x16_gt(k40, y);
  v128_t s = wasm_i8x16_gt(y, km1);
  OPAQUE(nz);
  OPAQUE(s);
  return wasm_i8x16_sub(wasm_v128_xor(wasm_v128_and(q, nz), s), s);
}

/* One chunk: a (i16 lanes) += pair sums of t*q for its 128 weights. Plane n
 * is moved to bits 7:6 with a 16-bit shift (bits that cross into the next
 * byte land below bit 6, where they are don't-care). Each i16 lane gains at
 * most 8 * 2 * 127 = 2032. */
INLINE v128_t chunk_acc_1(v128_t a, const uint8_t *c, const int8_t *q, v128_t k40, v128_t km1) {
  v128_t c0 = wasm_v128_load(c), c1 = wasm_v128_load(c + 16);
#define P(y, off) wasm_i16x8_extadd_pairwise_i8x16(tl1_prod((y), wasm_v128_load(q + (off)), k40, km1))
  a = wasm_i16x8_add(a, P(wasm_i16x8_shl(c0, 6), 0));
  a = wasm_i16x8_add(a, P(wasm_i16x8_shl(c1, 6), 16));
  a = wasm_i16x8_add(a, P(wasm_i16x8_shl(c0, 4), 32));
  a = wasm_i16x8_add(a, P(wasm_i16x8_shl(c1, 4), 48));
  a = wasm_i16x8_add(a, P(wasm_i16x8_shl(c0, 2), 64));
  a = wasm_i16x8_add(a, P(wasm_i16x8_shl(c1, 2), 80));
  a = wasm_i16x8_add(a, P(c0, 96));
  a = wasm_i16x8_add(a, P(c1, 112));
#undef P
  return a;
}

/* Σ t*q of one segment (the contract's acc directly: no prefix correction)
 * as four int32 lanes. The i16 lanes are widened every 16 chunks
 * (16 * 2032 = 32512 < 32768) with a pmaddwd against ones. */
INLINE v128_t seg_vec_1(const uint8_t *c, const int8_t *q, int32_t nch, v128_t k40, v128_t km1, v128_t ones) {
  v128_t tot = wasm_i32x4_const_splat(0);
  while (nch > 0) {
    int32_t n = nch < 16 ? nch : 16;
    nch -= n;
    v128_t a = wasm_i16x8_const_splat(0);
    do {
      a = chunk_acc_1(a, c, q, k40, km1);
      c += 32;
      q += 128;
    } while (--n);
    tot = wasm_i32x4_add(tot, wasm_i32x4_dot_i16x8(a, ones));
  }
  return tot;
}

/* T tokens sharing the decoded codes (A 32-byte chunk is read as four 8-byte
 * groups s, zero-extended to u16 lanes: lane i of group s holds the codes of
 * weights 8s+i, 32+8s+i, 64+8s+i, 96+8s+i in bits 1:0, 3:2, 5:4, 7:6): each field is shifted down and masked
 * once ((c >> 2n) & 3) and used for all T tokens. Lanes grow by at most
 * 8 * 2 * 127 per chunk (no overflow for any segment below ~1M chunks, and the
 * int32 result is exact modulo 2^32 regardless). T = 4 is the largest group
 * that fits V8's 15 usable xmm registers without spilling the accumulators. */
#ifdef TL1_RELAXED
/* The relaxed-SIMD build: i16x8.relaxed_dot_i8x16_i7x16_s multiplies the 16
 * codes of one field (0..2, where its result is defined) with 16 int8 q of a
 * token and pair-sums into int16 lanes (one pmaddubsw on x86): 16 weights per
 * instruction, and neither codes nor q are widened first. Chunk byte m holds
 * weights m, 32+m, 64+m, 96+m, so field f of bytes 16h..16h+15 meets
 * q[32f + 16h ..]. A chunk adds at most 8 * 2 * 2 * 127 = 4064 to an int16
 * lane, so the lanes are widened to int32 every 8 chunks (32512 < 32768). */
#define RDOT16(q, w) ((v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_s_i16x8((__i8x16)(q), (__i8x16)(w)))
#define TL1_SEG_DOT_T(T)                                                                                 \
  INLINE void seg_dot_##T(const uint8_t *c, const int8_t *q, int32_t qStride, int32_t nch, uint32_t *out) { \
    const v128_t m = wasm_i8x16_const_splat(3);                                                          \
    v128_t acc[T];                                                                                       \
    for (int t = 0; t < T; t++) acc[t] = wasm_i32x4_const_splat(0);                                      \
    while (nch > 0) {                                                                                    \
      int32_t n = nch < 8 ? nch : 8;                                                                     \
      nch -= n;                                                                                          \
      v128_t a16[T];                                                                                     \
      for (int t = 0; t < T; t++) a16[t] = wasm_i16x8_const_splat(0);                                    \
      do {                                                                                               \
        for (int h = 0; h < 2; h++) {                                                                    \
          v128_t v = wasm_v128_load(c + 16 * h);                                                         \
          for (int f = 0; f < 4; f++) {                                                                  \
            v128_t w = wasm_v128_and(f ? wasm_u16x8_shr(v, 2 * f) : v, m);                               \
            for (int t = 0; t < T; t++)                                                                  \
              a16[t] = wasm_i16x8_add(a16[t], RDOT16(wasm_v128_load(q + t * qStride + 32 * f + 16 * h), w)); \
          }                                                                                              \
        }                                                                                                \
        c += 32;                                                                                         \
        q += 128;                                                                                        \
      } while (--n);                                                                                     \
      for (int t = 0; t < T; t++) acc[t] = wasm_i32x4_add(acc[t], wasm_i32x4_extadd_pairwise_i16x8(a16[t])); \
    }                                                                                                    \
    for (int t = 0; t < T; t++) out[t] = hsum_i32x4(acc[t]);                                             \
  }
#else
#define TL1_SEG_DOT_T(T)                                                                                 \
  INLINE void seg_dot_##T(const uint8_t *c, const int8_t *q, int32_t qStride, int32_t nch, uint32_t *out) { \
    const v128_t m = wasm_i16x8_const_splat(3);                                                          \
    v128_t acc[T];                                                                                       \
    for (int t = 0; t < T; t++) acc[t] = wasm_i32x4_const_splat(0);                                      \
    for (int32_t k = 0; k < nch; k++) {                                                                  \
      v128_t cv[4];                                                                                      \
      for (int s = 0; s < 4; s++) cv[s] = wasm_u16x8_load8x8(c + 8 * s);                                 \
      for (int n = 0; n < 4; n++) {                                                                      \
        for (int s = 0; s < 4; s++) {                                                                    \
          v128_t w = wasm_v128_and(n ? wasm_u16x8_shr(cv[s], 2 * n) : cv[s], m);                         \
          for (int t = 0; t < T; t++)                                                                    \
            acc[t] = wasm_i32x4_add(acc[t],                                                              \
                                    wasm_i32x4_dot_i16x8(w, wasm_i16x8_load8x8(q + t * qStride + 32 * n + 8 * s))); \
        }                                                                                                \
      }                                                                                                  \
      c += 32;                                                                                           \
      q += 128;                                                                                          \
    }                                                                                                    \
    for (int t = 0; t < T; t++) out[t] = hsum_i32x4(acc[t]);                                             \
  }

#endif

TL1_SEG_DOT_T(2)
TL1_SEG_DOT_T(4)

/* ------------------------------------------------------------------------- */
/* ternary GEMV / GEMM (KERNEL.md §3)                                        */
/* ------------------------------------------------------------------------- */

/* Row r for T consecutive tokens; q/prefix/actScales/y point at the first
 * token of the group, y already offset by r (token t writes y[t * rows]). */
#define TL1_TERN_ROW(T, DOT)                                                                              \
  INLINE void tern_row_##T(const uint8_t *codes, const int32_t *segAct, const int32_t *segChunks,         \
                           const float *scales, int32_t k0, int32_t k1, const int8_t *q,                  \
                           const int32_t *prefix, int32_t qStride, const float *actScales, float *y,     \
                           int32_t rows) {                                                                \
    float sum[T];                                                                                         \
    for (int t = 0; t < T; t++) sum[t] = 0.0f;                                                            \
    for (int32_t k = k0; k < k1; k++) {                                                                   \
      int32_t act = segAct[k], nch = segChunks[k];                                                        \
      uint32_t dot[T];                                                                                    \
      DOT;                                                                                                \
      float scale = scales[k];                                                                            \
      for (int t = 0; t < T; t++) {                                                                       \
        const int32_t *p = prefix + t * (qStride + 1);                                                    \
        /* acc = dot - (prefix[end] - prefix[start]) = Σ t·q, exact mod 2^32 and known to fit int32 */     \
        int32_t acc = (int32_t)(dot[t] - ((uint32_t)p[act + 128 * nch] - (uint32_t)p[act]));             \
        float prod = scale * (float)acc;                                                                  \
        sum[t] = sum[t] + prod;                                                                           \
      }                                                                                                   \
      codes += 32 * nch;                                                                                  \
    }                                                                                                     \
    for (int t = 0; t < T; t++) y[t * rows] = sum[t] / actScales[t];                                      \
  }

TL1_TERN_ROW(2, seg_dot_2(codes, q + act, qStride, nch, dot))
TL1_TERN_ROW(4, seg_dot_4(codes, q + act, qStride, nch, dot))

/* One row, one token (the GEMV case). Segments are reduced two at a time
 * with one shuffle tree; the float epilogue still runs segment by segment in
 * order, exactly as KERNEL.md §3. */
INLINE void tern_row_1(const uint8_t *codes, const int32_t *segAct, const int32_t *segChunks, const float *scales,
                       int32_t k0, int32_t k1, const int8_t *q, float actScale, float *y) {
  v128_t k40 = wasm_i8x16_const_splat(0x40), km1 = wasm_i8x16_const_splat(-1), ones = wasm_i16x8_const_splat(1);
  OPAQUE(k40);
  OPAQUE(km1);
  OPAQUE(ones);
  float sum = 0.0f;
  int32_t k = k0;
  for (; k + 2 <= k1; k += 2) {
    int32_t n0 = segChunks[k], n1 = segChunks[k + 1];
    v128_t v0 = seg_vec_1(codes, q + segAct[k], n0, k40, km1, ones);
    codes += 32 * n0;
    v128_t v1 = seg_vec_1(codes, q + segAct[k + 1], n1, k40, km1, ones);
    codes += 32 * n1;
    v128_t x = wasm_i32x4_add(wasm_i32x4_shuffle(v0, v1, 0, 1, 4, 5), wasm_i32x4_shuffle(v0, v1, 2, 3, 6, 7));
    x = wasm_i32x4_add(x, wasm_i32x4_shuffle(x, x, 1, 0, 3, 2));
    float p0 = scales[k] * (float)wasm_i32x4_extract_lane(x, 0);
    sum = sum + p0;
    float p1 = scales[k + 1] * (float)wasm_i32x4_extract_lane(x, 2);
    sum = sum + p1;
  }
  if (k < k1) {
    v128_t v = seg_vec_1(codes, q + segAct[k], segChunks[k], k40, km1, ones);
    float p = scales[k] * (float)(int32_t)hsum_i32x4(v);
    sum = sum + p;
  }
  *y = sum / actScale;
}

EXPORT("ternary_gemm")
void ternary_gemm(const uint8_t *codes, const int32_t *segAct, const int32_t *segChunks, const float *segScale,
                  const int32_t *rowSeg, const int32_t *rowCode, int32_t uniform, int32_t rowBegin, int32_t rowEnd,
                  int32_t rows, const int8_t *q, const int32_t *prefix, int32_t qStride, const float *actScales,
                  int32_t nTokens, float *y) {
  int32_t rowBytes = 0;
  if (uniform > 0)
    for (int32_t k = 0; k < uniform; k++) rowBytes += 32 * segChunks[k];
  for (int32_t r = rowBegin; r < rowEnd; r++) {
    const uint8_t *rc;
    const float *sc;
    int32_t k0, k1;
    if (uniform > 0) {
      rc = codes + (uint32_t)r * (uint32_t)rowBytes; /* unsigned: offsets may exceed 2^31 */
      sc = segScale + (uint32_t)r * (uint32_t)uniform;
      k0 = 0;
      k1 = uniform;
    } else {
      rc = codes + (uint32_t)rowCode[r];
      sc = segScale;
      k0 = rowSeg[r];
      k1 = rowSeg[r + 1];
    }
    /* Tokens in groups of 4 (then 2): the row's codes are decoded once per
     * group and stay in L1 across groups. A last single token is done below. */
    int32_t t = 0;
    for (; t + 4 <= nTokens; t += 4)
      tern_row_4(rc, segAct, segChunks, sc, k0, k1, q + t * qStride, prefix + t * (qStride + 1), qStride,
                 actScales + t, y + t * rows + r, rows);
    if (t + 2 <= nTokens)
      tern_row_2(rc, segAct, segChunks, sc, k0, k1, q + t * qStride, prefix + t * (qStride + 1), qStride,
                 actScales + t, y + t * rows + r, rows);
  }
  if (nTokens & 1) { /* the last token alone (GEMV): int8 path */
    int32_t t = nTokens - 1;
    for (int32_t r = rowBegin; r < rowEnd; r++) {
      if (uniform > 0)
        tern_row_1(codes + (uint32_t)r * (uint32_t)rowBytes, segAct, segChunks, segScale + (uint32_t)r * (uint32_t)uniform,
                   0, uniform, q + t * qStride, actScales[t], y + t * rows + r);
      else
        tern_row_1(codes + (uint32_t)rowCode[r], segAct, segChunks, segScale, rowSeg[r], rowSeg[r + 1], q + t * qStride,
                   actScales[t], y + t * rows + r);
    }
  }
}

/* ------------------------------------------------------------------------- */
/* dense GEMV / GEMM (KERNEL.md §4)                                          */
/* ------------------------------------------------------------------------- */

/* A Q8_0 block: fp16 scale d, then BLOCK_ELEMENTS int8 values. */
enum { Q8_ELEMENTS = TL1_DENSE_Q8_0_BLOCK_ELEMENTS, Q8_BYTES = TL1_DENSE_Q8_0_BLOCK_BYTES, Q8_VALUES_AT = 2 };

#define TL1_BLOCK_HALF(bits) half_to_f32(bits)
#include "dense_blocks.h"

/* Weights e .. e+7 of a Q4_0 / Q4_K / Q5_K / Q6_K block as float32, lanes 0-3 and 4-7:
 * (multiplier * code) - offset (dense_blocks.h). */
INLINE void load_block8(int32_t type, const uint8_t *blk, int32_t e, float d, float dmin, v128_t *w0, v128_t *w1) {
  float m, o;
  tl1_block_group(type, blk, e, d, dmin, &m, &o);
  v128_t mv = wasm_f32x4_splat(m), ov = wasm_f32x4_splat(o);
  v128_t bytes = wasm_u16x8_extend_low_u8x16(wasm_i64x2_splat((int64_t)tl1_block_codes8(type, blk, e)));
  v128_t bias = wasm_i32x4_splat(tl1_block_bias(type));
  v128_t c0 = wasm_i32x4_sub(wasm_u32x4_extend_low_u16x8(bytes), bias);
  v128_t c1 = wasm_i32x4_sub(wasm_u32x4_extend_high_u16x8(bytes), bias);
  *w0 = wasm_f32x4_sub(wasm_f32x4_mul(mv, wasm_f32x4_convert_i32x4(c0)), ov);
  *w1 = wasm_f32x4_sub(wasm_f32x4_mul(mv, wasm_f32x4_convert_i32x4(c1)), ov);
}

/* Weights j .. j+7 of a row as float32: lanes 0-3 and 4-7. */
INLINE void load_w8(int32_t type, const uint8_t *row, int32_t j, v128_t *w0, v128_t *w1) {
  if (type == TL1_DENSE_F32) {
    *w0 = wasm_v128_load(row + TL1_DENSE_F32_BLOCK_BYTES * j);
    *w1 = wasm_v128_load(row + TL1_DENSE_F32_BLOCK_BYTES * j + 16);
  } else if (type == TL1_DENSE_F16) {
    half8_to_f32(wasm_v128_load(row + TL1_DENSE_F16_BLOCK_BYTES * j), w0, w1);
  } else { /* BF16: bits << 16 */
    v128_t h = wasm_v128_load(row + TL1_DENSE_BF16_BLOCK_BYTES * j);
    v128_t z = wasm_i16x8_const_splat(0);
    *w0 = wasm_i16x8_shuffle(z, h, 0, 8, 1, 9, 2, 10, 3, 11);
    *w1 = wasm_i16x8_shuffle(z, h, 4, 12, 5, 13, 6, 14, 7, 15);
  }
}

/* Weight j alone (row tails). */
INLINE float load_w1(int32_t type, const uint8_t *row, int32_t j) {
  if (type == TL1_DENSE_F32) {
    float f;
    __builtin_memcpy(&f, row + TL1_DENSE_F32_BLOCK_BYTES * j, 4);
    return f;
  }
  uint32_t h = load_u16(row + TL1_DENSE_F16_BLOCK_BYTES * j); /* F16 and BF16: 2 bytes */
  return type == TL1_DENSE_F16 ? half_to_f32(h) : bits_to_f32(h << 16);
}

/* Products w_j * x_j for lanes [0, n) (n <= 4), +0.0f in the other lanes.
 * Adding +0.0f to an accumulator lane is an identity: lanes start at +0.0f and
 * under round-to-nearest can never become -0.0f, and x + 0 = x for every other
 * x, including inf and NaN (payload unchanged). */
INLINE v128_t tail_prod4(int32_t type, const uint8_t *row, const float *x, int32_t j, int32_t n) {
  v128_t p = wasm_f32x4_const_splat(0.0f);
  if (n > 0) p = wasm_f32x4_replace_lane(p, 0, load_w1(type, row, j + 0) * x[j + 0]);
  if (n > 1) p = wasm_f32x4_replace_lane(p, 1, load_w1(type, row, j + 1) * x[j + 1]);
  if (n > 2) p = wasm_f32x4_replace_lane(p, 2, load_w1(type, row, j + 2) * x[j + 2]);
  if (n > 3) p = wasm_f32x4_replace_lane(p, 3, load_w1(type, row, j + 3) * x[j + 3]);
  return p;
}

/* KERNEL.md §4: v4[i] = lane[i] + lane[i+4]; v2[i] = v4[i] + v4[i+2]; y = v2[0] + v2[1]. */
INLINE float reduce8(v128_t a, v128_t b) {
  v128_t v4 = wasm_f32x4_add(a, b);
  v128_t v2 = wasm_f32x4_add(v4, wasm_i32x4_shuffle(v4, v4, 2, 3, 2, 3));
  return wasm_f32x4_extract_lane(v2, 0) + wasm_f32x4_extract_lane(v2, 1);
}

/* One row for T tokens (token t: x + t*cols, result y[t * rows]); each group
 * of 8 weights is converted once and used for all T tokens. Lane j % 8 of the
 * KERNEL.md accumulator is lane j % 4 of a (j % 8 < 4) or b (j % 8 >= 4). */
#define TL1_DENSE_ROW(T)                                                                                  \
  INLINE void dense_row_##T(int32_t type, const uint8_t *row, int32_t cols, const float *x, float *y,     \
                            int32_t rows) {                                                               \
    v128_t a[T], b[T];                                                                                    \
    for (int t = 0; t < T; t++) a[t] = b[t] = wasm_f32x4_const_splat(0.0f);                               \
    if (TL1_DENSE_IS_BLOCK(type)) { /* cols % elements == 0 */                                            \
      int32_t elements = tl1_dense_block_elements(type), bytes = tl1_dense_block_bytes(type);            \
      for (int32_t i = 0; i < cols / elements; i++) {                                                     \
        float d, dmin;                                                                                    \
        tl1_block_scales(type, row + bytes * i, &d, &dmin);                                               \
        for (int32_t e = 0; e < elements; e += 8) {                                                       \
          v128_t w0, w1;                                                                                  \
          load_block8(type, row + bytes * i, e, d, dmin, &w0, &w1);                                       \
          for (int t = 0; t < T; t++) {                                                                   \
            const float *xt = x + t * cols + elements * i + e;                                            \
            a[t] = wasm_f32x4_add(a[t], wasm_f32x4_mul(w0, wasm_v128_load(xt)));                          \
            b[t] = wasm_f32x4_add(b[t], wasm_f32x4_mul(w1, wasm_v128_load(xt + 4)));                      \
          }                                                                                               \
        }                                                                                                 \
      }                                                                                                   \
    } else if (type == TL1_DENSE_Q8_0) { /* cols % Q8_ELEMENTS == 0 */                                    \
      int32_t nb = cols / Q8_ELEMENTS;                                                                    \
      for (int32_t i = 0; i < nb; i++) {                                                                  \
        const uint8_t *blk = row + Q8_BYTES * i;                                                          \
        v128_t d = wasm_f32x4_splat(half_to_f32(load_u16(blk)));                                          \
        for (int s = 0; s < Q8_ELEMENTS / 8; s++) {                                                       \
          v128_t q16 = wasm_i16x8_load8x8(blk + Q8_VALUES_AT + 8 * s);                                    \
          v128_t q0 = wasm_i32x4_extend_low_i16x8(q16), q1 = wasm_i32x4_extend_high_i16x8(q16);            \
          OPAQUE(q0);                                                                                     \
          OPAQUE(q1);                                                                                     \
          /* value = float(d) * q, exact (11 x 8 significant bits) */                                     \
          v128_t w0 = wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(q0));                                    \
          v128_t w1 = wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(q1));                                    \
          for (int t = 0; t < T; t++) {                                                                   \
            const float *xt = x + t * cols + Q8_ELEMENTS * i + 8 * s;                                     \
            a[t] = wasm_f32x4_add(a[t], wasm_f32x4_mul(w0, wasm_v128_load(xt)));                          \
            b[t] = wasm_f32x4_add(b[t], wasm_f32x4_mul(w1, wasm_v128_load(xt + 4)));                      \
          }                                                                                               \
        }                                                                                                 \
      }                                                                                                   \
    } else {                                                                                              \
      int32_t j = 0;                                                                                      \
      for (; j + 8 <= cols; j += 8) {                                                                     \
        v128_t w0, w1;                                                                                    \
        load_w8(type, row, j, &w0, &w1);                                                                  \
        for (int t = 0; t < T; t++) {                                                                     \
          const float *xt = x + t * cols + j;                                                             \
          a[t] = wasm_f32x4_add(a[t], wasm_f32x4_mul(w0, wasm_v128_load(xt)));                            \
          b[t] = wasm_f32x4_add(b[t], wasm_f32x4_mul(w1, wasm_v128_load(xt + 4)));                        \
        }                                                                                                 \
      }                                                                                                   \
      int32_t n = cols - j; /* 0..7 leftover columns: lanes 0..n-1 */                                     \
      if (n > 0) {                                                                                        \
        for (int t = 0; t < T; t++) {                                                                     \
          const float *xt = x + t * cols;                                                                 \
          a[t] = wasm_f32x4_add(a[t], tail_prod4(type, row, xt, j, n));                                   \
          if (n > 4) b[t] = wasm_f32x4_add(b[t], tail_prod4(type, row, xt, j + 4, n - 4));                \
        }                                                                                                 \
      }                                                                                                   \
    }                                                                                                     \
    for (int t = 0; t < T; t++) y[t * rows] = reduce8(a[t], b[t]);                                        \
  }

TL1_DENSE_ROW(1)
TL1_DENSE_ROW(4)

/* Four rows, one token. Each accumulator lane is a serial chain of float adds
 * (KERNEL.md fixes the 8-lane order), so a lone row is bound by add latency;
 * four rows interleaved give eight independent chains and share the x loads.
 * Row i's result goes to y[i]. */
INLINE void dense_rows4(int32_t type, const uint8_t *row, int32_t rowBytes, int32_t cols, const float *x, float *y) {
  v128_t a[4], b[4];
  _Pragma("clang loop unroll(full)")
  for (int i = 0; i < 4; i++) a[i] = b[i] = wasm_f32x4_const_splat(0.0f);
  if (TL1_DENSE_IS_BLOCK(type)) {
    int32_t elements = tl1_dense_block_elements(type), bytes = tl1_dense_block_bytes(type);
    for (int32_t blk = 0; blk < cols / elements; blk++) {
      float d[4], dmin[4]; /* each row's block scales, read once per block */
      _Pragma("clang loop unroll(full)")
      for (int i = 0; i < 4; i++) tl1_block_scales(type, row + i * rowBytes + bytes * blk, &d[i], &dmin[i]);
      for (int32_t e = 0; e < elements; e += 8) {
        const float *xs = x + elements * blk + e;
        v128_t x0 = wasm_v128_load(xs), x1 = wasm_v128_load(xs + 4);
        _Pragma("clang loop unroll(full)")
        for (int i = 0; i < 4; i++) {
          v128_t w0, w1;
          load_block8(type, row + i * rowBytes + bytes * blk, e, d[i], dmin[i], &w0, &w1);
          a[i] = wasm_f32x4_add(a[i], wasm_f32x4_mul(w0, x0));
          b[i] = wasm_f32x4_add(b[i], wasm_f32x4_mul(w1, x1));
        }
      }
    }
  } else if (type == TL1_DENSE_Q8_0) {
    int32_t nb = cols / Q8_ELEMENTS;
    for (int32_t blk = 0; blk < nb; blk++) {
      v128_t d[4];
      for (int i = 0; i < 4; i++) d[i] = wasm_f32x4_splat(half_to_f32(load_u16(row + i * rowBytes + Q8_BYTES * blk)));
      for (int s = 0; s < Q8_ELEMENTS / 8; s++) {
        const float *xs = x + Q8_ELEMENTS * blk + 8 * s;
        v128_t x0 = wasm_v128_load(xs), x1 = wasm_v128_load(xs + 4);
        for (int i = 0; i < 4; i++) {
          v128_t q16 = wasm_i16x8_load8x8(row + i * rowBytes + Q8_BYTES * blk + Q8_VALUES_AT + 8 * s);
          v128_t q0 = wasm_i32x4_extend_low_i16x8(q16), q1 = wasm_i32x4_extend_high_i16x8(q16);
          OPAQUE(q0);
          OPAQUE(q1);
          v128_t w0 = wasm_f32x4_mul(d[i], wasm_f32x4_convert_i32x4(q0));
          v128_t w1 = wasm_f32x4_mul(d[i], wasm_f32x4_convert_i32x4(q1));
          a[i] = wasm_f32x4_add(a[i], wasm_f32x4_mul(w0, x0));
          b[i] = wasm_f32x4_add(b[i], wasm_f32x4_mul(w1, x1));
        }
      }
    }
  } else {
    int32_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      v128_t x0 = wasm_v128_load(x + j), x1 = wasm_v128_load(x + j + 4);
      for (int i = 0; i < 4; i++) {
        v128_t w0, w1;
        load_w8(type, row + i * rowBytes, j, &w0, &w1);
        a[i] = wasm_f32x4_add(a[i], wasm_f32x4_mul(w0, x0));
        b[i] = wasm_f32x4_add(b[i], wasm_f32x4_mul(w1, x1));
      }
    }
    int32_t n = cols - j;
    if (n > 0) {
      for (int i = 0; i < 4; i++) {
        a[i] = wasm_f32x4_add(a[i], tail_prod4(type, row + i * rowBytes, x, j, n));
        if (n > 4) b[i] = wasm_f32x4_add(b[i], tail_prod4(type, row + i * rowBytes, x, j + 4, n - 4));
      }
    }
  }
  _Pragma("clang loop unroll(full)")
  for (int i = 0; i < 4; i++) y[i] = reduce8(a[i], b[i]);
}

/* The row loop, specialised per type so no type test is left in inner loops. */
#define TL1_DENSE_LOOP(TYPE, ROW_BYTES)                                                                   \
  {                                                                                                       \
    int32_t rb = (ROW_BYTES), r = rowBegin;                                                               \
    int32_t t4 = nTokens & ~3; /* tokens in groups of 4, then 4 rows at a time per leftover token */     \
    for (; r < rowEnd; r++) {                                                                             \
      const uint8_t *row = data + (uint32_t)r * (uint32_t)rb;                                             \
      for (int32_t t = 0; t < t4; t += 4) dense_row_4(TYPE, row, cols, x + t * cols, y + t * rows + r, rows); \
    }                                                                                                     \
    for (int32_t t = t4; t < nTokens; t++) {                                                              \
      for (r = rowBegin; r + 4 <= rowEnd; r += 4)                                                         \
        dense_rows4(TYPE, data + (uint32_t)r * (uint32_t)rb, rb, cols, x + t * cols, y + t * rows + r);   \
      for (; r < rowEnd; r++)                                                                             \
        dense_row_1(TYPE, data + (uint32_t)r * (uint32_t)rb, cols, x + t * cols, y + t * rows + r, rows); \
    }                                                                                                     \
  }

EXPORT("dense_gemm")
void dense_gemm(int32_t type, const uint8_t *data, int32_t rows, int32_t cols, int32_t rowBegin, int32_t rowEnd,
                const float *x, int32_t nTokens, float *y) {
  switch (type) {
#define DENSE_TYPE_CASE(ID, NAME, ELEMENTS, BYTES) \
  case ID:                                        \
    TL1_DENSE_LOOP(ID, cols / (ELEMENTS) * (BYTES)) \
    break;
    TL1_DENSE_TYPES(DENSE_TYPE_CASE)
#undef DENSE_TYPE_CASE
    default: /* unknown type: nothing written (the TS layer validates types) */
      break;
  }
}

/* ------------------------------------------------------------------------- */
/* ternary GEMV, pair-lookup (TL) path: lanes = 16 rows                      */
/* ------------------------------------------------------------------------- */

/*
 * Uniform mode only. ternary_tl_repack rewrites the codes (and scales) in
 * groups of 16 rows. For group g, each segment k of the shared pattern is
 *   16 float32 scales (rows 16g .. 16g+15; padding rows 0.0f), then
 *   32 * segChunks[k] vectors of 16 bytes: vector j, byte r holds for row
 *   16g + r the index 3*c(4j) + c(4j+1) in bits 3:0 and 3*c(4j+2) + c(4j+3) in
 *   bits 7:4 (c = code = t + 1 of that weight of the segment; 0..8, 4 = zero).
 * Padding rows (rows not a multiple of 16) get index 4 (zero) everywhere.
 *
 * ternary_tl_lut builds, per activation pair P (q[2P], q[2P+1]) used by a
 * segment, 32 bytes at lut + 32P: the low bytes, then the high bytes of the
 * int16 values v(3*c0 + c1) = (c0 - 1)*q[2P] + (c1 - 1)*q[2P+1] (|v| <= 254).
 * Lookups (i8x16.swizzle) of both halves, interleaved back into int16 lanes,
 * give t0*q0 + t1*q1 for 16 rows at once: exact, so acc = Σ t*q directly.
 * int16 lanes take at most 128 pairs (128 * 254 = 32512) before widening.
 */
static int32_t tl_group_bytes(int32_t uniform, const int32_t *segChunks) {
  int32_t b = 0;
  for (int32_t k = 0; k < uniform; k++) b += 64 + 512 * segChunks[k];
  return b;
}

EXPORT("ternary_tl_bytes")
int32_t ternary_tl_bytes(int32_t rows, int32_t uniform, const int32_t *segChunks) {
  return ((rows + 15) >> 4) * tl_group_bytes(uniform, segChunks);
}

EXPORT("ternary_tl_repack")
void ternary_tl_repack(const uint8_t *codes, const float *segScale, int32_t rows, int32_t uniform,
                       const int32_t *segChunks, uint8_t *out) {
  int32_t rowBytes = 0;
  for (int32_t k = 0; k < uniform; k++) rowBytes += 32 * segChunks[k];
  int32_t groups = (rows + 15) >> 4;
  for (int32_t g = 0; g < groups; g++) {
    uint8_t *o = out + (uint32_t)g * (uint32_t)tl_group_bytes(uniform, segChunks);
    int32_t segOff = 0;
    for (int32_t k = 0; k < uniform; k++) {
      int32_t nch = segChunks[k];
      for (int32_t r = 0; r < 16; r++) {
        int32_t row = 16 * g + r;
        float s = row < rows ? segScale[(uint32_t)row * (uint32_t)uniform + (uint32_t)k] : 0.0f;
        __builtin_memcpy(o + 4 * r, &s, 4);
        const uint8_t *c = codes + (uint32_t)row * (uint32_t)rowBytes + (uint32_t)segOff;
        for (int32_t j = 0; j < 32 * nch; j++) {
          uint32_t b = 0x44;
          if (row < rows) {
            uint32_t cc[4];
            for (int e = 0; e < 4; e++) {
              int32_t i = 4 * j + e;
              cc[e] = (c[32 * (i >> 7) + (i & 31)] >> (2 * ((i & 127) >> 5))) & 3;
            }
            b = (3 * cc[0] + cc[1]) | ((3 * cc[2] + cc[3]) << 4);
          }
          o[64 + 16 * j + r] = (uint8_t)b;
        }
      }
      o += 64 + 512 * nch;
      segOff += 32 * nch;
    }
  }
}

EXPORT("ternary_tl_lut")
void ternary_tl_lut(const int8_t *q, int32_t uniform, const int32_t *segAct, const int32_t *segChunks, uint8_t *lut) {
  const v128_t w0a = wasm_i16x8_make(-1, -1, -1, 0, 0, 0, 1, 1), w0b = wasm_i16x8_make(1, 0, 0, 0, 0, 0, 0, 0);
  const v128_t w1a = wasm_i16x8_make(-1, 0, 1, -1, 0, 1, -1, 0), w1b = wasm_i16x8_make(1, 0, 0, 0, 0, 0, 0, 0);
  for (int32_t k = 0; k < uniform; k++) {
    int32_t p0 = segAct[k] >> 1, p1 = p0 + 64 * segChunks[k];
    for (int32_t p = p0; p < p1; p++) {
      v128_t a0 = wasm_i16x8_splat(q[2 * p]), a1 = wasm_i16x8_splat(q[2 * p + 1]);
      v128_t ea = wasm_i16x8_add(wasm_i16x8_mul(w0a, a0), wasm_i16x8_mul(w1a, a1));
      v128_t eb = wasm_i16x8_add(wasm_i16x8_mul(w0b, a0), wasm_i16x8_mul(w1b, a1));
      wasm_v128_store(lut + 32 * p,
                      wasm_i8x16_shuffle(ea, eb, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
      wasm_v128_store(lut + 32 * p + 16,
                      wasm_i8x16_shuffle(ea, eb, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31));
    }
  }
}

/* Σ t*q of one segment for NG groups of 16 rows (group i at c + i*gb), as
 * four i32x4 per group (rows 0-3, 4-7, 8-11, 12-15). Per index vector (two
 * pairs): the low nibbles look up pair p, the high nibbles pair p + 1; the
 * low- and high-byte lookups interleave into int16 lanes (rows 0-7, 8-15). */
#define TL_SEG_N(NG)                                                                                   \
  INLINE void tl_seg_##NG(const uint8_t *c, uint32_t gb, const uint8_t *lut, int32_t nch, v128_t *acc) { \
    const v128_t m = wasm_i8x16_const_splat(0x0f);                                                   \
    for (int i = 0; i < 4 * NG; i++) acc[i] = wasm_i32x4_const_splat(0);                             \
    int32_t nv = 32 * nch;                                                                           \
    while (nv > 0) {                                                                                 \
      int32_t n = nv < 64 ? nv : 64;                                                                 \
      nv -= n;                                                                                       \
      v128_t lo[NG], hi[NG];                                                                         \
      for (int i = 0; i < NG; i++) lo[i] = hi[i] = wasm_i16x8_const_splat(0);                        \
      do {                                                                                           \
        v128_t v[NG];                                                                                \
        for (int i = 0; i < NG; i++) v[i] = wasm_v128_load(c + i * gb);                              \
        for (int h = 0; h < 2; h++) {                                                                \
          v128_t tl_ = wasm_v128_load(lut + 32 * h), th_ = wasm_v128_load(lut + 32 * h + 16);        \
          for (int i = 0; i < NG; i++) {                                                             \
            v128_t x = wasm_v128_and(h ? wasm_u16x8_shr(v[i], 4) : v[i], m);                         \
            v128_t bl_ = LOOKUP16(tl_, x), bh_ = LOOKUP16(th_, x);                                   \
            lo[i] = wasm_i16x8_add(lo[i], wasm_i8x16_shuffle(bl_, bh_, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)); \
            hi[i] = wasm_i16x8_add(hi[i], wasm_i8x16_shuffle(bl_, bh_, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)); \
          }                                                                                          \
        }                                                                                            \
        c += 16;                                                                                     \
        lut += 64;                                                                                   \
      } while (--n);                                                                                 \
      for (int i = 0; i < NG; i++) {                                                                 \
        acc[4 * i + 0] = wasm_i32x4_add(acc[4 * i + 0], wasm_i32x4_extend_low_i16x8(lo[i]));         \
        acc[4 * i + 1] = wasm_i32x4_add(acc[4 * i + 1], wasm_i32x4_extend_high_i16x8(lo[i]));        \
        acc[4 * i + 2] = wasm_i32x4_add(acc[4 * i + 2], wasm_i32x4_extend_low_i16x8(hi[i]));         \
        acc[4 * i + 3] = wasm_i32x4_add(acc[4 * i + 3], wasm_i32x4_extend_high_i16x8(hi[i]));        \
      }                                                                                              \
    }                                                                                                \
  }

TL_SEG_N(1) /* NG = 2..4 (shared table loads) measured no faster in V8 */

/* Rows [16g, 16g + 16) ∩ [rowBegin, rowEnd) of y from the four f32x4 sums. */
INLINE void tl_store(float *y, int32_t g, int32_t rowBegin, int32_t rowEnd, const v128_t *sum, v128_t div) {
  int32_t r0 = 16 * g;
  if (r0 >= rowBegin && r0 + 16 <= rowEnd) {
    for (int i = 0; i < 4; i++) wasm_v128_store(y + r0 + 4 * i, wasm_f32x4_div(sum[i], div));
  } else {
    for (int i = 0; i < 4; i++) {
      v128_t d = wasm_f32x4_div(sum[i], div);
      int32_t r = r0 + 4 * i;
      if (r >= rowBegin && r < rowEnd) y[r] = wasm_f32x4_extract_lane(d, 0);
      if (r + 1 >= rowBegin && r + 1 < rowEnd) y[r + 1] = wasm_f32x4_extract_lane(d, 1);
      if (r + 2 >= rowBegin && r + 2 < rowEnd) y[r + 2] = wasm_f32x4_extract_lane(d, 2);
      if (r + 3 >= rowBegin && r + 3 < rowEnd) y[r + 3] = wasm_f32x4_extract_lane(d, 3);
    }
  }
}

INLINE void tl_gemv(const uint8_t *tl, int32_t uniform, const int32_t *segAct, const int32_t *segChunks,
                    int32_t rowBegin, int32_t rowEnd, const uint8_t *lut, float actScale, float *y) {
  uint32_t gb = (uint32_t)tl_group_bytes(uniform, segChunks);
  v128_t div = wasm_f32x4_splat(actScale);
  int32_t g = rowBegin >> 4, gEnd = (rowEnd + 15) >> 4;
  if (rowBegin >= rowEnd) return;
  /* KERNEL.md's per-row order, lane by lane: sum = sum + scale * (float)acc
   * per segment, ascending (f32x4 mul, then add: never fused), then / actScale. */
  for (; g < gEnd; g++) {
    const uint8_t *o = tl + (uint32_t)g * gb;
    v128_t sum[4];
    for (int i = 0; i < 4; i++) sum[i] = wasm_f32x4_const_splat(0.0f);
    for (int32_t k = 0; k < uniform; k++) {
      int32_t nch = segChunks[k];
      v128_t acc[4];
      tl_seg_1(o + 64, gb, lut + 16 * segAct[k], nch, acc);
      for (int i = 0; i < 4; i++) {
        v128_t prod = wasm_f32x4_mul(wasm_v128_load(o + 16 * i), wasm_f32x4_convert_i32x4(acc[i]));
        sum[i] = wasm_f32x4_add(sum[i], prod);
      }
      o += 64 + 512 * nch;
    }
    tl_store(y, g, rowBegin, rowEnd, sum, div);
  }
}

/* Rows [rowBegin, rowEnd) for nTokens tokens: token t uses the tables at
 * lut + t*lutStride (ternary_tl_lut of its q), actScales[t], and writes
 * y[t*rows + r]. Writes only those y elements. */
EXPORT("ternary_tl_gemm")
void ternary_tl_gemm(const uint8_t *tl, int32_t uniform, const int32_t *segAct, const int32_t *segChunks,
                     int32_t rowBegin, int32_t rowEnd, int32_t rows, const uint8_t *lut, int32_t lutStride,
                     const float *actScales, int32_t nTokens, float *y) {
  for (int32_t t = 0; t < nTokens; t++)
    tl_gemv(tl, uniform, segAct, segChunks, rowBegin, rowEnd, lut + (uint32_t)t * (uint32_t)lutStride, actScales[t],
            y + (uint32_t)t * (uint32_t)rows);
}

/* ------------------------------------------------------------------------- */
/* build identity                                                            */
/* ------------------------------------------------------------------------- */

/* Writes the 32-byte SHA-256 of the sources this module was built from
 * (scripts/source-hash.mjs, wasm/source_hash.h) at out, as stores of
 * immediates: the module keeps no data of its own. */
/* ------------------------------------------------------------------------- */
/* attention (KERNEL.md §7): the float32 operations of src/attention.ts, in     */
/* its order; q·k lanes i mod 8 as two f32x4 (lanes 0-3, 4-7)                 */
/* ------------------------------------------------------------------------- */

#define K_LOG2E 0x3fb8aa3bu
#define K_LN2_HI 0x3f318000u
#define K_LN2_LO 0xb95e8083u
#define K_P0 0x39506967u
#define K_P1 0x3ab743ceu
#define K_P2 0x3c088908u
#define K_P3 0x3d2aa9c1u
#define K_P4 0x3e2aaaaau
#define K_P5 0x3f000000u
#define EXP_MIN (-87.0f)

/* exp32 of four values: lanes below EXP_MIN are 0, NaN lanes stay NaN */
INLINE v128_t exp32x4(v128_t x) {
  const v128_t n = wasm_f32x4_floor(
      wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(bits_to_f32(K_LOG2E))), wasm_f32x4_splat(0.5f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(bits_to_f32(K_LN2_HI))));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(bits_to_f32(K_LN2_LO))));
  const v128_t z = wasm_f32x4_mul(r, r);
  v128_t p = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_splat(bits_to_f32(K_P0)), r), wasm_f32x4_splat(bits_to_f32(K_P1)));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(bits_to_f32(K_P2)));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(bits_to_f32(K_P3)));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(bits_to_f32(K_P4)));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(bits_to_f32(K_P5)));
  const v128_t y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(p, z), r), wasm_f32x4_splat(1.0f));
  /* n is garbage in out-of-range and NaN lanes (saturated); they are replaced below */
  const v128_t e = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  const v128_t res = wasm_f32x4_mul(y, e);
  const v128_t inRange = wasm_f32x4_ge(x, wasm_f32x4_splat(EXP_MIN));
  const v128_t isNan = wasm_f32x4_ne(x, x);
  return wasm_v128_or(wasm_v128_and(res, inRange), wasm_v128_and(x, isNan));
}

INLINE float exp32(float x) {
  return wasm_f32x4_extract_lane(exp32x4(wasm_f32x4_splat(x)), 0);
}

/* 8 cache elements from element i on, as two f32x4 */
INLINE void kv_load8(const uint8_t *base, uint32_t i, int32_t half, v128_t *lo, v128_t *hi) {
  if (half) {
    half8_to_f32(wasm_v128_load(base + 2 * i), lo, hi);
  } else {
    *lo = wasm_v128_load(base + 4 * i);
    *hi = wasm_v128_load(base + 4 * i + 16);
  }
}

INLINE float kv_at(const uint8_t *base, uint32_t i, int32_t half) {
  if (half) return half_to_f32(load_u16(base + 2 * i));
  float f;
  __builtin_memcpy(&f, base + 4 * i, 4);
  return f;
}

/* Adds the tail product m to lane j (0..7) of the pair (lo, hi). */
INLINE void lane_add(v128_t *lo, v128_t *hi, uint32_t j, float m) {
  switch (j) {
    case 0: *lo = wasm_f32x4_replace_lane(*lo, 0, wasm_f32x4_extract_lane(*lo, 0) + m); break;
    case 1: *lo = wasm_f32x4_replace_lane(*lo, 1, wasm_f32x4_extract_lane(*lo, 1) + m); break;
    case 2: *lo = wasm_f32x4_replace_lane(*lo, 2, wasm_f32x4_extract_lane(*lo, 2) + m); break;
    case 3: *lo = wasm_f32x4_replace_lane(*lo, 3, wasm_f32x4_extract_lane(*lo, 3) + m); break;
    case 4: *hi = wasm_f32x4_replace_lane(*hi, 0, wasm_f32x4_extract_lane(*hi, 0) + m); break;
    case 5: *hi = wasm_f32x4_replace_lane(*hi, 1, wasm_f32x4_extract_lane(*hi, 1) + m); break;
    case 6: *hi = wasm_f32x4_replace_lane(*hi, 2, wasm_f32x4_extract_lane(*hi, 2) + m); break;
    default: *hi = wasm_f32x4_replace_lane(*hi, 3, wasm_f32x4_extract_lane(*hi, 3) + m); break;
  }
}

/* (token, head) pairs [pair0, pair1), pair = t·heads + h; s holds start + nTokens floats. The cache
 * holds floats, or half bits when half != 0. */
EXPORT("attention")
void attention(const float *q, const uint8_t *keys, const uint8_t *values, float *out, int32_t heads, int32_t kvHeads,
               int32_t hd, int32_t start, int32_t nTokens, float scale, int32_t half, int32_t pair0, int32_t pair1,
               float *s) {
  (void)nTokens;
  const int32_t group = heads / kvHeads;
  const uint32_t kvStride = (uint32_t)kvHeads * (uint32_t)hd;
  const int32_t hd8 = hd & ~7, hd4 = hd & ~3;
  for (int32_t pair = pair0; pair < pair1; pair++) {
    const int32_t t = pair / heads, h = pair % heads;
    const int32_t span = start + t + 1;
    const float *qh = q + (uint32_t)(t * heads + h) * (uint32_t)hd;
    const uint32_t kvAt = (uint32_t)(h / group) * (uint32_t)hd;
    float max = -__builtin_inff();
    for (int32_t p = 0; p < span; p++) {
      const uint32_t k = (uint32_t)p * kvStride + kvAt;
      v128_t lo = wasm_f32x4_splat(0.0f), hi = lo;
      for (int32_t i = 0; i < hd8; i += 8) {
        v128_t klo, khi;
        kv_load8(keys, k + (uint32_t)i, half, &klo, &khi);
        lo = wasm_f32x4_add(lo, wasm_f32x4_mul(wasm_v128_load(qh + i), klo));
        hi = wasm_f32x4_add(hi, wasm_f32x4_mul(wasm_v128_load(qh + i + 4), khi));
      }
      for (int32_t i = hd8; i < hd; i++) lane_add(&lo, &hi, (uint32_t)(i & 7), qh[i] * kv_at(keys, k + (uint32_t)i, half));
      const float v = reduce8(lo, hi) * scale;
      s[p] = v;
      if (v > max) max = v;
    }
    /* softmax: exp four positions at a time, the sum in lanes p mod 8 */
    const int32_t span8 = span & ~7;
    const v128_t vmax = wasm_f32x4_splat(max);
    v128_t slo = wasm_f32x4_splat(0.0f), shi = slo;
    for (int32_t p = 0; p < span8; p += 8) {
      const v128_t elo = exp32x4(wasm_f32x4_sub(wasm_v128_load(s + p), vmax));
      const v128_t ehi = exp32x4(wasm_f32x4_sub(wasm_v128_load(s + p + 4), vmax));
      wasm_v128_store(s + p, elo);
      wasm_v128_store(s + p + 4, ehi);
      slo = wasm_f32x4_add(slo, elo);
      shi = wasm_f32x4_add(shi, ehi);
    }
    for (int32_t p = span8; p < span; p++) {
      const float e = exp32(s[p] - max);
      s[p] = e;
      lane_add(&slo, &shi, (uint32_t)(p & 7), e);
    }
    const float sum = reduce8(slo, shi);
    const v128_t vsum = wasm_f32x4_splat(sum);
    const int32_t span4 = span & ~3;
    for (int32_t p = 0; p < span4; p += 4) wasm_v128_store(s + p, wasm_f32x4_div(wasm_v128_load(s + p), vsum));
    for (int32_t p = span4; p < span; p++) s[p] = s[p] / sum;

    /* out = Σ_p w_p · v_p, each element accumulated in position order: 16 columns per pass */
    float *o = out + (uint32_t)(t * heads + h) * (uint32_t)hd;
    int32_t i = 0;
    for (; i + 16 <= hd; i += 16) {
      v128_t o0 = wasm_f32x4_splat(0.0f), o1 = o0, o2 = o0, o3 = o0;
      for (int32_t p = 0; p < span; p++) {
        const v128_t w = wasm_f32x4_splat(s[p]);
        const uint32_t v = (uint32_t)p * kvStride + kvAt + (uint32_t)i;
        v128_t a, b, c, d;
        kv_load8(values, v, half, &a, &b);
        kv_load8(values, v + 8, half, &c, &d);
        o0 = wasm_f32x4_add(o0, wasm_f32x4_mul(w, a));
        o1 = wasm_f32x4_add(o1, wasm_f32x4_mul(w, b));
        o2 = wasm_f32x4_add(o2, wasm_f32x4_mul(w, c));
        o3 = wasm_f32x4_add(o3, wasm_f32x4_mul(w, d));
      }
      wasm_v128_store(o + i, o0);
      wasm_v128_store(o + i + 4, o1);
      wasm_v128_store(o + i + 8, o2);
      wasm_v128_store(o + i + 12, o3);
    }
    for (; i < hd4 && i + 8 <= hd; i += 8) {
      v128_t o0 = wasm_f32x4_splat(0.0f), o1 = o0;
      for (int32_t p = 0; p < span; p++) {
        const v128_t w = wasm_f32x4_splat(s[p]);
        v128_t a, b;
        kv_load8(values, (uint32_t)p * kvStride + kvAt + (uint32_t)i, half, &a, &b);
        o0 = wasm_f32x4_add(o0, wasm_f32x4_mul(w, a));
        o1 = wasm_f32x4_add(o1, wasm_f32x4_mul(w, b));
      }
      wasm_v128_store(o + i, o0);
      wasm_v128_store(o + i + 4, o1);
    }
    for (; i < hd; i++) {
      float acc = 0.0f;
      for (int32_t p = 0; p < span; p++) acc = acc + s[p] * kv_at(values, (uint32_t)p * kvStride + kvAt + (uint32_t)i, half);
      o[i] = acc;
    }
  }
}

EXPORT("source_hash")
void source_hash(uint8_t *out) {
  const uint32_t words[8] = {TL1_SOURCE_HASH_WORDS};
  for (int i = 0; i < 8; i++) __builtin_memcpy(out + 4 * i, &words[i], 4);
}
