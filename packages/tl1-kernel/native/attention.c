/* Causal multi-head attention over an f32 or f16 KV cache (KERNEL.md §6). The same
 * float32 operations in the same order as src/attention.ts, so both give the
 * same bits: q·k in 8 lanes (lane = i mod 8) and the dense reduction, a
 * float32 exp of our own (no libm), weights e/sum, values accumulated
 * position by position. */
#include <math.h>
#include <string.h>

#include "tl1.h"

/* The constants by bit pattern, so C and JS start from the same floats. */
static inline float bits_to_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
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

static inline float exp32(float x) {
  if (!(x >= EXP_MIN)) return x != x ? x : 0.0f;
  const float n = floorf(x * bits_to_float(K_LOG2E) + 0.5f);
  float r = x - n * bits_to_float(K_LN2_HI);
  r = r - n * bits_to_float(K_LN2_LO);
  const float z = r * r;
  float p = bits_to_float(K_P0) * r + bits_to_float(K_P1);
  p = p * r + bits_to_float(K_P2);
  p = p * r + bits_to_float(K_P3);
  p = p * r + bits_to_float(K_P4);
  p = p * r + bits_to_float(K_P5);
  const float y = p * z + r + 1.0f;
  return y * bits_to_float((uint32_t)((int32_t)n + 127) << 23);
}

uint16_t tl1_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  const uint32_t e = (x >> 23) & 0xffu, m = x & 0x7fffffu;
  if (e == 0xffu) return (uint16_t)(sign | 0x7c00u | (m ? 0x200u : 0u));
  const int32_t E = (int32_t)e - 112; /* the half's biased exponent */
  if (E >= 31) return (uint16_t)(sign | 0x7c00u);
  uint32_t h, rem, halfway;
  if (E >= 1) { /* normal: 13 bits drop; a carry may round up into the exponent (65520 -> inf) */
    h = ((uint32_t)E << 10) | (m >> 13);
    rem = m & 0x1fffu;
    halfway = 0x1000u;
  } else { /* subnormal half (or zero): the significand with its implicit bit, in units of 2^-24 */
    const int32_t shift = 14 - E;
    if (shift > 24) return sign;
    const uint32_t M = m | 0x800000u;
    h = M >> shift;
    rem = M & ((1u << shift) - 1u);
    halfway = 1u << (shift - 1);
  }
  if (rem > halfway || (rem == halfway && (h & 1u))) h++;
  return (uint16_t)(sign | h);
}

/* Rotary embedding of heads vectors of hd floats at x for position pos, in place: the bits of
 * src/rope.ts's applyRope (each output in double, rounded once to float32). */
void tl1_rope(float* x, int32_t heads, int32_t hd, const float* cosT, const float* sinT, int neox, int32_t dims,
              int64_t pos) {
  const int32_t half = dims / 2;
  const float* c = cosT + (size_t)pos * (size_t)half;
  const float* s = sinT + (size_t)pos * (size_t)half;
  for (int32_t h = 0; h < heads; h++) {
    float* o = x + (size_t)h * (size_t)hd;
    for (int32_t i = 0; i < half; i++) {
      const int32_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
      const double x0 = o[a], x1 = o[b];
      o[a] = (float)(x0 * (double)c[i] - x1 * (double)s[i]);
      o[b] = (float)(x0 * (double)s[i] + x1 * (double)c[i]);
    }
  }
}

void tl1_kv_store_scalar(void* cache, int half, size_t at, const float* src, size_t n) {
  if (!half) {
    memcpy((float*)cache + at, src, n * sizeof(float));
    return;
  }
  uint16_t* d = (uint16_t*)cache + at;
  for (size_t i = 0; i < n; i++) d[i] = tl1_float_to_half(src[i]);
}

/* Element i of a cache array: float32, or a half widened exactly. */
static inline float kv_at(const void* base, size_t i, int half) {
  return half ? tl1_half_to_float(((const uint16_t*)base)[i]) : ((const float*)base)[i];
}

