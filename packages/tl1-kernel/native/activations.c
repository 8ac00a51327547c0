/* Activation quantization (KERNEL.md §1), the same bits as src/activations.ts.
 *
 * JS computes fround(127 / maxAbs) and fround(x · scale) in double and rounds
 * once; a float32 division or product is that same correctly rounded value.
 * Rounding half away from zero is trunc(v) plus ±1 when |v − trunc(v)| ≥ 0.5
 * (the difference is exact in float32), which is what JS's (v ± 0.5) | 0 gives. */
#include <math.h>
#include <string.h>

#include "tl1.h"

#define TINY 0x1.b7cdfep-34f /* Math.fround(1e-10) */

static void finish(int32_t n, int32_t qStride, int8_t* q, int32_t* prefix) {
  memset(q + n, 0, (size_t)(qStride - n));
  int32_t run = 0;
  prefix[0] = 0;
  for (int32_t j = 0; j < n; j++) {
    run += q[j];
    prefix[j + 1] = run;
  }
  for (int32_t j = n + 1; j <= qStride; j++) prefix[j] = run;
}

static int8_t round_clamp(float v) {
  if (v != v) return 0;
  const float t = truncf(v), f = v - t;
  float r = t;
  if (f >= 0.5f) r += 1.0f;
  else if (f <= -0.5f) r -= 1.0f;
  if (r > 127.0f) r = 127.0f;
  if (r < -127.0f) r = -127.0f;
  return (int8_t)r;
}

static float quantize_scalar(const float* x, int32_t n, int8_t* q) {
  float maxAbs = 0.0f;
  for (int32_t j = 0; j < n; j++) {
    const float a = fabsf(x[j]);
    if (a > maxAbs) maxAbs = a; /* NaN never compares greater */
  }
  if (!(maxAbs >= TINY)) {
    memset(q, 0, (size_t)n);
    return 1.0f;
  }
  const float scale = 127.0f / maxAbs;
  for (int32_t j = 0; j < n; j++) q[j] = round_clamp(x[j] * scale);
  return scale;
}

#if TL1_X86
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static float quantize_avx2(const float* x, int32_t n, int8_t* q) {
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 mv = _mm256_setzero_ps();
  int32_t j = 0;
  /* max_ps returns its second operand when either is NaN: NaN inputs are skipped */
  for (; j + 8 <= n; j += 8) mv = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), absMask), mv);
  float lanes[8];
  _mm256_storeu_ps(lanes, mv);
  float maxAbs = 0.0f;
  for (int i = 0; i < 8; i++)
    if (lanes[i] > maxAbs) maxAbs = lanes[i];
  for (; j < n; j++) {
    const float a = fabsf(x[j]);
    if (a > maxAbs) maxAbs = a;
  }
  if (!(maxAbs >= TINY)) {
    memset(q, 0, (size_t)n);
    return 1.0f;
  }
  const float scale = 127.0f / maxAbs;
  const __m256 sv = _mm256_set1_ps(scale), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256 hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f), signBit = _mm256_set1_ps(-0.0f);
  j = 0;
  for (; j + 32 <= n; j += 32) {
    __m256i iv[4];
    for (int b = 0; b < 4; b++) {
      const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * b), sv);
      const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m256 f = _mm256_sub_ps(v, t);
      /* ±1 with v's sign where |f| >= 0.5 */
      const __m256 up = _mm256_and_ps(_mm256_cmp_ps(_mm256_andnot_ps(signBit, f), half, _CMP_GE_OQ),
                                      _mm256_or_ps(one, _mm256_and_ps(v, signBit)));
      __m256 r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(t, up), lo), hi);
      r = _mm256_and_ps(r, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
      iv[b] = _mm256_cvtps_epi32(r);
    }
    /* int32 -> int8 in order: packs work per 128-bit lane, a permute restores it */
    const __m256i p01 = _mm256_packs_epi32(iv[0], iv[1]), p23 = _mm256_packs_epi32(iv[2], iv[3]);
    const __m256i b8 = _mm256_packs_epi16(p01, p23);
    _mm256_storeu_si256((__m256i*)(q + j),
                        _mm256_permutevar8x32_epi32(b8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  }
  for (; j < n; j++) q[j] = round_clamp(x[j] * scale);
  return scale;
}
#endif

