/* Ternary GEMV/GEMM kernels (KERNEL.md §3): scalar, AVX2, AVX-VNNI, AVX-512 VNNI (with or without GFNI). */
#include <string.h>

#include "tl1.h"

/* ---------------- scalar ---------------- */

static uint32_t segdot_scalar(const uint8_t* c, const int8_t* q, int32_t nc) {
  uint32_t dot = 0; /* wraps exactly like the SIMD int32 lanes */
  for (int32_t ch = 0; ch < nc; ch++, c += 32, q += 128) {
    int32_t s = 0;
    for (int mi = 0; mi < 32; mi++) {
      const int b = c[mi];
      s += (b & 3) * q[mi] + ((b >> 2) & 3) * q[32 + mi] + ((b >> 4) & 3) * q[64 + mi] + ((b >> 6) & 3) * q[96 + mi];
    }
    dot += (uint32_t)s;
  }
  return dot;
}

void tl1_ternary_scalar(const tl1_gemm* g, int32_t r0, int32_t r1) {
  const tl1_mat* m = g->m;
  for (int32_t r = r0; r < r1; r++) {
    int32_t k0, k1;
    const uint8_t* rc;
    const float* sc;
    if (m->uniform) {
      k0 = 0;
      k1 = m->uniform;
      rc = m->codes + (size_t)r * m->rowBytes;
      sc = m->segScale + (size_t)r * (size_t)m->uniform;
    } else {
      k0 = m->rowSeg[r];
      k1 = m->rowSeg[r + 1];
      rc = m->codes + m->rowCode[r];
      sc = m->segScale;
    }
    for (int32_t t = 0; t < g->nTokens; t++) {
      const int8_t* qt = g->q + (size_t)t * g->qStride;
      const int32_t* pt = g->prefix + (size_t)t * (g->qStride + 1);
      const uint8_t* cp = rc;
      float sum = 0.0f;
      for (int32_t k = k0; k < k1; k++) {
        const int32_t a = m->segAct[k], nc = m->segChunks[k];
        if (m->uniform) cp = tl1_seg_codes(m, r, k);
        const uint32_t dot = segdot_scalar(cp, qt + a, nc);
        const int32_t acc = (int32_t)(dot - ((uint32_t)pt[(size_t)a + 128 * (size_t)nc] - (uint32_t)pt[a]));
        const float s = sc[k] * (float)acc;
        sum = sum + s;
        cp += (size_t)nc * 32;
      }
      g->y[(size_t)t * m->rows + r] = sum / g->actScales[t];
    }
  }
}

#if TL1_X86
#include <immintrin.h>

/* ---------------- AVX2 ---------------- */
#define SFX avx2
#define TGT __attribute__((target("avx2")))
#define VACC __m256i
#define CONSTS_DECL                              \
  const __m256i m3_ = _mm256_set1_epi8(3);       \
  const __m256i ones16_ = _mm256_set1_epi16(1);
#define ACC_ZERO() _mm256_setzero_si256()
#define CODES_DECL(p)                                                  \
  const __m256i v_ = _mm256_loadu_si256((const __m256i*)(p));          \
  const __m256i c0_ = _mm256_and_si256(v_, m3_);                       \
  const __m256i c1_ = _mm256_and_si256(_mm256_srli_epi16(v_, 2), m3_); \
  const __m256i c2_ = _mm256_and_si256(_mm256_srli_epi16(v_, 4), m3_); \
  const __m256i c3_ = _mm256_and_si256(_mm256_srli_epi16(v_, 6), m3_);
/* The 4 maddubs results of a chunk are added in int16 (each pair sum is at
 * most 2*3*128 = 768 in magnitude even for code 3 or q = -128, so 4 of them
 * cannot overflow), then widened with madd(., 1) into the int32 accumulator.
 * (Accumulating up to 10-16 chunks in int16 measured no faster.) */