static inline float reduce8(const float* l) {
  return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

/* softmax of s[0..span) in place, given its maximum */
static void softmax_scalar(float* s, int32_t span, float max) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int32_t p = 0; p < span; p++) {
    const float e = exp32(s[p] - max);
    s[p] = e;
    lane[p & 7] = lane[p & 7] + e;
  }
  const float sum = reduce8(lane);
  for (int32_t p = 0; p < span; p++) s[p] = s[p] / sum;
}

void tl1_attention_scalar(const tl1_attention* a, int64_t pair0, int64_t pair1, float* s) {
  const int32_t hd = a->headDim, group = a->heads / a->kvHeads;
  const size_t kvStride = (size_t)a->kvHeads * (size_t)hd;
  for (int64_t pair = pair0; pair < pair1; pair++) {
    const int32_t t = (int32_t)(pair / a->heads), h = (int32_t)(pair % a->heads);
    const int32_t span = a->start + t + 1;
    const float* q = a->q + ((size_t)t * a->heads + h) * hd;
    const size_t kvAt = (size_t)(h / group) * hd;
    float max = -INFINITY;
    for (int32_t p = 0; p < span; p++) {
      const size_t k = (size_t)p * kvStride + kvAt;
      float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int32_t i = 0; i < hd; i++) {
        const float m = q[i] * kv_at(a->keys, k + (size_t)i, a->half);
        lane[i & 7] = lane[i & 7] + m;
      }
      const float v = reduce8(lane) * a->scale;
      s[p] = v;
      if (v > max) max = v;
    }
    softmax_scalar(s, span, max);
    float* o = a->out + ((size_t)t * a->heads + h) * hd;
    for (int32_t i = 0; i < hd; i++) o[i] = 0.0f;
    for (int32_t p = 0; p < span; p++) {
      const float w = s[p];
      const size_t v = (size_t)p * kvStride + kvAt;
      for (int32_t i = 0; i < hd; i++) {
        const float m = w * kv_at(a->values, v + (size_t)i, a->half);
        o[i] = o[i] + m;
      }
    }
  }
}

#if TL1_X86
#include <immintrin.h>

#define ATGT __attribute__((target("avx2,f16c")))

/* Eight cache elements from element i on, as float32; H: the cache holds halves. */
#define KV_LD8(base, i, H)                                                                           \
  ((H) ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)((const uint16_t*)(base) + (size_t)(i)))) \
       : _mm256_loadu_ps((const float*)(base) + (size_t)(i)))
#define KV_BYTES(base, i, H) ((const char*)(base) + (size_t)(i) * ((H) ? 2u : 4u))

static ATGT __m256 exp32x8(__m256 x) {
  const __m256 n = _mm256_floor_ps(
      _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(bits_to_float(K_LOG2E))), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(bits_to_float(K_LN2_HI))));
  r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(bits_to_float(K_LN2_LO))));
  const __m256 z = _mm256_mul_ps(r, r);
  __m256 p = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(bits_to_float(K_P0)), r), _mm256_set1_ps(bits_to_float(K_P1)));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(bits_to_float(K_P2)));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(bits_to_float(K_P3)));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(bits_to_float(K_P4)));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(bits_to_float(K_P5)));
  const __m256 y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, z), r), _mm256_set1_ps(1.0f));
  /* n is garbage where x < EXP_MIN or NaN; those lanes are replaced below */
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 res = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  const __m256 inRange = _mm256_cmp_ps(x, _mm256_set1_ps(EXP_MIN), _CMP_GE_OQ);
  const __m256 isNan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  return _mm256_or_ps(_mm256_and_ps(res, inRange), _mm256_and_ps(x, isNan));
}

#define ATT_PF_KEYS 16   /* positions */
#define ATT_PF_VALUES 48 /* positions */
#define ATT_MAX_HEADS 4  /* heads of one kv group handled together */

