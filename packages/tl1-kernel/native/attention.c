/* Causal multi-head attention over an f32 KV cache (KERNEL.md §6). The same
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
      const float* k = a->keys + (size_t)p * kvStride + kvAt;
      float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int32_t i = 0; i < hd; i++) {
        const float m = q[i] * k[i];
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
      const float* v = a->values + (size_t)p * kvStride + kvAt;
      for (int32_t i = 0; i < hd; i++) {
        const float m = w * v[i];
        o[i] = o[i] + m;
      }
    }
  }
}

#if TL1_X86
#include <immintrin.h>

#define ATGT __attribute__((target("avx2")))

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

void ATGT tl1_attention_avx2(const tl1_attention* a, int64_t pair0, int64_t pair1, float* s) {
  const int32_t hd = a->headDim, group = a->heads / a->kvHeads;
  const int32_t hd8 = hd & ~7;
  const size_t kvStride = (size_t)a->kvHeads * (size_t)hd;
  for (int64_t pair = pair0; pair < pair1; pair++) {
    const int32_t t = (int32_t)(pair / a->heads), h = (int32_t)(pair % a->heads);
    const int32_t span = a->start + t + 1;
    const float* q = a->q + ((size_t)t * a->heads + h) * hd;
    const size_t kvAt = (size_t)(h / group) * hd;

    /* scores: one 8-lane accumulator per position, mul then add (never fused); four positions at a
     * time, so four independent add chains hide the add latency (each position's order is unchanged) */
    float max = -INFINITY;
    int32_t p4 = 0;
    for (; p4 + 4 <= span; p4 += 4) {
      const float* k0 = a->keys + (size_t)p4 * kvStride + kvAt;
      const float* kp[4] = {k0, k0 + kvStride, k0 + 2 * kvStride, k0 + 3 * kvStride};
      /* A decode step finds this layer's cache cold (the weights streamed through since) and its
       * rows are kvStride apart: request them ATT_PF_KEYS positions ahead. */
      if (p4 + ATT_PF_KEYS + 4 <= span)
        for (int j = 0; j < 4; j++)
          for (int32_t i = 0; i < hd; i += 16) _mm_prefetch((const char*)(kp[j] + ATT_PF_KEYS * kvStride + i), _MM_HINT_T0);
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int32_t i = 0; i < hd8; i += 8) {
        const __m256 qv = _mm256_loadu_ps(q + i);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(qv, _mm256_loadu_ps(kp[j] + i)));
      }
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) {
        float lane[8];
        _mm256_storeu_ps(lane, acc[j]);
        for (int32_t i = hd8; i < hd; i++) {
          const float m = q[i] * kp[j][i];
          lane[i & 7] = lane[i & 7] + m;
        }
        const float v = reduce8(lane) * a->scale;
        s[p4 + j] = v;
        if (v > max) max = v;
      }
    }
    for (int32_t p = p4; p < span; p++) {
      const float* k = a->keys + (size_t)p * kvStride + kvAt;
      __m256 acc = _mm256_setzero_ps();
      for (int32_t i = 0; i < hd8; i += 8)
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i)));
      float lane[8];
      _mm256_storeu_ps(lane, acc);
      for (int32_t i = hd8; i < hd; i++) {
        const float m = q[i] * k[i];
        lane[i & 7] = lane[i & 7] + m;
      }
      const float v = reduce8(lane) * a->scale;
      s[p] = v;
      if (v > max) max = v;
    }

    /* softmax: exp 8 positions at a time, the sum in lanes p mod 8 */
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

    /* out = Σ_p w_p · v_p, each element accumulated in position order; 32 columns per pass */
    float* o = a->out + ((size_t)t * a->heads + h) * hd;
    const float* v0 = a->values + kvAt;
    int32_t i = 0;
    for (; i + 32 <= hd; i += 32) {
      __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
      for (int32_t p = 0; p < span; p++) {
        const __m256 w = _mm256_set1_ps(s[p]);
        const float* v = v0 + (size_t)p * kvStride + i;
        if (p + ATT_PF_VALUES < span) {
          _mm_prefetch((const char*)(v + ATT_PF_VALUES * kvStride), _MM_HINT_T0);
          _mm_prefetch((const char*)(v + ATT_PF_VALUES * kvStride + 16), _MM_HINT_T0);
        }
        o0 = _mm256_add_ps(o0, _mm256_mul_ps(w, _mm256_loadu_ps(v)));
        o1 = _mm256_add_ps(o1, _mm256_mul_ps(w, _mm256_loadu_ps(v + 8)));
        o2 = _mm256_add_ps(o2, _mm256_mul_ps(w, _mm256_loadu_ps(v + 16)));
        o3 = _mm256_add_ps(o3, _mm256_mul_ps(w, _mm256_loadu_ps(v + 24)));
      }
      _mm256_storeu_ps(o + i, o0);
      _mm256_storeu_ps(o + i + 8, o1);
      _mm256_storeu_ps(o + i + 16, o2);
      _mm256_storeu_ps(o + i + 24, o3);
    }
    for (; i + 8 <= hd; i += 8) {
      __m256 o0 = _mm256_setzero_ps();
      for (int32_t p = 0; p < span; p++)
        o0 = _mm256_add_ps(o0, _mm256_mul_ps(_mm256_set1_ps(s[p]), _mm256_loadu_ps(v0 + (size_t)p * kvStride + i)));
      _mm256_storeu_ps(o + i, o0);
    }
    for (; i < hd; i++) {
      float acc = 0.0f;
      for (int32_t p = 0; p < span; p++) {
        const float m = s[p] * v0[(size_t)p * kvStride + i];
        acc = acc + m;
      }
      o[i] = acc;
    }
  }
}
#endif