#define DOT_STEP(acc, qp)                                                                               \
  do {                                                                                                  \
    const int8_t* q_ = (qp);                                                                            \
    const __m256i p01_ = _mm256_add_epi16(                                                              \
        _mm256_maddubs_epi16(c0_, _mm256_loadu_si256((const __m256i*)q_)),                              \
        _mm256_maddubs_epi16(c1_, _mm256_loadu_si256((const __m256i*)(q_ + 32))));                      \
    const __m256i p23_ = _mm256_add_epi16(                                                              \
        _mm256_maddubs_epi16(c2_, _mm256_loadu_si256((const __m256i*)(q_ + 64))),                       \
        _mm256_maddubs_epi16(c3_, _mm256_loadu_si256((const __m256i*)(q_ + 96))));                      \
    (acc) = _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_add_epi16(p01_, p23_), ones16_));          \
  } while (0)
#define FOLD(a) (a)
#define TREE8(acc) FN(tree8)(acc)
#include "ternary_tpl.h"
#undef SFX
#undef TGT
#undef VACC
#undef CONSTS_DECL
#undef ACC_ZERO
#undef CODES_DECL
#undef DOT_STEP
#undef FOLD
#undef TREE8

void tl1_ternary_avx2(const tl1_gemm* g, int32_t r0, int32_t r1) { tl1_ternary_impl_avx2(g, r0, r1); }

/* ---------------- AVX-VNNI (256-bit) ---------------- */
#define SFX avxvnni
#define TGT __attribute__((target("avx2,avxvnni")))
#define VACC __m256i
#define CONSTS_DECL const __m256i m3_ = _mm256_set1_epi8(3);
#define ACC_ZERO() _mm256_setzero_si256()
#define CODES_DECL(p)                                                  \
  const __m256i v_ = _mm256_loadu_si256((const __m256i*)(p));          \
  const __m256i c0_ = _mm256_and_si256(v_, m3_);                       \
  const __m256i c1_ = _mm256_and_si256(_mm256_srli_epi16(v_, 2), m3_); \
  const __m256i c2_ = _mm256_and_si256(_mm256_srli_epi16(v_, 4), m3_); \
  const __m256i c3_ = _mm256_and_si256(_mm256_srli_epi16(v_, 6), m3_);
#define DOT_STEP(acc, qp)                                                                         \
  do {                                                                                            \
    const int8_t* q_ = (qp);                                                                      \
    (acc) = _mm256_dpbusd_avx_epi32((acc), c0_, _mm256_loadu_si256((const __m256i*)q_));          \
    (acc) = _mm256_dpbusd_avx_epi32((acc), c1_, _mm256_loadu_si256((const __m256i*)(q_ + 32)));   \
    (acc) = _mm256_dpbusd_avx_epi32((acc), c2_, _mm256_loadu_si256((const __m256i*)(q_ + 64)));   \
    (acc) = _mm256_dpbusd_avx_epi32((acc), c3_, _mm256_loadu_si256((const __m256i*)(q_ + 96)));   \
  } while (0)
#define FOLD(a) (a)
#define TREE8(acc) FN(tree8)(acc)
#include "ternary_tpl.h"
#undef SFX
#undef TGT
#undef VACC
#undef CONSTS_DECL
#undef ACC_ZERO
#undef CODES_DECL
#undef DOT_STEP
#undef FOLD
#undef TREE8

void tl1_ternary_avxvnni(const tl1_gemm* g, int32_t r0, int32_t r1) { tl1_ternary_impl_avxvnni(g, r0, r1); }

/* ---------------- AVX-512 VNNI ----------------
 * The 32-byte chunk is broadcast to both 256-bit halves; the high half is
 * shifted by 2 more bits, so one 512-bit vector holds the codes of weights
 * 0..63 (n = 0, 1) and a second one those of 64..127 (n = 2, 3): each pairs
 * with one contiguous 64-byte load of q. */
#define VACC __m512i
#define ACC_ZERO() _mm512_setzero_si512()
#define DOT_STEP(acc, qp)                                                           \
  do {                                                                              \
    const int8_t* q_ = (qp);                                                        \
    (acc) = _mm512_dpbusd_epi32((acc), c01_, _mm512_loadu_si512((const void*)q_));   \
    (acc) = _mm512_dpbusd_epi32((acc), c23_, _mm512_loadu_si512((const void*)(q_ + 64))); \
  } while (0)