/* softmax of s[0..span) in place, given its maximum: exp 8 positions at a time, the sum in lanes p mod 8 */
static ATGT void softmax_avx2(float* s, int32_t span, float max) {
  const int32_t span8 = span & ~7;
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 sum8 = _mm256_setzero_ps();
  for (int32_t p = 0; p < span8; p += 8) {
    const __m256 e = exp32x8(_mm256_sub_ps(_mm256_loadu_ps(s + p), vmax));
    _mm256_storeu_ps(s + p, e);
    sum8 = _mm256_add_ps(sum8, e);
  }
  float lane[8];
  _mm256_storeu_ps(lane, sum8);
  for (int32_t p = span8; p < span; p++) {
    const float e = exp32(s[p] - max);
    s[p] = e;
    lane[p & 7] = lane[p & 7] + e;
  }
  const float sum = reduce8(lane);
  const __m256 vsum = _mm256_set1_ps(sum);
  for (int32_t p = 0; p < span8; p += 8) _mm256_storeu_ps(s + p, _mm256_div_ps(_mm256_loadu_ps(s + p), vsum));
  for (int32_t p = span8; p < span; p++) s[p] = s[p] / sum;
}

/* vcvtps2ph rounds to nearest even as tl1_float_to_half does, but keeps NaN payloads: groups holding
 * a NaN go through the scalar conversion. */
void ATGT tl1_kv_store_avx2(void* cache, int half, size_t at, const float* src, size_t n) {
  if (!half) {
    tl1_kv_store_scalar(cache, half, at, src, n);
    return;
  }
  uint16_t* d = (uint16_t*)cache + at;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(src + i);
    if (_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q)) == 0)
      _mm_storeu_si128((__m128i*)(d + i), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    else
      for (size_t j = i; j < i + 8; j++) d[j] = tl1_float_to_half(src[j]);
  }
  for (; i < n; i++) d[i] = tl1_float_to_half(src[i]);
}

/* o[h][i0 .. i0 + 8·NV) = Σ_p s[h][p] · v_p, for NH heads at once: each value vector is loaded once
 * for all of them, and every element is still accumulated in position order (mul, then add). */
static inline __attribute__((always_inline)) ATGT void weigh_values(const void* values, size_t kvAt, size_t kvStride,
                                                                    int32_t span, float* const* sh, float* const* o,
                                                                    int32_t i0, const int NH, const int NV,
                                                                    const int H) {
  __m256 acc[ATT_MAX_HEADS][4];
#pragma GCC unroll 4
  for (int h = 0; h < NH; h++)
#pragma GCC unroll 4
    for (int c = 0; c < NV; c++) acc[h][c] = _mm256_setzero_ps();
  for (int32_t p = 0; p < span; p++) {
    const size_t v = (size_t)p * kvStride + kvAt + (size_t)i0;
    if (p + ATT_PF_VALUES < span)
#pragma GCC unroll 4
      for (int c = 0; c < NV; c += 2) _mm_prefetch(KV_BYTES(values, v + ATT_PF_VALUES * kvStride + 8 * c, H), _MM_HINT_T0);
    __m256 vv[4];
#pragma GCC unroll 4
    for (int c = 0; c < NV; c++) vv[c] = KV_LD8(values, v + 8 * (size_t)c, H);
#pragma GCC unroll 4
    for (int h = 0; h < NH; h++) {
      const __m256 w = _mm256_set1_ps(sh[h][p]);
#pragma GCC unroll 4
      for (int c = 0; c < NV; c++) acc[h][c] = _mm256_add_ps(acc[h][c], _mm256_mul_ps(w, vv[c]));
    }
  }
#pragma GCC unroll 4
  for (int h = 0; h < NH; h++)
#pragma GCC unroll 4
    for (int c = 0; c < NV; c++) _mm256_storeu_ps(o[h] + i0 + 8 * c, acc[h][c]);
}

/* The scores of 8 positions from their 8-lane accumulators: each lane sum in reduce8's order
 * ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)), eight at a time, in position order. */