void tl1_quantize_tokens(int isa, const float* X, int32_t cols, int32_t qStride, int32_t t0, int32_t t1, int8_t* q,
                         int32_t* prefix, float* actScales) {
  for (int32_t t = t0; t < t1; t++) {
    const float* x = X + (size_t)t * cols;
    int8_t* qt = q + (size_t)t * qStride;
#if TL1_X86
    actScales[t] = isa >= TL1_ISA_AVX2 ? quantize_avx2(x, cols, qt) : quantize_scalar(x, cols, qt);
#else
    (void)isa;
    actScales[t] = quantize_scalar(x, cols, qt);
#endif
    finish(cols, qStride, qt, prefix + (size_t)t * (qStride + 1));
  }
}

/* RMSNorm of rows [t0, t1) (KERNEL.md §8), the bits of src/norm.ts: the sum of squares in
 * double in index order (never reassociated: no -ffast-math), then two double products per
 * element, rounded once to float. out may be x. */
void tl1_rms_norm(const float* x, float* out, const float* w, int32_t n, double eps, int32_t t0, int32_t t1) {
  for (int32_t t = t0; t < t1; t++) {
    const float* xt = x + (size_t)t * n;
    float* ot = out + (size_t)t * n;
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) {
      const double v = xt[i];
      sum += v * v;
    }
    const double scale = 1.0 / sqrt(sum / (double)n + eps);
    for (int32_t i = 0; i < n; i++) ot[i] = (float)((double)xt[i] * scale * (double)w[i]);
  }
}

/* KERNEL.md §10, the bits of src/glue.ts: relu²(g) as (g + |g|) / 2 squared (−∞ gives 0),
 * times up, in double with one rounding; then the RMSNorm above. */
void tl1_glue_row(const float* x, const float* up, const float* w, double eps, int32_t n, float* out) {
  const float* src = x;
  if (up) {
    for (int32_t i = 0; i < n; i++) {
      const double g = x[i];
      double r = (g + fabs(g)) * 0.5;
      if (g == -INFINITY) r = 0.0;
      out[i] = (float)(r * r * (double)up[i]);
    }
    src = out;
  }
  if (w)
    tl1_rms_norm(src, out, w, n, eps, 0, 1);
  else if (src != out)
    memcpy(out, src, sizeof(float) * (size_t)n);
}

/* Argmax (KERNEL.md §9), the answer of src/argmax.ts: the first index holding the largest
 * non-NaN value (±0 equal), or 0 when no value exceeds −∞. That is the first index equal
 * to the maximum, so a max pass then an equality pass give it in any lane order. */
static int32_t argmax_scalar(const float* x, int32_t n) {
  int32_t best = 0;
  float v = -INFINITY;
  for (int32_t i = 0; i < n; i++)
    if (x[i] > v) {
      v = x[i];
      best = i;
    }
  return best;
}

#if TL1_X86
__attribute__((target("avx2"))) static int32_t argmax_avx2(const float* x, int32_t n) {
  __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
  int32_t j = 0;
  /* max_ps returns its second operand when either is NaN: NaN inputs are skipped */
  for (; j + 16 <= n; j += 16) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + j), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + j + 8), m1);
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
  float mx = -INFINITY;
  for (int i = 0; i < 8; i++)
    if (lanes[i] > mx) mx = lanes[i];
  for (int32_t i = j; i < n; i++)
    if (x[i] > mx) mx = x[i];
  if (!(mx > -INFINITY)) return 0;
  const __m256 mv = _mm256_set1_ps(mx);
  for (j = 0; j + 8 <= n; j += 8) {
    const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j), mv, _CMP_EQ_OQ));
    if (hit) return j + __builtin_ctz((unsigned)hit);
  }
  for (; j < n; j++)
    if (x[j] == mx) return j;
  return 0; /* unreachable: mx is one of the values */
}
#endif

int32_t tl1_argmax(int isa, const float* x, int32_t n) {
#if TL1_X86
  if (isa >= TL1_ISA_AVX2) return argmax_avx2(x, n);
#else
  (void)isa;
#endif
  return argmax_scalar(x, n);
}