#define FOLD(a) _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64((a), 1))
#define TREE8(acc) tree8z(acc)
/* lane i of the result = sum of the 16 lanes of a[i] (unpack/shuffle tree, no hadd) */
static inline __attribute__((always_inline)) __attribute__((target("avx2,avx512f,avx512bw,avx512vl"))) __m256i
tree8z(const __m512i* a) {
  __m512i p[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++)
    p[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_epi32(a[2 * i], a[2 * i + 1]));
  /* p[i] block = [a2i, a2i+1, a2i, a2i+1] partials */
  const __m512i q0 = _mm512_add_epi32(_mm512_unpacklo_epi64(p[0], p[1]), _mm512_unpackhi_epi64(p[0], p[1]));
  const __m512i q1 = _mm512_add_epi32(_mm512_unpacklo_epi64(p[2], p[3]), _mm512_unpackhi_epi64(p[2], p[3]));
  /* q0 blocks = [a0 a1 a2 a3] partials x4, q1 the same for a4..a7 */
  const __m512i u = _mm512_add_epi32(_mm512_shuffle_i64x2(q0, q1, 0x88), _mm512_shuffle_i64x2(q0, q1, 0xDD));
  /* u blocks = [A, A, B, B] */
  const __m512i v = _mm512_shuffle_i64x2(u, u, 0xD8); /* [A, B, A, B] */
  return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

#define SFX avx512
#define TGT __attribute__((target("avx2,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define CONSTS_DECL const __m512i m3_ = _mm512_set1_epi8(3);
#define CODES_DECL(p)                                                                  \
  const __m512i v_ = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)(p)));  \
  const __m512i a_ = _mm512_mask_srli_epi16(v_, (__mmask32)0xFFFF0000u, v_, 2);       \
  const __m512i c01_ = _mm512_and_si512(a_, m3_);                                      \
  const __m512i c23_ = _mm512_and_si512(_mm512_srli_epi16(a_, 4), m3_);
#include "ternary_tpl.h"
#undef SFX
#undef TGT
#undef CONSTS_DECL
#undef CODES_DECL

void tl1_ternary_avx512(const tl1_gemm* g, int32_t r0, int32_t r1) { tl1_ternary_impl_avx512(g, r0, r1); }

/* With GFNI, one vgf2p8affineqb per vector moves each byte's 2-bit field to bits 1:0 and
 * clears the rest (the shift and the mask in one instruction, same codes). Result bit i of a
 * byte is the parity of (byte & row 7-i of the 64-bit lane's matrix), so the matrix for
 * field n holds 1 << 2n in its byte 7 and 2 << 2n in byte 6; the low 256 bits take field
 * 0 (or 2) and the high ones field 1 (or 3), as above. 1-thread 6912x2560 GEMV on Zen 4:
 * 178 -> 148 us (in cache). */
#define GF_FIELD(n) ((long long)((1ULL << (2 * (n) + 56)) | (2ULL << (2 * (n) + 48))))
#define SFX avx512gfni
#define TGT __attribute__((target("avx2,f16c,avx512f,avx512bw,avx512vl,avx512vnni,gfni")))
#define CONSTS_DECL                                                                                              \
  const __m512i g01_ = _mm512_set_epi64(GF_FIELD(1), GF_FIELD(1), GF_FIELD(1), GF_FIELD(1), GF_FIELD(0), GF_FIELD(0), \
                                        GF_FIELD(0), GF_FIELD(0));                                              \
  const __m512i g23_ = _mm512_set_epi64(GF_FIELD(3), GF_FIELD(3), GF_FIELD(3), GF_FIELD(3), GF_FIELD(2), GF_FIELD(2), \
                                        GF_FIELD(2), GF_FIELD(2));
#define CODES_DECL(p)                                                                 \
  const __m512i v_ = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)(p))); \
  const __m512i c01_ = _mm512_gf2p8affine_epi64_epi8(v_, g01_, 0);                    \
  const __m512i c23_ = _mm512_gf2p8affine_epi64_epi8(v_, g23_, 0);
#include "ternary_tpl.h"
#undef SFX
#undef TGT
#undef CONSTS_DECL
#undef CODES_DECL
#undef GF_FIELD
#undef VACC
#undef ACC_ZERO
#undef DOT_STEP
#undef FOLD
#undef TREE8

void tl1_ternary_avx512gfni(const tl1_gemm* g, int32_t r0, int32_t r1) { tl1_ternary_impl_avx512gfni(g, r0, r1); }

#endif