static inline __attribute__((always_inline)) ATGT __m256 reduce8x8(const __m256* A) {
  __m256 P[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; j++)
    P[j] = _mm256_add_ps(_mm256_permute2f128_ps(A[2 * j], A[2 * j + 1], 0x20),
                         _mm256_permute2f128_ps(A[2 * j], A[2 * j + 1], 0x31));
  /* P[j] = [x0..x3 of A2j | x0..x3 of A2j+1], xk = lk + l(k+4) */
  const __m256 Q0 = _mm256_add_ps(_mm256_shuffle_ps(P[0], P[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                  _mm256_shuffle_ps(P[0], P[1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 Q1 = _mm256_add_ps(_mm256_shuffle_ps(P[2], P[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                  _mm256_shuffle_ps(P[2], P[3], _MM_SHUFFLE(3, 2, 3, 2)));
  /* Q0 = [A0: x0+x2, x1+x3; A2: …; | A1: …; A3: …], Q1 the same for A4..A7 */
  const __m256 r = _mm256_add_ps(_mm256_shuffle_ps(Q0, Q1, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm256_shuffle_ps(Q0, Q1, _MM_SHUFFLE(3, 1, 3, 1)));
  /* r = [A0, A2, A4, A6, A1, A3, A5, A7] */
  return _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Heads h0 … h0+NH-1 of token t, which read the same kv head: each block of keys is scored against all
 * of them while it sits in L1, and each value row is loaded once for all of them. Every head's float
 * operations, and their order, are those of src/attention.ts for that head alone. s holds NH rows of ss. */
static inline __attribute__((always_inline)) ATGT void attend_heads(const tl1_attention* a, int32_t t, int32_t h0,
                                                                    float* s, size_t ss, const int NH, const int H) {
  const int32_t hd = a->headDim, group = a->heads / a->kvHeads;
  const int32_t hd8 = hd & ~7;
  const size_t kvStride = (size_t)a->kvHeads * (size_t)hd;
  const int32_t span = a->start + t + 1;
  const size_t kvAt = (size_t)(h0 / group) * hd;
  const float* qh[ATT_MAX_HEADS];
  float* sh[ATT_MAX_HEADS];
  float* oh[ATT_MAX_HEADS];
  float max[ATT_MAX_HEADS];
  for (int h = 0; h < NH; h++) {
    qh[h] = a->q + ((size_t)t * a->heads + h0 + h) * hd;
    oh[h] = a->out + ((size_t)t * a->heads + h0 + h) * hd;
    sh[h] = s + (size_t)h * ss;
    max[h] = -INFINITY;
  }

  /* scores: one 8-lane accumulator per position, mul then add (never fused); four positions at a
   * time, so four independent add chains hide the add latency (each position's order is unchanged) */
  int32_t p4 = 0;
  if (hd8 == hd) {
    /* eight positions at a time, reduced together */
    const __m256 vscale = _mm256_set1_ps(a->scale);
    for (; p4 + 8 <= span; p4 += 8) {
      const size_t k0 = (size_t)p4 * kvStride + kvAt;
      if (p4 + ATT_PF_KEYS + 8 <= span)
        for (int j = 0; j < 8; j++)
          for (int32_t i = 0; i < hd; i += 16)
            _mm_prefetch(KV_BYTES(a->keys, k0 + ((size_t)j + ATT_PF_KEYS) * kvStride + (size_t)i, H), _MM_HINT_T0);
      for (int h = 0; h < NH; h++) {
        const float* q = qh[h];
        __m256 acc[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
        for (int32_t i = 0; i < hd; i += 8) {
          const __m256 qv = _mm256_loadu_ps(q + i);
#pragma GCC unroll 8
          for (int j = 0; j < 8; j++)
            acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(qv, KV_LD8(a->keys, k0 + (size_t)j * kvStride + (size_t)i, H)));
        }
        float* out = sh[h] + p4;
        _mm256_storeu_ps(out, _mm256_mul_ps(reduce8x8(acc), vscale));
        float m = max[h];
        for (int j = 0; j < 8; j++)
          if (out[j] > m) m = out[j];
        max[h] = m;
      }
    }
  }
  for (; p4 + 4 <= span; p4 += 4) {
    const size_t k0 = (size_t)p4 * kvStride + kvAt;
    const size_t kp[4] = {k0, k0 + kvStride, k0 + 2 * kvStride, k0 + 3 * kvStride};
    /* A decode step finds this layer's cache cold (the weights streamed through since) and its
     * rows are kvStride apart: request them ATT_PF_KEYS positions ahead. */
    if (p4 + ATT_PF_KEYS + 4 <= span)
      for (int j = 0; j < 4; j++)
        for (int32_t i = 0; i < hd; i += 16)
          _mm_prefetch(KV_BYTES(a->keys, kp[j] + ATT_PF_KEYS * kvStride + (size_t)i, H), _MM_HINT_T0);
    for (int h = 0; h < NH; h++) {
      const float* q = qh[h];
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int32_t i = 0; i < hd8; i += 8) {
        const __m256 qv = _mm256_loadu_ps(q + i);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(qv, KV_LD8(a->keys, kp[j] + (size_t)i, H)));
      }
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) {
        float lane[8];
        _mm256_storeu_ps(lane, acc[j]);
        for (int32_t i = hd8; i < hd; i++) {
          const float m = q[i] * kv_at(a->keys, kp[j] + (size_t)i, H);
          lane[i & 7] = lane[i & 7] + m;
        }
        const float v = reduce8(lane) * a->scale;
        sh[h][p4 + j] = v;
        if (v > max[h]) max[h] = v;
      }
    }
  }
  for (int32_t p = p4; p < span; p++) {
    const size_t k = (size_t)p * kvStride + kvAt;
    for (int h = 0; h < NH; h++) {
      const float* q = qh[h];
      __m256 acc = _mm256_setzero_ps();
      for (int32_t i = 0; i < hd8; i += 8)
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(q + i), KV_LD8(a->keys, k + (size_t)i, H)));
      float lane[8];
      _mm256_storeu_ps(lane, acc);
      for (int32_t i = hd8; i < hd; i++) {
        const float m = q[i] * kv_at(a->keys, k + (size_t)i, H);
        lane[i & 7] = lane[i & 7] + m;
      }
      const float v = reduce8(lane) * a->scale;
      sh[h][p] = v;
      if (v > max[h]) max[h] = v;
    }
  }

  for (int h = 0; h < NH; h++) softmax_avx2(sh[h], span, max[h]);

  /* out = Σ_p w_p · v_p, each element accumulated in position order; as many columns per pass as
   * the 16 registers hold for NH heads */
  int32_t i = 0;
  if (NH <= 2)
    for (; i + 32 <= hd; i += 32) weigh_values(a->values, kvAt, kvStride, span, sh, oh, i, NH, 4, H);
  for (; i + 16 <= hd; i += 16) weigh_values(a->values, kvAt, kvStride, span, sh, oh, i, NH, 2, H);
  for (; i + 8 <= hd; i += 8) weigh_values(a->values, kvAt, kvStride, span, sh, oh, i, NH, 1, H);
  for (; i < hd; i++)
    for (int h = 0; h < NH; h++) {
      float acc = 0.0f;
      for (int32_t p = 0; p < span; p++) {
        const float m = sh[h][p] * kv_at(a->values, (size_t)p * kvStride + kvAt + (size_t)i, H);
        acc = acc + m;
      }
      oh[h][i] = acc;
    }
}

/* Pairs [pair0, pair1) in runs of up to ATT_MAX_HEADS heads of one token and one kv group;
 * s holds ATT_MAX_HEADS rows of ss floats (ss >= start + nTokens). */
void ATGT tl1_attention_avx2(const tl1_attention* a, int64_t pair0, int64_t pair1, float* s, size_t ss) {
  const int32_t group = a->heads / a->kvHeads;
  for (int64_t pair = pair0; pair < pair1;) {
    const int32_t t = (int32_t)(pair / a->heads), h = (int32_t)(pair % a->heads);
    int64_t n = group - h % group; /* heads left in this kv group */
    if (n > pair1 - pair) n = pair1 - pair;
    if (n > ATT_MAX_HEADS) n = ATT_MAX_HEADS;
    switch (n * 2 + (a->half ? 1 : 0)) {
      case 8: attend_heads(a, t, h, s, ss, 4, 0); break;
      case 9: attend_heads(a, t, h, s, ss, 4, 1); break;
      case 6: attend_heads(a, t, h, s, ss, 3, 0); break;
      case 7: attend_heads(a, t, h, s, ss, 3, 1); break;
      case 4: attend_heads(a, t, h, s, ss, 2, 0); break;
      case 5: attend_heads(a, t, h, s, ss, 2, 1); break;
      case 3: attend_heads(a, t, h, s, ss, 1, 1); break;
      default: attend_heads(a, t, h, s, ss, 1, 0); break;
    }
    pair += n;
  }
}
#endif
