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
static double sum_squares_scalar(const float* x, int32_t n) {
  double sum = 0.0;
  for (int32_t i = 0; i < n; i++) {
    const double v = x[i];
    sum += v * v;
  }
  return sum;
}

static void scale_row_scalar(const float* x, double scale, const float* w, int32_t n, float* out) {
  for (int32_t i = 0; i < n; i++) out[i] = (float)((double)x[i] * scale * (double)w[i]);
}

/* relu²(g)·up (KERNEL.md §10, src/glue.ts) of elements [i, n): (g + |g|) / 2 squared (−∞ gives 0),
 * times up, in double with one rounding; with sum set, adds the results' squares to s in index order. */
static double relu2_scalar(const float* x, const float* up, int32_t i, int32_t n, float* out, int sum, double s) {
  for (; i < n; i++) {
    const double g = x[i];
    double r = (g + fabs(g)) * 0.5;
    if (g == -INFINITY) r = 0.0;
    out[i] = (float)(r * r * (double)up[i]);
    if (sum) {
      const double v = out[i];
      s += v * v;
    }
  }
  return s;
}

#if TL1_X86
#define GTGT __attribute__((target("avx2")))

/* The sum's additions stay one chain in index order; the vector work beside it (loads, widening,
 * squares: all exact) runs in its shadow. */
static inline __attribute__((always_inline)) GTGT double add4_in_order(double sum, __m256d sq) {
  const __m128d lo = _mm256_castpd256_pd128(sq), hi = _mm256_extractf128_pd(sq, 1);
  sum += _mm_cvtsd_f64(lo);
  sum += _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo));
  sum += _mm_cvtsd_f64(hi);
  sum += _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi));
  return sum;
}

static GTGT double sum_squares_avx2(const float* x, int32_t n) {
  double sum = 0.0;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
    sum = add4_in_order(sum, _mm256_mul_pd(v, v));
  }
  for (; i < n; i++) {
    const double v = x[i];
    sum += v * v;
  }
  return sum;
}

static GTGT void scale_row_avx2(const float* x, double scale, const float* w, int32_t n, float* out) {
  const __m256d s = _mm256_set1_pd(scale);
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d v = _mm256_mul_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), s),
                                    _mm256_cvtps_pd(_mm_loadu_ps(w + i)));
    _mm_storeu_ps(out + i, _mm256_cvtpd_ps(v));
  }
  for (; i < n; i++) out[i] = (float)((double)x[i] * scale * (double)w[i]);
}

static GTGT double relu2_avx2(const float* x, const float* up, int32_t n, float* out, int sum) {
  const __m256d half = _mm256_set1_pd(0.5), negInf = _mm256_set1_pd(-INFINITY);
  const __m256d absMask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
  double s = 0.0;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d g = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
    __m256d r = _mm256_mul_pd(_mm256_add_pd(g, _mm256_and_pd(g, absMask)), half);
    r = _mm256_andnot_pd(_mm256_cmp_pd(g, negInf, _CMP_EQ_OQ), r);
    const __m128 o = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_mul_pd(r, r), _mm256_cvtps_pd(_mm_loadu_ps(up + i))));
    _mm_storeu_ps(out + i, o);
    if (sum) {
      const __m256d v = _mm256_cvtps_pd(o);
      s = add4_in_order(s, _mm256_mul_pd(v, v));
    }
  }
  return relu2_scalar(x, up, i, n, out, sum, s);
}
#endif

/* The vector versions give the same bits: every double operation is the scalar one, lane by lane. */
static double sum_squares(int isa, const float* x, int32_t n) {
#if TL1_X86
  if (isa >= TL1_ISA_AVX2) return sum_squares_avx2(x, n);
#else
  (void)isa;
#endif
  return sum_squares_scalar(x, n);
}

static void scale_row(int isa, const float* x, double sum, double eps, const float* w, int32_t n, float* out) {
  const double scale = 1.0 / sqrt(sum / (double)n + eps);
#if TL1_X86
  if (isa >= TL1_ISA_AVX2) {
    scale_row_avx2(x, scale, w, n, out);
    return;
  }
#else
  (void)isa;
#endif
  scale_row_scalar(x, scale, w, n, out);
}

void tl1_rms_norm(int isa, const float* x, float* out, const float* w, int32_t n, double eps, int32_t t0, int32_t t1) {
  for (int32_t t = t0; t < t1; t++) {
    const float* xt = x + (size_t)t * n;
    scale_row(isa, xt, sum_squares(isa, xt, n), eps, w, n, out + (size_t)t * n);
  }
}

/* KERNEL.md §10, the bits of src/glue.ts: relu²(x)·up, then the RMSNorm above. The norm's sum of
 * squares is taken while relu² writes its results. */
void tl1_glue_row(int isa, const float* x, const float* up, const float* w, double eps, int32_t n, float* out) {
  const float* src = x;
  double sum = 0.0;
  if (up) {
#if TL1_X86
    sum = isa >= TL1_ISA_AVX2 ? relu2_avx2(x, up, n, out, w != NULL) : relu2_scalar(x, up, 0, n, out, w != NULL, 0.0);
#else
    sum = relu2_scalar(x, up, 0, n, out, w != NULL, 0.0);
#endif
    src = out;
  } else if (w) {
    sum = sum_squares(isa, x, n);
  }
  if (w)
    scale_row(isa, src, sum, eps, w, n, out);
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
